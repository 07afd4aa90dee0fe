"""Chunked renditions: put one chunk's segments in their place on the whole timeline, and
stitch every chunk's record into one rendition.

A long video is encoded in chunks of whole frames, each by its own ffmpeg on a timeline
starting at zero (commands.FrameSpan), so each writes the same init segment and
segments numbered and timed from zero. ``ChunkPlacement`` moves each segment as it is
streamed out (``place_chunk`` does it to a finished directory): the fragment's decode
time gains the chunk's start, its sequence number and its file name become global. The
chunk's playlist is not published; its ``ChunkRecord`` is, and whoever finishes the set
stitches the records into one media playlist, I-frame playlist and track record
(packaging.describe_track), checking on the way that the seams are exact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from lumiere.media.commands import INIT_SEGMENT, SEGMENT_PATTERN, VARIANT_PLAYLIST
from lumiere.media.isobmff import TrackInfo, read_init, retime_fragment
from lumiere.media.packaging import SegmentRecord, measure_fragment, playlist_entries
from lumiere.media.segment_watch import segment_number


class SeamError(ValueError):
    """Chunks that do not join into one continuous rendition."""


def chunk_record_name(index: int) -> str:
    return f"chunk_{index:05d}.json"


@dataclass(frozen=True)
class ChunkRecord:
    """What one chunk of one rendition published: enough to stitch without its files."""

    index: int
    first_number: int  # global number of its first segment
    init: TrackInfo
    init_bytes: int
    init_sha256: str
    segments: list[SegmentRecord]

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "first_number": self.first_number,
            "init": {
                "codec": self.init.codec,
                "timescale": self.init.timescale,
                "width": self.init.width,
                "height": self.init.height,
            },
            "init_bytes": self.init_bytes,
            "init_sha256": self.init_sha256,
            "segments": [s.to_dict() for s in self.segments],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChunkRecord:
        return cls(
            index=int(data["index"]),
            first_number=int(data["first_number"]),
            init=TrackInfo(**data["init"]),
            init_bytes=int(data["init_bytes"]),
            init_sha256=str(data["init_sha256"]),
            segments=[SegmentRecord.from_dict(s) for s in data["segments"]],
        )


@dataclass(frozen=True)
class ChunkPlacement:
    """Where chunk ``index``'s segments go on the whole timeline: decode times moved by
    ``decode_time_offset`` ticks, numbers (sequence and file name) from ``first_number``."""

    index: int
    first_number: int
    decode_time_offset: int

    @classmethod
    def of(
        cls, init: TrackInfo, *, index: int, first_number: int, start_seconds: Fraction
    ) -> ChunkPlacement:
        """The chunk's start must be a whole number of ticks of the track's timescale."""
        offset = start_seconds * init.timescale
        if offset.denominator != 1:
            raise SeamError(
                f"chunk {index} starts at {float(start_seconds):.6f} s, not a whole tick of "
                f"the {init.timescale} Hz track timescale"
            )
        return cls(index, first_number, int(offset))

    def place(self, name: str, data: bytes) -> tuple[str, bytes]:
        """The global name and the retimed bytes of the segment ffmpeg wrote as ``name``
        (its local number is its position in the chunk)."""
        local = segment_number(name)
        if local is None:
            raise SeamError(f"{name} is not a segment of chunk {self.index}")
        number = self.first_number + local
        data = retime_fragment(
            data, decode_time_offset=self.decode_time_offset, sequence_number=number + 1
        )
        return SEGMENT_PATTERN % number, data


def read_chunk_init(track_dir: Path) -> tuple[TrackInfo, bytes]:
    data = (track_dir / INIT_SEGMENT).read_bytes()
    return read_init(data), data


def finish_chunk(
    track_dir: Path,
    placement: ChunkPlacement,
    measured: Mapping[str, SegmentRecord],
    *,
    expected_segments: int | None,
) -> ChunkRecord:
    """The record of a chunk whose segments were placed (``measured``: their records by
    the name ffmpeg gave them) once ffmpeg has written its playlist, which is then
    removed: only the fan-in writes playlists. A full chunk must hold exactly
    ``expected_segments`` (the DASH template numbers segments without gaps)."""
    index = placement.index
    entries = playlist_entries(track_dir)
    if not entries:
        raise SeamError(f"chunk {index} produced no segments")
    if expected_segments is not None and len(entries) != expected_segments:
        raise SeamError(
            f"chunk {index} has {len(entries)} segments, not {expected_segments}: its "
            "keyframes missed the segment grid"
        )
    missing = [name for name, _ in entries if name not in measured]
    if missing:
        raise SeamError(f"chunk {index}'s segments {missing} were never placed")
    init, init_data = read_chunk_init(track_dir)
    (track_dir / VARIANT_PLAYLIST).unlink()
    return ChunkRecord(
        index=index,
        first_number=placement.first_number,
        init=init,
        init_bytes=len(init_data),
        init_sha256=hashlib.sha256(init_data).hexdigest(),
        segments=[replace(measured[name], duration=d) for name, d in entries],
    )


def place_chunk(
    track_dir: Path,
    *,
    index: int,
    first_number: int,
    start_seconds: Fraction,
    expected_segments: int | None,
) -> ChunkRecord:
    """Place a chunk whose segments are all on disk, rewriting them in place (the
    streamed path, pipeline/parts/video.py, places each segment as it is uploaded
    instead). The chunk's own playlist is removed."""
    placement = ChunkPlacement.of(
        read_chunk_init(track_dir)[0],
        index=index,
        first_number=first_number,
        start_seconds=start_seconds,
    )
    names = [name for name, _ in playlist_entries(track_dir)]
    measured: dict[str, SegmentRecord] = {}
    # Last first: a segment's new number is never below its old one, so going backwards
    # never overwrites a file not yet read.
    for name in reversed(names):
        path = track_dir / name
        target, data = placement.place(name, path.read_bytes())
        if target != name:
            path.unlink()
        (track_dir / target).write_bytes(data)
        measured[name] = measure_fragment(data, target, 0.0)
    return finish_chunk(track_dir, placement, measured, expected_segments=expected_segments)


