"""Storyboard sprite sheets: thumbnails at a fixed interval tiled into JPEG sheets, from
their own decode or from a branch of the ladder's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ffmpeg

from lumiere.media.commands.common import (
    GLOBAL_OPTIONS,
    upload_input,
)
from lumiere.media.storyboard import Storyboard

# The sheet file names; storyboard.py plans the same names for the VTT.
STORYBOARD_FILES = "storyboard_%03d.jpg"
# Past this interval, decode keyframes only: a thumbnail every minute does not need the
# frames between keyframes, and skipping them makes a long film many times cheaper.
STORYBOARD_KEYFRAMES_ONLY_FROM = 10.0


def build_storyboard_args(
    ffmpeg_bin: str,
    source_url: str,
    out_dir: Path,
    *,
    interval: float,
    tile_width: int,
    columns: int,
    rows: int,
    count: int,
    tile_height: int | None = None,
    keyframes_only: bool | None = None,
    quality: int = 5,
) -> list[str]:
    """Exactly ``count`` thumbnails (``storyboard.thumbnail_count``), one every
    ``interval`` seconds from the start, tiled ``columns`` x ``rows`` into JPEG sprite
    sheets ``out_dir/storyboard_%03d.jpg`` (numbered from 1; a short last sheet is padded
    black). ``tile_height`` should come from ``storyboard.tile_size`` so the VTT and the
    pixels agree; without it the height follows the aspect (even).

    Exactly ``count``, so the sheets always match the VTT: the last picture is repeated if
    the stream ends early (a container duration longer than the video, or keyframes
    only), and any extra frame fps emits at the very end is dropped.
    """
    if keyframes_only is None:
        keyframes_only = interval >= STORYBOARD_KEYFRAMES_ONLY_FROM
    src = upload_input(source_url, **({"skip_frame": "nokey"} if keyframes_only else {}))
    stream = src["v:0"]
    if keyframes_only:
        # A keyframe-only stream carries no frame durations, so fps never emits its last
        # frame (and nothing at all for a single keyframe); holding it makes fps see it.
        stream = stream.filter("tpad", stop_mode="clone", stop_duration=f"{interval:g}")
    stream = _storyboard_chain(
        stream,
        interval=interval,
        tile_width=tile_width,
        tile_height=tile_height,
        columns=columns,
        rows=rows,
        count=count,
    )
    out = ffmpeg.output(
        stream, str(out_dir / STORYBOARD_FILES), f="image2", start_number=1, **{"q:v": quality}
    )
    return [ffmpeg_bin, *GLOBAL_OPTIONS, *out.get_args()]


def _storyboard_chain(
    stream: Any,
    *,
    interval: float,
    tile_width: int,
    tile_height: int | None,
    columns: int,
    rows: int,
    count: int,
) -> Any:
    return (
        # fps picks the frame nearest each multiple of the interval.
        stream.filter("fps", f"1/{interval:g}")
        .filter("tpad", stop_mode="clone", stop=count)
        .filter("trim", end_frame=count)
        .filter("scale", tile_width, tile_height or -2)
        .filter("setsar", 1)
        .filter("tile", f"{columns}x{rows}")
    )


def storyboard_output(stream: Any, out_dir: Path, board: Storyboard, quality: int = 5) -> Any:
    """A storyboard from frames already decoded (a branch of a video group's split)."""
    chain = _storyboard_chain(
        stream,
        interval=board.interval,
        tile_width=board.tile_width,
        tile_height=board.tile_height,
        columns=board.columns,
        rows=board.rows,
        count=board.count,
    )
    return ffmpeg.output(
        chain, str(out_dir / STORYBOARD_FILES), f="image2", start_number=1, **{"q:v": quality}
    )
