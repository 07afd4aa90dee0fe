"""Fan-in: when the last planned part is done, stitch chunked renditions, publish the DASH
manifest and then the HLS master (last, so nothing published names a missing file), then
mark the asset READY."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.storage import download_prefix, put_file, put_text, read_object
from lumiere.config import Settings
from lumiere.errors import StaleTransitionError, ToolError, TransientError
from lumiere.media.commands import INIT_SEGMENT, build_download_args
from lumiere.media.dash import build_mpd
from lumiere.media.hls import build_master_playlist
from lumiere.media.ladder import load_preset
from lumiere.media.packaging import PackagedTrack
from lumiere.media.subtitles import SubtitleTrack
from lumiere.media.tools import find_binaries, run_tool
from lumiere.pipeline import keys
from lumiere.pipeline.deletion import delete_outputs
from lumiere.pipeline.encryption import encryption_record, is_encrypted
from lumiere.pipeline.outcomes import record_ready
from lumiere.pipeline.plan import AUDIO, VIDEO
from lumiere.pipeline.status import AssetStatus
from lumiere.pipeline.stitching import stitch_renditions


def finish_if_complete(
    asset: dict[str, Any], catalogue: Catalogue, settings: Settings
) -> AssetStatus | None:
    """Fan-in: when every planned part is done, publish the manifests, then READY."""
    planned = set((asset.get("plan") or {}).get("parts") or {})
    if not planned or not planned <= set(asset.get("parts_done") or []):
        return None
    asset_id = asset["asset_id"]
    outputs = publish_manifests(asset, settings)
    try:
        record_ready(catalogue, settings, asset_id, outputs)
    except StaleTransitionError:
        current = catalogue.get(asset_id)
        if current is None or current.get("status") == AssetStatus.DELETED:
            delete_outputs(asset_id, settings)  # deleted while we published
        return None
    return AssetStatus.READY


def _tracks(
    asset: dict[str, Any], kind: str, settings: Settings
) -> list[tuple[PackagedTrack, dict[str, Any]]]:
    """Each rendition's full record: the summary in the catalogue, the timeline from the
    record published beside the rendition."""
    found = []
    for out in (asset.get("part_outputs") or {}).values():
        for raw in out.get("tracks", []):
            if raw.get("kind") != kind:
                continue
            track = PackagedTrack.from_dict(raw)
            if raw.get("record") and not track.timeline:
                prefix = keys.rendition_prefix(asset["asset_id"], track.dirname)
                body = read_object(settings.media_bucket, prefix + raw["record"])
                track = PackagedTrack.from_dict(json.loads(body))
            found.append((track, raw))
    return found


# A part output holding what a MediaConvert job made (pipeline/mediaconvert.py): its own
# manifests, which the fan-in keeps rather than writing ours.
MEDIACONVERT_OUTPUTS = "mediaconvert_outputs"


def publish_manifests(asset: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Write the DASH manifest, then the HLS master (the entry point most players use)
    last; returns the asset's ``outputs`` record."""
    asset_id = asset["asset_id"]
    part_outputs = list((asset.get("part_outputs") or {}).values())
    made_by_mediaconvert = [
        o[MEDIACONVERT_OUTPUTS] for o in part_outputs if MEDIACONVERT_OUTPUTS in o
    ]
    if made_by_mediaconvert:
        # Its master is already published; our analysis rides along in the record (the
        # captions as downloadable WebVTT: MediaConvert's master does not name them).
        outputs = dict(made_by_mediaconvert[0])
        for out in part_outputs:
            if "analysis" in out:
                outputs["analysis"] = out["analysis"]
            for track in out.get("subtitles") or []:
                outputs.setdefault("captions", []).append(
                    _caption_record(asset_id, SubtitleTrack.from_dict(track))
                )
        return outputs
    # Chunked renditions are stitched first: the manifests below name their playlists.
    video = _tracks(asset, VIDEO, settings) + stitch_renditions(asset, settings)
    audio = _tracks(asset, AUDIO, settings)
    outputs: dict[str, Any] = {}
    subtitles: list[SubtitleTrack] = []
    for out in (asset.get("part_outputs") or {}).values():
        if "poster" in out:
            outputs["poster"] = out["poster"]
        if "images" in out:
            outputs["images"] = out["images"]
        for name, value in (out.get("previews") or {}).items():
            if value:
                outputs.setdefault("previews", {})[name] = value
        if "analysis" in out:
            outputs["analysis"] = out["analysis"]
        subtitles += [SubtitleTrack.from_dict(t) for t in out.get("subtitles") or []]
    if subtitles:
        outputs["captions"] = [_caption_record(asset_id, t) for t in subtitles]
    if not video and not audio:
        return outputs
    v_tracks, a_tracks = [t for t, _ in video], [t for t, _ in audio]
    preset = load_preset((asset.get("plan") or {}).get("preset") or "default")
    encrypted = is_encrypted(asset)
    if encrypted:
        outputs["encryption"] = encryption_record()
    if preset.download and v_tracks and not encrypted:
        outputs["download"] = _publish_download(asset_id, v_tracks, a_tracks, settings)
    if not encrypted:
        mpd_key = keys.dash_manifest_key(asset_id)
        put_text(
            settings.media_bucket,
            mpd_key,
            build_mpd(v_tracks, a_tracks, settings.segment_seconds, subtitles),
        )
        outputs["dash"] = {"manifest": mpd_key}
    master_key = keys.master_playlist_key(asset_id)
    master = build_master_playlist(v_tracks, a_tracks, subtitles, iframes=not encrypted)
    put_text(settings.media_bucket, master_key, master)
    outputs["hls"] = {
        "master": master_key,
        "renditions": [
            {
                "name": raw.get("name"),
                "uri": t.playlist_uri,
                "width": t.width,
                "height": t.height,
                "frame_rate": t.frame_rate,
                "bandwidth": t.peak_bps,
                "average_bandwidth": t.average_bps,
                "codecs": t.codec,
                "segments": t.segment_count,
            }
            for t, raw in sorted(video, key=lambda x: -x[0].peak_bps)
        ],
        "audio": [
            {
                "uri": t.playlist_uri,
                "language": t.language,
                "name": t.name,
                "default": t.default,
                "codecs": t.codec,
                "bandwidth": t.peak_bps,
                "source_channels": raw.get("source_channels"),
                "loudness": raw.get("loudness"),
            }
            for t, raw in sorted(audio, key=lambda x: not x[0].default)
        ],
    }
    return outputs


