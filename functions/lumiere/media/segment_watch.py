"""Which segments of a rendition ffmpeg's HLS muxer has finished, from the file names alone.

The commands set ``-hls_flags temp_file`` (commands.HlsOptions), so the muxer writes each
segment as ``seg_NNNNN.m4s.tmp`` and renames it to ``seg_NNNNN.m4s`` once it has closed it
(pinned ffmpeg 6.0, under strace: in fMP4 mode it buffers a segment in memory and writes it
with one open/write/close when the next one begins or the stream ends, then renames). A
rename is atomic, so a segment under its final name is whole: no poll can see half of one,
and there is no need to wait for the next segment to appear. ``init.mp4`` is written
directly (no temp name) before the first segment; it is not streamed, since it is tiny
and every rendition publishes it with its playlist.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

# commands.SEGMENT_PATTERN ("seg_%05d.m4s"): at least five digits.
_FINAL = re.compile(r"seg_(\d{5,})\.m4s")


def segment_number(name: str) -> int | None:
    """The number in a finished segment's name; None for anything else (a ``.tmp`` being
    written, the init segment, a playlist)."""
    match = _FINAL.fullmatch(name)
    return int(match.group(1)) if match else None


def finished_segments(names: Iterable[str], taken: Collection[str] = ()) -> list[str]:
    """The finished segments among ``names`` (a directory listing) not in ``taken`` (those
    already handed over), lowest number first so uploads follow the timeline."""
    found = [
        (number, name)
        for name in names
        if name not in taken and (number := segment_number(name)) is not None
    ]
    return [name for _, name in sorted(found)]
