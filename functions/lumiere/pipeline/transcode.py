"""Transcode one part of an asset (fan-out), and publish the manifests when the last part
is done (fan-in).

A part is a group of video rungs, the audio renditions, or the poster (pipeline/plan.py).
Each publishes its own files under deterministic keys, so a redelivered part overwrites
its earlier attempt. Its completion is one conditional DynamoDB write that adds it to
``parts_done``; whichever part completes the set writes the DASH manifest and then the
HLS master, last, so no manifest ever names a file that is not there yet.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.source_proxy import SourceProxy
from lumiere.cloud.storage import (
    delete_prefix,
    download_prefix,
    presign_get,
    publish_directory,
    put_bytes,
    put_file,
    put_text,
)
from lumiere.config import Settings
from lumiere.errors import (
    MalformedEventError,
    PermanentError,
    ReasonCode,
    StaleTransitionError,
    ToolError,
    TransientError,
    UnsupportedMediaError,
)
from lumiere.media.audio import Loudness, parse_loudnorm, plan_audio_tracks
from lumiere.media.blackframe import is_mostly_black, poster_seek_candidates
from lumiere.media.commands import (
    INIT_SEGMENT,
    POSTER_MAX,
    WAVEFORM_SAMPLE_RATE,
    AudioInput,
    HlsOptions,
    build_animated_preview_args,
    build_audio_extract_args,
    build_audio_track_args,
    build_download_args,
    build_loudness_scan_args,
    build_poster_args,
    build_video_group_args,
    build_waveform_pcm_args,
    extracted_audio,
    upload_audio,
    video_dirname,
)
from lumiere.media.dash import build_mpd
from lumiere.media.hls import build_master_playlist
from lumiere.media.ladder import LadderPreset, load_preset, plan_ladder
from lumiere.media.packaging import PackagedTrack, package_track
from lumiere.media.progress import ProgressMeter
from lumiere.media.storyboard import DEFAULT_TILE_WIDTH, plan_storyboard, storyboard_vtt, tile_size
from lumiere.media.streams import MediaInfo, MediaKind
from lumiere.media.tools import (
    ToolOutput,
    find_binaries,
    run_tool,
    run_tool_chunks,
    run_tool_streaming,
    timeout_from_remaining,
)
from lumiere.media.waveform import compute_peaks, render_waveform_png
from lumiere.pipeline import keys
from lumiere.pipeline.clock import utc_now
from lumiere.pipeline.deletion import delete_outputs
from lumiere.pipeline.image_part import make_image_outputs
from lumiere.pipeline.models import TranscodeTask
from lumiere.pipeline.outcomes import record_ready
from lumiere.pipeline.plan import AUDIO, IMAGE, POSTER, PREVIEWS, STORYBOARD, VIDEO, Part
from lumiere.pipeline.status import TERMINAL, AssetStatus

log = logging.getLogger(__name__)


@dataclass
class _Job:
    task: TranscodeTask
    part: Part
    info: MediaInfo
    preset: LadderPreset
    source_url: str
    work: Path
    settings: Settings
    catalogue: Catalogue
    remaining_ms: Callable[[], int | None]

    @property
    def hls(self) -> HlsOptions:
        return HlsOptions(segment_seconds=self.settings.segment_seconds)

    def meter(self, start: int = 0, end: int = 100) -> ProgressMeter:
        def report(percent: int) -> None:
            self.catalogue.set_part_progress(self.task.asset_id, self.part.name, utc_now(), percent)

        return ProgressMeter(
            self.info.duration,
            report,
            min_interval=self.settings.progress_interval_seconds,
            start=start,
            end=min(end, 99),  # 100 is written with the part's completion
        )

    def run(self, argv: list[str], meter: ProgressMeter | None = None) -> ToolOutput:
        timeout = timeout_from_remaining(
            self.remaining_ms(), self.settings.tool_timeout_margin_seconds
        )
        try:
            return run_tool_streaming(
                argv, timeout=timeout, on_line=meter.feed if meter is not None else None
            )
        except ToolError as e:
            if e.returncode is None:
                raise TransientError(f"ffmpeg ran out of time: {e}") from e
            raise PermanentError(
                "The file could not be transcoded; it may be damaged or use a feature we do "
                f"not support. ffmpeg said: {e.stderr_tail.strip()[-300:]}",
                reason=ReasonCode.PROCESSING_ERROR,
            ) from e


def transcode_part(
    task: TranscodeTask,
    catalogue: Catalogue,
    settings: Settings,
    remaining_ms: Callable[[], int | None] = lambda: None,
) -> AssetStatus | None:
    """Returns the asset's final status if this part finished it, else None."""
    asset = catalogue.get(task.asset_id)
    if asset is None or AssetStatus(asset["status"]) in TERMINAL:
        return None
    parts = (asset.get("plan") or {}).get("parts") or {}
    if task.part not in parts:
        raise MalformedEventError(f"asset {task.asset_id} has no part {task.part!r}")
    part = Part.from_dict(parts[task.part])
    if task.part in (asset.get("parts_done") or []):
        # A redelivery of a finished part: only the fan-in may still be owed (the worker
        # that completed the set may have died before publishing the manifests).
        return _finish_if_complete(asset, catalogue, settings)
    try:
        catalogue.transition(task.asset_id, AssetStatus.PROCESSING, utc_now())
    except StaleTransitionError:
        return None
    work = Path(settings.work_dir) / task.asset_id / task.part
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    presigned = presign_get(
        task.source.bucket,
        task.source.key,
        ttl_seconds=settings.source_url_ttl_seconds,
        version_id=task.source.version_id,
    )
    published: list[str] = []
    try:
        with SourceProxy(presigned) as source_url:
            job = _Job(
                task=task,
                part=part,
                info=MediaInfo.from_dict(asset["probe"]),
                preset=load_preset((asset.get("plan") or {}).get("preset") or "default"),
                source_url=source_url,
                work=work,
                settings=settings,
                catalogue=catalogue,
                remaining_ms=remaining_ms,
            )
            output = _PRODUCERS[part.kind](job, published)
        try:
            asset = catalogue.complete_part(task.asset_id, task.part, utc_now(), output)
        except StaleTransitionError:
            # Failed or deleted meanwhile: take back what this part published.
            for prefix in published:
                delete_prefix(settings.media_bucket, prefix)
            return None
        return _finish_if_complete(asset, catalogue, settings)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _video_part(job: _Job, published: list[str]) -> dict[str, Any]:
    video = job.info.primary_video
    if video is None:
        raise PermanentError("The file has no video stream.", reason=ReasonCode.NO_STREAMS)
    renditions = [r for r in plan_ladder(job.info, job.preset) if r.name in job.part.rungs]
    for r in renditions:
        (job.work / video_dirname(r.name)).mkdir()
    storyboard = None
    if STORYBOARD in job.part.extras and job.info.duration:
        board_dir = job.work / "storyboard"
        board_dir.mkdir()
        width, height = video.display_size
        tile = tile_size(width, height, DEFAULT_TILE_WIDTH, video.sample_aspect_ratio)
        storyboard = (board_dir, plan_storyboard(job.info.duration, tile=tile))
    ffmpeg_bin = str(find_binaries().ffmpeg)
    job.run(
        build_video_group_args(
            ffmpeg_bin,
            job.source_url,
            video,
            renditions,
            job.work,
            job.hls,
            storyboard=storyboard,
        ),
        job.meter(),
    )
    tracks = []
    for r in renditions:
        track_dir = job.work / video_dirname(r.name)
        track = package_track(track_dir, kind=VIDEO, frame_rate=r.frame_rate)
        tracks.append({**track.to_dict(), "name": r.name})
        _publish(job, track_dir, published)
    output: dict[str, Any] = {"tracks": tracks}
    if storyboard is not None:
        board_dir, board = storyboard
        (board_dir / board.vtt).write_text(storyboard_vtt(board), encoding="utf-8")
        prefix = keys.preview_key(job.task.asset_id, "storyboard/")
        published.append(prefix)
        publish_directory(job.settings.media_bucket, prefix, board_dir)
        output["previews"] = {
            "storyboard": {**board.to_dict(), "vtt": prefix + board.vtt},
        }
    return output


