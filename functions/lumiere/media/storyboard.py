"""Storyboards: thumbnails tiled into sprite sheets plus a WebVTT index of them.

Players (Video.js, JW Player, Shaka, hls.js UIs) show the scrub-bar preview by looking up
the cue that contains the hover time; the cue text names a sheet and a rectangle in it
(``sheet.jpg#xywh=x,y,w,h``, the W3C media-fragment syntax). Pure: ffmpeg makes the
sheets (``commands.build_storyboard_args``), this module plans them and writes the index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

# image2 numbering starts at 1, so the first sheet is storyboard_001.jpg.
STORYBOARD_PATTERN = "storyboard_%03d.jpg"
STORYBOARD_VTT = "storyboard.vtt"

# At most this many thumbnails, whatever the length: a few sheets to download, and more
# would be finer than a scrub bar a few hundred pixels wide can show.
MAX_THUMBNAILS = 200
# Round intervals, so cue times are easy to read and check by eye.
_NICE_INTERVALS: tuple[float, ...] = (1, 2, 5, 10, 15, 20, 30, 60, 90, 120, 180, 300, 600)
# A last interval shorter than this share of one interval gets no thumbnail of its own
# (the previous cue is stretched to the end): ffmpeg may not have a frame for it.
_MIN_LAST_SHARE = 0.1

DEFAULT_TILE_WIDTH = 160
DEFAULT_COLUMNS = 10
DEFAULT_ROWS = 10


def storyboard_interval(duration: float | None, max_thumbnails: int = MAX_THUMBNAILS) -> float:
    """Seconds between thumbnails: the smallest round interval giving at most
    ``max_thumbnails``; past the table, whole minutes."""
    if not duration or duration <= 0:
        return _NICE_INTERVALS[0]
    for interval in _NICE_INTERVALS:
        if math.ceil(duration / interval) <= max_thumbnails:
            return interval
    return 60.0 * math.ceil(duration / max_thumbnails / 60.0)


def thumbnail_count(duration: float, interval: float) -> int:
    """Thumbnails at 0, interval, 2*interval, ... before the end, except a sliver of a
    last interval (see ``_MIN_LAST_SHARE``). At least one."""
    if duration <= 0:
        return 1
    whole, rest = divmod(duration, interval)
    count = int(whole) + (1 if rest >= _MIN_LAST_SHARE * interval else 0)
    return max(1, count)


def tile_size(
    display_width: int, display_height: int, tile_width: int, sample_aspect: str | None = None
) -> tuple[int, int]:
    """A tile ``tile_width`` wide, aspect kept (non-square pixels included), height even
    (yuv420 JPEG encoders want even sizes)."""
    num, den = _ratio(sample_aspect)
    shown_width = display_width * num / den
    height = tile_width * display_height / shown_width if shown_width > 0 else tile_width
    return tile_width, max(2, 2 * round(height / 2))


def _ratio(text: str | None) -> tuple[int, int]:
    try:
        num, den = (int(p) for p in (text or "1:1").split(":"))
    except ValueError:
        return 1, 1
    return (num, den) if num > 0 and den > 0 else (1, 1)


def sheet_count(count: int, columns: int, rows: int) -> int:
    return math.ceil(count / (columns * rows))


def sheet_names(count: int, columns: int, rows: int) -> list[str]:
    """The file names ffmpeg writes for ``count`` thumbnails (``STORYBOARD_PATTERN``)."""
    return [STORYBOARD_PATTERN % (n + 1) for n in range(sheet_count(count, columns, rows))]


@dataclass(frozen=True)
class Storyboard:
    """What the catalogue keeps about a storyboard: enough to rebuild its VTT."""

    interval: float
    tile_width: int
    tile_height: int
    columns: int
    rows: int
    count: int  # thumbnails
    duration: float
    sheets: tuple[str, ...]  # URIs (usually relative to the VTT), in order
    vtt: str = STORYBOARD_VTT

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.duration <= 0 or self.count < 1:
            raise ValueError("a storyboard needs a positive interval, duration and count")
        if (self.count - 1) * self.interval >= self.duration:
            raise ValueError(f"{self.count} thumbnails every {self.interval}s overrun the end")
        if len(self.sheets) != sheet_count(self.count, self.columns, self.rows):
            raise ValueError("one sheet URI per sheet")

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows

    @property
    def sheet_size(self) -> tuple[int, int]:
        return self.columns * self.tile_width, self.rows * self.tile_height

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sheets": list(self.sheets)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Storyboard:
        return cls(**{**data, "sheets": tuple(data["sheets"])})


def plan_storyboard(
    duration: float,
    sheets_uri_prefix: str = "",
    *,
    interval: float | None = None,
    tile: tuple[int, int] = (DEFAULT_TILE_WIDTH, 90),
    columns: int = DEFAULT_COLUMNS,
    rows: int = DEFAULT_ROWS,
) -> Storyboard:
    """The layout for a source of ``duration`` seconds; sheet URIs are the file names
    after ``sheets_uri_prefix`` (e.g. ``""`` when the VTT sits next to the sheets)."""
    interval = interval or storyboard_interval(duration)
    count = thumbnail_count(duration, interval)
    names = sheet_names(count, columns, rows)
    return Storyboard(
        interval=interval,
        tile_width=tile[0],
        tile_height=tile[1],
        columns=columns,
        rows=rows,
        count=count,
        duration=duration,
        sheets=tuple(sheets_uri_prefix + n for n in names),
    )


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    sheet: str
    x: int
    y: int
    w: int
    h: int

    @property
    def text(self) -> str:
        return f"{self.sheet}#xywh={self.x},{self.y},{self.w},{self.h}"


def storyboard_cues(board: Storyboard) -> list[Cue]:
    """One cue per thumbnail. Times are whole milliseconds and each cue starts exactly
    where the previous ended, so rounding can never open a gap; the last ends at the
    duration (a player hovering near the end still finds a cue)."""
    starts = [round(i * board.interval * 1000) for i in range(board.count)]
    ends = [*starts[1:], round(board.duration * 1000)]
    cues = []
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
        sheet, slot = divmod(i, board.per_sheet)
        row, column = divmod(slot, board.columns)
        cues.append(
            Cue(
                start_ms=start,
                end_ms=end,
                sheet=board.sheets[sheet],
                x=column * board.tile_width,
                y=row * board.tile_height,
                w=board.tile_width,
                h=board.tile_height,
            )
        )
    return cues


def vtt_timestamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def storyboard_vtt(board: Storyboard) -> str:
    return render_vtt(storyboard_cues(board))


def render_vtt(cues: Sequence[Cue]) -> str:
    blocks = ["WEBVTT"]
    for cue in cues:
        blocks.append(f"{vtt_timestamp(cue.start_ms)} --> {vtt_timestamp(cue.end_ms)}\n{cue.text}")
    return "\n\n".join(blocks) + "\n"
