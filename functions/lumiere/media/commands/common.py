"""What every command shares: quiet global options, progress on stdout, the guarded
upload input, HLS muxing options and the names of what it writes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg

from lumiere.media.safety import (
    input_guard_options,
)

INIT_SEGMENT = "init.mp4"
SEGMENT_PATTERN = "seg_%05d.m4s"
VARIANT_PLAYLIST = "index.m3u8"

# Written before the command so the output is quiet unless something goes wrong, and so a
# stray prompt can never block a worker.
GLOBAL_OPTIONS = ["-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
# Machine-readable progress (key=value lines) on stdout; see media/progress.py.
PROGRESS_OPTIONS = ["-progress", "pipe:1", "-nostats"]


def video_dirname(rendition_name: str) -> str:
    return f"v_{rendition_name}"


@dataclass(frozen=True)
class HlsOptions:
    segment_seconds: float

    def muxer_options(self, out_dir: Path) -> dict[str, str | float]:
        return {
            "f": "hls",
            "hls_time": self.segment_seconds,
            "hls_playlist_type": "vod",
            "hls_segment_type": "fmp4",
            # temp_file: each segment appears under its final name only once it is whole,
            # which is how segment_watch knows it may upload it while ffmpeg runs.
            "hls_flags": "independent_segments+temp_file",
            "hls_fmp4_init_filename": INIT_SEGMENT,
            "hls_segment_filename": str(out_dir / SEGMENT_PATTERN),
        }


def upload_input(source_url: str, **options: Any) -> ffmpeg.nodes.InputNode:
    """The upload as an ffmpeg input, with the guards every read of an upload carries."""
    return ffmpeg.input(source_url, **options, **input_guard_options())


def head_options(progress: bool) -> list[str]:
    return [*GLOBAL_OPTIONS, *(PROGRESS_OPTIONS if progress else [])]


def keyframe_interval(frame_rate: float | None, segment_seconds: float) -> int:
    """A GOP cap long enough never to fire before the forced segment-boundary keyframe."""
    return 2 * math.ceil((frame_rate or 30.0) * segment_seconds)


@dataclass(frozen=True)
class FrameSpan:
    """Source frames [first, first + count) of a constant-rate video (``count`` None: to
    the end), encoded on their own timeline starting at zero: one chunk of a long video.

    The frames are picked by their original timestamps (``-copyts``), with each bound
    half a frame early so the frame exactly at a bound falls on the right side whatever
    the rounding, then restamped from zero. Keyframes forced by time then land on the
    chunk's own segment grid, and every chunk writes the same init segment."""

    first: int
    count: int | None
    fps: Fraction
    origin: float = 0.0  # the video's first timestamp (stream start_time)
    preroll: float = 1.0  # seek this far before the first frame, then trim exactly

    @property
    def start_seconds(self) -> Fraction:
        return self.first / self.fps

    def seek(self) -> float:
        return max(0.0, float(self.start_seconds) - self.preroll)

    def trim(self) -> dict[str, float]:
        half = 1 / (2 * self.fps)
        bounds = {"start": self.origin + float(self.start_seconds - half)}
        if self.count is not None:
            bounds["end"] = self.origin + float((self.first + self.count) / self.fps - half)
        return bounds
