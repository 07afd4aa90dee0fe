"""Which published HLS segment holds a moment of a video, and where in it.

A frame at an arbitrary time (``/img/...,t_12.5``) is cut from the video's own published
rendition, not from the upload: one segment of a few seconds is fetched and decoded, so
the work does not grow with the length of the film, and ffmpeg reads a file Lumiere
wrote itself. Any fMP4 media playlist works (ours and MediaConvert's CMAF): the segment
is found by adding up EXTINF durations, its init section is its EXT-X-MAP, and an
AES-128 segment's IV is the key tag's or, without one, its media sequence number (RFC
8216 section 5.2). A transport-stream playlist is parsed too, but the frame cut reads
fMP4 only (commands.build_frame_at_args allows the mov demuxer alone).
"""

from __future__ import annotations

from dataclasses import dataclass

import m3u8

from lumiere.errors import InvalidRequestError
from lumiere.media.transform_spec import format_seconds


@dataclass(frozen=True)
class SegmentAt:
    uri: str  # as the playlist writes it: relative to the playlist
    init_uri: str | None  # EXT-X-MAP; None for MPEG-TS segments, which stand alone
    sequence: int
    start: float  # seconds from the start of the playlist
    duration: float
    encryption: str | None = None  # "AES-128"; None when the segment is in the clear
    iv: bytes | None = None  # the key tag's IV, when it gives one

    def offset_of(self, time: float, frame_rate: float | None) -> float:
        """Seconds into the segment to seek to for the frame a player shows at ``time``:
        the last one that starts at or before it. ffmpeg's exact seek returns the first
        frame at or after the offset, so the offset goes back just under one frame. At
        the end of the video it stops half a frame before the last frame ends, where
        ffmpeg would find none."""
        frame = 1.0 / frame_rate if frame_rate and frame_rate > 0 else 1.0 / 24
        shown = time - self.start - frame + min(0.001, frame / 4)
        latest = self.duration - 1.5 * frame
        return max(0.0, min(shown, latest))


def segment_at(playlist_text: str, time: float) -> SegmentAt:
    """The segment playing at ``time`` seconds. The video's very end (``time`` equal to
    its duration) is its last segment; past that is refused, with the duration to say
    what would work."""
    return segments_between(playlist_text, time, time)[0]


def segments_between(playlist_text: str, start: float, end: float) -> list[SegmentAt]:
    """The segments that play from ``start`` to ``end`` seconds, in order: the one at
    ``start`` (as ``segment_at``) and every later one that begins before ``end``. An end
    past the video's is its end."""
    segments = _segments(playlist_text)
    if not segments:
        raise ValueError("the media playlist lists no segments")
    last = segments[-1]
    if start > last.start + last.duration:
        raise InvalidRequestError(
            f"t is past the end of the video, which lasts "
            f"{format_seconds(last.start + last.duration)} s."
        )
    first = next(i for i, s in enumerate(segments) if start < s.start + s.duration or s is last)
    return [segments[first]] + [s for s in segments[first + 1 :] if s.start < end]


def _segments(playlist_text: str) -> list[SegmentAt]:
    playlist = m3u8.loads(playlist_text)
    found, start = [], 0.0
    for i, segment in enumerate(playlist.segments):
        duration = float(segment.duration or 0.0)
        found.append(_segment_at(segment, playlist, i, start, duration))
        start += duration
    return found


def _segment_at(
    segment: m3u8.Segment, playlist: m3u8.M3U8, index: int, start: float, duration: float
) -> SegmentAt:
    key = segment.key
    method = key.method if key is not None and key.method not in (None, "NONE") else None
    if method not in (None, "AES-128"):
        raise ValueError(f"segments encrypted with {method} cannot be read here")
    sequence = (playlist.media_sequence or 0) + index
    return SegmentAt(
        uri=segment.uri,
        init_uri=segment.init_section.uri if segment.init_section is not None else None,
        sequence=sequence,
        start=start,
        duration=duration,
        encryption=method,
        iv=bytes.fromhex(key.iv[2:]) if method and key.iv else None,
    )
