"""Every ffmpeg command line Lumiere runs, built as argument lists in one place.

Building is pure (ffmpeg-python assembles the filter graph and options; nothing runs
here), so the exact arguments are unit-tested. Each command reads the upload through the
guarded input options of ``safety``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from lumiere.media.ladder import AudioCodecSettings, Rendition
from lumiere.media.safety import input_guard_options

INIT_SEGMENT = "init.mp4"
SEGMENT_PATTERN = "seg_%05d.m4s"
VARIANT_PLAYLIST = "index.m3u8"

# Written before the command so the output is quiet unless something goes wrong, and so a
# stray prompt can never block a worker.
_GLOBAL = ["-hide_banner", "-nostdin", "-y", "-loglevel", "error"]


@dataclass(frozen=True)
class HlsOptions:
    segment_seconds: float

    def muxer_options(self, out_dir: Path) -> dict[str, str | float]:
        return {
            "f": "hls",
            "hls_time": self.segment_seconds,
            "hls_playlist_type": "vod",
            "hls_segment_type": "fmp4",
            "hls_flags": "independent_segments",
            "hls_fmp4_init_filename": INIT_SEGMENT,
            "hls_segment_filename": str(out_dir / SEGMENT_PATTERN),
        }


def _source(source_url: str) -> ffmpeg.nodes.InputNode:
    return ffmpeg.input(source_url, **input_guard_options())


def _audio_options(audio: AudioCodecSettings) -> dict[str, str | int]:
    return {
        "c:a": "aac" if audio.codec == "aac" else audio.codec,
        "b:a": f"{audio.bitrate_kbps}k",
        "ac": audio.channels,
        "ar": audio.sample_rate,
    }


def keyframe_interval(frame_rate: float | None, segment_seconds: float) -> int:
    """A GOP cap long enough never to fire before the forced segment-boundary keyframe."""
    return 2 * math.ceil((frame_rate or 30.0) * segment_seconds)


def build_video_rendition_args(
    ffmpeg_bin: str, source_url: str, rendition: Rendition, out_dir: Path, hls: HlsOptions
) -> list[str]:
    """One H.264 rendition (with the first audio track muxed in) as fMP4 HLS.

    Keyframes are forced on segment boundaries by time, not frame count, so every
    rendition cuts at the same instants whatever its frame rate: players switch cleanly.
    """
    src = _source(source_url)
    video = src["v:0"]
    if rendition.frame_rate is not None:
        video = video.filter("fps", rendition.frame_rate)
    video = video.filter("scale", rendition.width, rendition.height).filter("setsar", 1)
    streams = [video]
    options: dict[str, str | int | float] = {
        "c:v": "libx264",
        "preset": rendition.video.preset,
        "profile:v": rendition.video.profile,
        "level:v": rendition.video.level,
        "pix_fmt": "yuv420p",
        "crf": rendition.video.crf,
        "maxrate": f"{rendition.max_kbps}k",
        "bufsize": f"{rendition.bufsize_kbps}k",
        "g": keyframe_interval(rendition.frame_rate, hls.segment_seconds),
        "sc_threshold": 0,
        "force_key_frames": f"expr:gte(t,n_forced*{hls.segment_seconds:g})",
    }
    if rendition.audio is not None:
        streams.append(src["a:0"])
        options.update(_audio_options(rendition.audio))
    options.update(hls.muxer_options(out_dir))
    out = ffmpeg.output(*streams, str(out_dir / VARIANT_PLAYLIST), **options)
    return [ffmpeg_bin, *_GLOBAL, *out.get_args()]


def build_audio_rendition_args(
    ffmpeg_bin: str, source_url: str, audio: AudioCodecSettings, out_dir: Path, hls: HlsOptions
) -> list[str]:
    """Audio-only uploads: one AAC rendition as fMP4 HLS."""
    options: dict[str, str | int | float] = {**_audio_options(audio), **hls.muxer_options(out_dir)}
    out = ffmpeg.output(_source(source_url)["a:0"], str(out_dir / VARIANT_PLAYLIST), **options)
    return [ffmpeg_bin, *_GLOBAL, *out.get_args()]


def build_poster_args(
    ffmpeg_bin: str,
    source_url: str,
    out_path: Path,
    *,
    seek_seconds: float,
    max_width: int,
    max_height: int,
) -> list[str]:
    """A representative JPEG frame: ffmpeg's ``thumbnail`` filter picks the most typical
    frame of a short window after ``seek_seconds``, which skips black and fade frames.

    The input seek is fast (keyframe based); the window of 30 frames is decoded.
    """
    src = ffmpeg.input(source_url, ss=f"{seek_seconds:.3f}", **input_guard_options())
    frame = (
        src["v:0"]
        .filter("thumbnail", 30)
        .filter(
            "scale",
            f"min({max_width},iw)",
            f"min({max_height},ih)",
            force_original_aspect_ratio="decrease",
            force_divisible_by=2,
        )
    )
    out = ffmpeg.output(frame, str(out_path), vframes=1, **{"q:v": 3})
    return [ffmpeg_bin, *_GLOBAL, *out.get_args()]


def poster_seek_seconds(duration: float | None) -> float:
    """A tenth of the way in (past titles), at most 10 s, and never past a short clip."""
    if not duration or duration <= 1.0:
        return 0.0
    return min(10.0, duration / 10.0)