def _publish_download(
    asset_id: str, video: list[PackagedTrack], audio: list[PackagedTrack], settings: Settings
) -> str:
    """A progressive MP4 of the top rung and the default audio: the published CMAF tracks
    (init + segments concatenate to a fragmented MP4) remuxed with faststart."""
    top = max(video, key=lambda t: t.peak_bps)
    default_audio = next((t for t in audio if t.default), audio[0] if audio else None)
    with tempfile.TemporaryDirectory(
        dir=settings.work_dir if Path(settings.work_dir).is_dir() else None
    ) as tmp:
        root = Path(tmp)
        video_mp4 = _fetch_track(asset_id, top, root, settings)
        audio_mp4 = _fetch_track(asset_id, default_audio, root, settings) if default_audio else None
        out = root / "download.mp4"
        try:
            run_tool(
                build_download_args(str(find_binaries().ffmpeg), video_mp4, audio_mp4, out),
                timeout=None,
            )
        except ToolError as e:
            raise TransientError(f"could not remux the download: {e}") from e
        key = keys.download_key(asset_id)
        put_file(settings.media_bucket, key, out)
    return key


def _fetch_track(asset_id: str, track: PackagedTrack, root: Path, settings: Settings) -> Path:
    folder = root / track.dirname
    download_prefix(settings.media_bucket, keys.rendition_prefix(asset_id, track.dirname), folder)
    whole = root / f"{track.dirname}.mp4"
    with whole.open("wb") as out:
        out.write((folder / INIT_SEGMENT).read_bytes())
        for segment in sorted(folder.glob("seg_*.m4s")):
            out.write(segment.read_bytes())
    return whole


def _caption_record(asset_id: str, track: SubtitleTrack) -> dict[str, Any]:
    hls = keys.hls_prefix(asset_id)
    return {
        "language": track.language,
        "name": track.name,
        "automatic": track.automatic,
        "vtt": hls + track.vtt,
        "playlist": hls + track.playlist,
    }