@dataclass(frozen=True)
class StitchedTrack:
    init: TrackInfo
    init_bytes: int
    segments: list[SegmentRecord]


def stitch(records: list[ChunkRecord], *, tolerance: int = 0) -> StitchedTrack:
    """One rendition from its chunks' records, in order. Refuses what would play wrong:
    a missing chunk, chunks whose init segments differ (one EXT-X-MAP must serve them
    all), numbering gaps, or a decode-time gap or overlap at a seam larger than
    ``tolerance`` ticks."""
    ordered = sorted(records, key=lambda r: r.index)
    if not ordered:
        raise SeamError("no chunks to stitch")
    indices = [r.index for r in ordered]
    if indices != list(range(len(ordered))):
        raise SeamError(f"chunks {indices} are not 0..{len(ordered) - 1}")
    first = ordered[0]
    segments: list[SegmentRecord] = []
    for record in ordered:
        if record.init_sha256 != first.init_sha256:
            raise SeamError(f"chunk {record.index}'s init segment differs from chunk 0's")
        if record.first_number != len(segments):
            raise SeamError(
                f"chunk {record.index} starts at segment {record.first_number}, "
                f"expected {len(segments)}"
            )
        for seg in record.segments:
            if segments:
                prev = segments[-1]
                gap = seg.start - (prev.start + prev.length)
                if abs(gap) > tolerance:
                    raise SeamError(
                        f"{seg.uri} starts {gap} ticks ({gap / first.init.timescale:+.6f} s) "
                        f"away from where {prev.uri} ends"
                    )
            segments.append(seg)
    return StitchedTrack(init=first.init, init_bytes=first.init_bytes, segments=segments)
