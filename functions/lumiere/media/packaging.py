"""Describe an encoded CMAF track from its files: codec, timing, bit rates, I-frames.

Everything a manifest says about a rendition is measured here from what ffmpeg wrote,
so the HLS and DASH manifests (written later, possibly by another worker) need only
this record, never the files themselves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import m3u8

from lumiere.media.commands import INIT_SEGMENT, VARIANT_PLAYLIST
from lumiere.media.hls_crypto import encrypted_size
from lumiere.media.isobmff import TrackInfo, read_fragment, read_init

IFRAME_PLAYLIST = "iframes.m3u8"
# The whole record, next to the rendition: a 4-hour track's DASH timeline (audio
# segments alternate in length, so it does not compress into runs) is too big for the
# 400 KB DynamoDB item the catalogue keeps.
TRACK_RECORD = "track.json"
MEDIA_TEMPLATE = "seg_$Number%05d$.m4s"


@dataclass(frozen=True)
class PackagedTrack:
    """One published rendition, as manifests describe it. Stored in the catalogue."""

    kind: str  # "video" | "audio"
    dirname: str
    codec: str
    timescale: int
    duration: float
    segment_count: int
    peak_bps: int
    average_bps: int
    # DASH SegmentTimeline runs: [t, d, r] (start, duration, repeats), track timescale.
    timeline: list[list[int]] = field(default_factory=list)
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    iframe_peak_bps: int | None = None
    iframe_average_bps: int | None = None
    # Audio labels.
    language: str | None = None
    name: str | None = None
    default: bool = False
    channels: int | None = None
    sample_rate: int | None = None

    @property
    def playlist_uri(self) -> str:
        return f"{self.dirname}/{VARIANT_PLAYLIST}"

    @property
    def iframe_uri(self) -> str:
        return f"{self.dirname}/{IFRAME_PLAYLIST}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> dict[str, Any]:
        """The record without its timeline, which lives in TRACK_RECORD."""
        return {**self.to_dict(), "timeline": [], "record": TRACK_RECORD}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PackagedTrack:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class SegmentRecord:
    """One media segment as measured: what the playlists and the DASH timeline need."""

    uri: str
    duration: float  # seconds (the playlist's EXTINF)
    start: int  # tfdt baseMediaDecodeTime, track timescale
    length: int  # sum of sample durations, track timescale
    bytes: int
    first_sample_end: int  # bytes through the first (key) frame, for the I-frame playlist

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmentRecord:
        return cls(**data)


def measure_fragment(data: bytes, uri: str, duration: float) -> SegmentRecord:
    """A segment measured from its bytes (a streamed segment is gone from disk before
    ffmpeg writes the playlist that holds its duration: see ``with_durations``)."""
    fragment = read_fragment(data)
    return SegmentRecord(
        uri=uri,
        duration=duration,
        start=fragment.base_decode_time,
        length=fragment.duration,
        bytes=len(data),
        first_sample_end=fragment.first_sample_end,
    )


def as_sealed(segments: list[SegmentRecord]) -> list[SegmentRecord]:
    """The records as HLS AES-128 will publish them: each segment grows by its PKCS7
    padding, which BANDWIDTH must count (timing and keyframe offsets are the clear
    stream's, as a player sees it after decrypting)."""
    return [replace(s, bytes=encrypted_size(s.bytes)) for s in segments]


def measure_segment(path: Path, duration: float, uri: str | None = None) -> SegmentRecord:
    return measure_fragment(path.read_bytes(), uri or path.name, duration)


def playlist_entries(track_dir: Path) -> list[tuple[str, float]]:
    """(file name, EXTINF) of every segment ffmpeg's playlist names, in order."""
    playlist = m3u8.load(str(track_dir / VARIANT_PLAYLIST))
    return [(s.uri, float(s.duration)) for s in playlist.segments]


def with_durations(track_dir: Path, measured: Mapping[str, SegmentRecord]) -> list[SegmentRecord]:
    """Every segment of the playlist in order: the record in ``measured`` (by the name
    ffmpeg gave the file) with the playlist's EXTINF, or, for one not streamed, measured
    from its file now."""
    return [
        replace(measured[name], duration=duration)
        if name in measured
        else measure_segment(track_dir / name, duration)
        for name, duration in playlist_entries(track_dir)
    ]


def package_track(
    track_dir: Path,
    *,
    kind: str,
    frame_rate: float | None = None,
    measured: Mapping[str, SegmentRecord] | None = None,
    sealed: bool = False,
    **labels: Any,
) -> PackagedTrack:
    """Measure a rendition directory (init.mp4, seg_*.m4s, index.m3u8); ``measured``
    holds the segments already streamed out of it (pipeline/streaming.py). For video,
    also write its I-frame playlist next to it. ``sealed``: its segments are published
    AES-128 encrypted, and are measured at that size."""
    init_path = track_dir / INIT_SEGMENT
    segments = with_durations(track_dir, measured or {})
    if sealed:
        segments = as_sealed(segments)
    track = describe_track(
        track_dir.name,
        read_init(init_path.read_bytes()),
        init_path.stat().st_size,
        segments,
        kind=kind,
        frame_rate=frame_rate,
        **labels,
    )
    if kind == "video":
        (track_dir / IFRAME_PLAYLIST).write_text(iframe_playlist(segments), encoding="utf-8")
    return track


def describe_track(
    dirname: str,
    init: TrackInfo,
    init_bytes: int,
    segments: list[SegmentRecord],
    *,
    kind: str,
    frame_rate: float | None = None,
    **labels: Any,
) -> PackagedTrack:
    """The record of a rendition from its segments' measurements: whether one ffmpeg
    wrote them all or they were encoded in chunks and stitched (pipeline/parts/video.py)."""
    peak = 0.0
    total_bytes, total_duration = init_bytes, 0.0
    runs: list[list[int]] = []
    for seg in segments:
        total_bytes += seg.bytes
        total_duration += seg.duration
        if seg.duration > 0:
            peak = max(peak, seg.bytes * 8 / seg.duration)
        _extend_timeline(runs, seg.start, seg.length)
    iframe_peak = iframe_avg = None
    if kind == "video":
        iframe_peak, iframe_avg = _iframe_rates(segments)
    return PackagedTrack(
        kind=kind,
        dirname=dirname,
        codec=init.codec,
        timescale=init.timescale,
        duration=round(total_duration, 3),
        segment_count=len(segments),
        peak_bps=math.ceil(peak),
        average_bps=math.ceil(total_bytes * 8 / total_duration) if total_duration else 0,
        timeline=runs,
        width=init.width,
        height=init.height,
        frame_rate=frame_rate,
        iframe_peak_bps=iframe_peak,
        iframe_average_bps=iframe_avg,
        **labels,
    )


def target_duration(segments: list[SegmentRecord]) -> int:
    """EXT-X-TARGETDURATION: each EXTINF rounded to the nearest integer must not exceed it
    (RFC 8216 4.3.3.1)."""
    return max((max(1, round(s.duration)) for s in segments), default=1)


def media_playlist(segments: list[SegmentRecord]) -> str:
    """A VOD fMP4 media playlist naming ``segments`` in order after one EXT-X-MAP: what
    ffmpeg writes for a whole rendition, rebuilt for one stitched from chunks."""
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target_duration(segments)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MAP:URI="{INIT_SEGMENT}"',
    ]
    for seg in segments:
        lines += [f"#EXTINF:{seg.duration:.6f},", seg.uri]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _extend_timeline(runs: list[list[int]], start: int, duration: int) -> None:
    if runs:
        t, d, r = runs[-1]
        if d == duration and t + d * (r + 1) == start:
            runs[-1][2] += 1
            return
    runs.append([start, duration, 0])


def iframe_playlist(segments: list[SegmentRecord]) -> str:
    """An EXT-X-I-FRAMES-ONLY playlist (RFC 8216 4.3.3.6): each segment opens on a
    keyframe, so each entry is the byte range from the segment's start (styp + moof)
    through that keyframe, lasting until the next one. Trick play and scrubbing
    thumbnails fetch only these bytes."""
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{max((math.ceil(s.duration) for s in segments), default=1)}",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-I-FRAMES-ONLY",
        f'#EXT-X-MAP:URI="{INIT_SEGMENT}"',
    ]
    for seg in segments:
        lines += [
            f"#EXTINF:{seg.duration:.6f},",
            f"#EXT-X-BYTERANGE:{seg.first_sample_end}@0",
            seg.uri,
        ]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _iframe_rates(segments: list[SegmentRecord]) -> tuple[int, int]:
    peak, total_bits, total_duration = 0.0, 0, 0.0
    for seg in segments:
        if seg.duration > 0:
            peak = max(peak, seg.first_sample_end * 8 / seg.duration)
        total_bits += seg.first_sample_end * 8
        total_duration += seg.duration
    average = total_bits / total_duration if total_duration else 0.0
    return math.ceil(peak), math.ceil(average)