def _audio_part(job: _Job, published: list[str]) -> dict[str, Any]:
    ffmpeg_bin = str(find_binaries().ffmpeg)
    settings = job.preset.audio
    tracks_out = []
    waveform: dict[str, Any] | None = None
    tracks = plan_audio_tracks(job.info)
    # One read of the upload for all audio: the tracks are copied out (no decoding), and
    # both loudness passes of every track read the local copy. A codec QuickTime cannot
    # carry is read from the upload instead.
    extract: Path | None = job.work / "audio.mov"
    try:
        job.run(build_audio_extract_args(ffmpeg_bin, job.source_url, tracks, extract))
    except PermanentError:
        log.info("audio copy-out refused by the mov muxer; reading the upload per pass")
        extract = None
    share = 100 // max(1, len(tracks))
    for n, track in enumerate(tracks):
        base = n * share
        audio = (
            extracted_audio(extract, n)
            if extract is not None
            else upload_audio(job.source_url, track)
        )
        measured: Loudness | None = None
        if settings.loudness is not None:
            scan = job.run(build_loudness_scan_args(ffmpeg_bin, audio, settings))
            measured = parse_loudnorm(scan.stderr)
        track_dir = job.work / track.dirname
        track_dir.mkdir()
        job.run(
            build_audio_track_args(ffmpeg_bin, audio, settings, measured, track_dir, job.hls),
            job.meter(base + share // 3, base + share),
        )
        packaged = package_track(
            track_dir,
            kind=AUDIO,
            language=track.language,
            name=track.name,
            default=track.default,
            channels=settings.channels,
            sample_rate=settings.sample_rate,
        )
        tracks_out.append(
            {
                **packaged.to_dict(),
                "source_channels": track.channels,
                "loudness": measured.to_dict() if measured else None,
            }
        )
        _publish(job, track_dir, published)
        if track.default:
            waveform = _waveform(job, ffmpeg_bin, audio, published)
    return {"tracks": tracks_out, "previews": {"waveform": waveform}}


def _waveform(
    job: _Job, ffmpeg_bin: str, audio: AudioInput, published: list[str]
) -> dict[str, Any]:
    """Peaks (the JSON wavesurfer.js and audiowaveform read) and a PNG of them."""
    timeout = timeout_from_remaining(job.remaining_ms(), job.settings.tool_timeout_margin_seconds)
    try:
        peaks = compute_peaks(
            run_tool_chunks(build_waveform_pcm_args(ffmpeg_bin, audio), timeout=timeout),
            sample_rate=WAVEFORM_SAMPLE_RATE,
            duration=job.info.duration,
        )
    except ToolError as e:
        raise TransientError(f"waveform decode failed: {e}") from e
    bucket = job.settings.media_bucket
    json_key = keys.preview_key(job.task.asset_id, "waveform.json")
    png_key = keys.preview_key(job.task.asset_id, "waveform.png")
    put_bytes(bucket, json_key, json.dumps(peaks.to_json()).encode(), "application/json")
    put_bytes(bucket, png_key, render_waveform_png(peaks, 1800, 280), "image/png")
    published += [json_key, png_key]
    return {"peaks": json_key, "png": png_key}


def _poster_part(job: _Job, published: list[str]) -> dict[str, Any]:
    path = job.work / "poster.jpg"
    seeks = [0.0] if job.task.kind is MediaKind.IMAGE else poster_seek_candidates(job.info.duration)
    first_dark: bytes | None = None
    for seek in seeks:
        path.unlink(missing_ok=True)
        job.run(
            build_poster_args(
                str(find_binaries().ffmpeg),
                job.source_url,
                path,
                seek_seconds=seek,
                max_width=POSTER_MAX[0],
                max_height=POSTER_MAX[1],
            )
        )
        if not path.is_file() or not is_mostly_black(data := path.read_bytes()):
            break
        # A black opening (fade-in, title card): look further in, keep this if all are.
        first_dark = first_dark or data
    else:
        if first_dark is not None:
            path.write_bytes(first_dark)
    if not path.is_file():
        # ffmpeg exits 0 when a seek lands past the last frame and nothing is written.
        raise PermanentError(
            "No frame could be taken from this file for a poster; it may have no decodable "
            "pictures. Check that it plays, then upload it again.",
            reason=ReasonCode.CORRUPT,
        )
    key = keys.poster_key(job.task.asset_id)
    put_file(job.settings.media_bucket, key, path)
    published.append(key)
    return {"poster": key}


def _previews_part(job: _Job, published: list[str]) -> dict[str, Any]:
    """A video's poster (not a black frame) and a short silent animated preview; both
    seek, so neither decodes the whole upload."""
    output = _poster_part(job, published)
    path = job.work / "preview.mp4"
    job.run(
        build_animated_preview_args(
            str(find_binaries().ffmpeg), job.source_url, path, duration=job.info.duration
        )
    )
    key = keys.preview_key(job.task.asset_id, "preview.mp4")
    put_file(job.settings.media_bucket, key, path)
    published.append(key)
    return {**output, "previews": {"animated": key}}


def _image_part(job: _Job, published: list[str]) -> dict[str, Any]:
    try:
        return make_image_outputs(job.task, job.settings, published)
    except UnsupportedMediaError:
        # ffmpeg read it at ingest but Pillow cannot (a rare codec): a poster still.
        return _poster_part(job, published)


_PRODUCERS: dict[str, Callable[[_Job, list[str]], dict[str, Any]]] = {
    IMAGE: _image_part,
    VIDEO: _video_part,
    AUDIO: _audio_part,
    POSTER: _poster_part,
    PREVIEWS: _previews_part,
}


def _publish(job: _Job, directory: Path, published: list[str]) -> None:
    prefix = keys.rendition_prefix(job.task.asset_id, directory.name)
    published.append(prefix)
    publish_directory(job.settings.media_bucket, prefix, directory)


def _finish_if_complete(
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


def _tracks(asset: dict[str, Any], kind: str) -> list[tuple[PackagedTrack, dict[str, Any]]]:
    found = []
    for out in (asset.get("part_outputs") or {}).values():
        for raw in out.get("tracks", []):
            if raw.get("kind") == kind:
                found.append((PackagedTrack.from_dict(raw), raw))
    return found


def publish_manifests(asset: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Write the DASH manifest, then the HLS master (the entry point most players use)
    last; returns the asset's ``outputs`` record."""
    asset_id = asset["asset_id"]
    video = _tracks(asset, VIDEO)
    audio = _tracks(asset, AUDIO)
    outputs: dict[str, Any] = {}
    for out in (asset.get("part_outputs") or {}).values():
        if "poster" in out:
            outputs["poster"] = out["poster"]
        if "images" in out:
            outputs["images"] = out["images"]
        for name, value in (out.get("previews") or {}).items():
            if value:
                outputs.setdefault("previews", {})[name] = value
    if not video and not audio:
        return outputs
    v_tracks, a_tracks = [t for t, _ in video], [t for t, _ in audio]
    preset = load_preset((asset.get("plan") or {}).get("preset") or "default")
    if preset.download and v_tracks:
        outputs["download"] = _publish_download(asset_id, v_tracks, a_tracks, settings)
    mpd_key = keys.dash_manifest_key(asset_id)
    put_text(
        settings.media_bucket, mpd_key, build_mpd(v_tracks, a_tracks, settings.segment_seconds)
    )
    master_key = keys.master_playlist_key(asset_id)
    put_text(settings.media_bucket, master_key, build_master_playlist(v_tracks, a_tracks))
    outputs["dash"] = {"manifest": mpd_key}
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
