"""Describe an encoded CMAF track from its files: codec, timing, bit rates, I-frames.

Everything a manifest says about a rendition is measured here from what ffmpeg wrote,
so the HLS and DASH manifests (written later, possibly by another worker) need only
this record, never the files themselves.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import m3u8

from lumiere.media.commands import INIT_SEGMENT, VARIANT_PLAYLIST
from lumiere.media.isobmff import read_fragment, read_init

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


def package_track(
    track_dir: Path, *, kind: str, frame_rate: float | None = None, **labels: Any
) -> PackagedTrack:
    """Measure a rendition directory (init.mp4, seg_*.m4s, index.m3u8). For video, also
    write its I-frame playlist next to it."""
    playlist = m3u8.load(str(track_dir / VARIANT_PLAYLIST))
    init = read_init((track_dir / INIT_SEGMENT).read_bytes())
    init_bytes = (track_dir / INIT_SEGMENT).stat().st_size
    peak = 0.0
    total_bytes, total_duration = init_bytes, 0.0
    runs: list[list[int]] = []
    iframes: list[tuple[float, int, str]] = []
    for seg in playlist.segments:
        data = (track_dir / seg.uri).read_bytes()
        fragment = read_fragment(data)
        total_bytes += len(data)
        total_duration += seg.duration
        if seg.duration > 0:
            peak = max(peak, len(data) * 8 / seg.duration)
        _extend_timeline(runs, fragment.base_decode_time, fragment.duration)
        iframes.append((seg.duration, fragment.first_sample_end, seg.uri))
    iframe_peak = iframe_avg = None
    if kind == "video":
        iframe_peak, iframe_avg = _write_iframe_playlist(track_dir, iframes)
    return PackagedTrack(
        kind=kind,
        dirname=track_dir.name,
        codec=init.codec,
        timescale=init.timescale,
        duration=round(total_duration, 3),
        segment_count=len(playlist.segments),
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


def _extend_timeline(runs: list[list[int]], start: int, duration: int) -> None:
    if runs:
        t, d, r = runs[-1]
        if d == duration and t + d * (r + 1) == start:
            runs[-1][2] += 1
            return
    runs.append([start, duration, 0])


def _write_iframe_playlist(
    track_dir: Path, iframes: list[tuple[float, int, str]]
) -> tuple[int, int]:
    """An EXT-X-I-FRAMES-ONLY playlist (RFC 8216 4.3.3.6): each segment opens on a
    keyframe, so each entry is the byte range from the segment's start (styp + moof)
    through that keyframe, lasting until the next one. Trick play and scrubbing
    thumbnails fetch only these bytes."""
    target = max((math.ceil(d) for d, _, _ in iframes), default=1)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-I-FRAMES-ONLY",
        f'#EXT-X-MAP:URI="{INIT_SEGMENT}"',
    ]
    peak, total_bits, total_duration = 0.0, 0, 0.0
    for duration, length, uri in iframes:
        lines += [f"#EXTINF:{duration:.6f},", f"#EXT-X-BYTERANGE:{length}@0", uri]
        if duration > 0:
            peak = max(peak, length * 8 / duration)
        total_bits += length * 8
        total_duration += duration
    lines.append("#EXT-X-ENDLIST")
    (track_dir / IFRAME_PLAYLIST).write_text("\n".join(lines) + "\n", encoding="utf-8")
    average = total_bits / total_duration if total_duration else 0.0
    return math.ceil(peak), math.ceil(average)
