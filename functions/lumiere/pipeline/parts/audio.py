"""The audio part: every source track as a loudness-normalised AAC rendition, and the
default track's waveform."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from lumiere.cloud.storage import put_bytes, put_file
from lumiere.errors import PermanentError, ToolError, TransientError
from lumiere.media.audio import Loudness, parse_loudnorm, plan_audio_tracks
from lumiere.media.commands import (
    COVER_ART_SUFFIXES,
    WAVEFORM_SAMPLE_RATE,
    AudioInput,
    build_audio_extract_args,
    build_audio_track_args,
    build_cover_art_args,
    build_loudness_scan_args,
    build_waveform_pcm_args,
    extracted_audio,
    upload_audio,
)
from lumiere.media.packaging import package_track
from lumiere.media.tools import find_binaries, run_tool_chunks, timeout_from_remaining
from lumiere.media.waveform import compute_peaks, render_waveform_png
from lumiere.pipeline import keys
from lumiere.pipeline.job import Job, publish_rendition
from lumiere.pipeline.plan import AUDIO

log = logging.getLogger(__name__)


def audio_part(job: Job, published: list[str]) -> dict[str, Any]:
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
        streamer = job.run_streamed(
            build_audio_track_args(ffmpeg_bin, audio, settings, measured, track_dir, job.hls),
            job.meter(base + share // 3, base + share),
            [job.streamed(track_dir)],
        )
        packaged = package_track(
            track_dir,
            kind=AUDIO,
            measured=streamer.measured(track_dir),
            language=track.language,
            name=track.name,
            default=track.default,
            channels=settings.channels,
            sample_rate=settings.sample_rate,
            sealed=job.sealed,
        )
        tracks_out.append(
            {
                **publish_rendition(job, track_dir, published, packaged),
                "source_channels": track.channels,
                "loudness": measured.to_dict() if measured else None,
            }
        )
        if track.default:
            waveform = _waveform(job, ffmpeg_bin, audio, published)
    return {
        "tracks": tracks_out,
        "previews": {"waveform": waveform, "cover": _cover_art(job, ffmpeg_bin, published)},
    }


def _cover_art(job: Job, ffmpeg_bin: str, published: list[str]) -> str | None:
    """The picture embedded in the file (an album cover), copied out as it is. A cover
    that will not come out is not worth failing the audio for."""
    index, codec = job.info.cover_art_index, job.info.cover_art_codec
    suffix = COVER_ART_SUFFIXES.get(codec or "")
    if index is None or suffix is None:
        return None
    path = job.work / f"cover{suffix}"
    try:
        job.run(build_cover_art_args(ffmpeg_bin, job.source_url, index, path))
    except PermanentError:
        return None
    if not path.is_file():
        return None
    key = keys.preview_key(job.task.asset_id, path.name)
    put_file(job.settings.media_bucket, key, path)
    published.append(key)
    return key


def _waveform(job: Job, ffmpeg_bin: str, audio: AudioInput, published: list[str]) -> dict[str, Any]:
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
