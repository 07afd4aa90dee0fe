"""HLS manifests: measure what was encoded and write the multivariant (master) playlist.

The master is the last object published for an asset, so it only ever points at
renditions that are already complete.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import m3u8

# ISO/IEC 14496-15 profile_idc + constraint flags, as HLS CODECS wants them.
_AVC_PROFILES = {"baseline": "42E0", "main": "4D40", "high": "6400"}
AAC_LC = "mp4a.40.2"


def avc1_codec(profile: str, level: str) -> str:
    """``avc1.640029`` for High@4.1: RFC 6381 names the stream by its SPS fields."""
    prefix = _AVC_PROFILES[profile.lower()]
    return f"avc1.{prefix}{round(float(level) * 10):02X}"


@dataclass(frozen=True)
class VariantStats:
    segment_count: int
    duration: float
    peak_bps: int
    average_bps: int
    total_bytes: int


@dataclass(frozen=True)
class VariantEntry:
    """A rendition as the master playlist lists it."""

    uri: str
    stats: VariantStats
    codecs: tuple[str, ...]
    resolution: tuple[int, int] | None = None
    frame_rate: float | None = None


def measure_variant(playlist_path: Path) -> VariantStats:
    """Peak and average bit rate from the segments actually written.

    BANDWIDTH must be the peak segment bit rate (RFC 8216 4.3.4.2); a nominal encoder
    setting understates it and players then stall.
    """
    playlist = m3u8.load(str(playlist_path))
    base = playlist_path.parent
    init_bytes = 0
    if playlist.segment_map:
        init_bytes = (base / playlist.segment_map[0].uri).stat().st_size
    peak = 0.0
    total_bytes = init_bytes
    total_duration = 0.0
    for seg in playlist.segments:
        size = (base / seg.uri).stat().st_size
        total_bytes += size
        total_duration += seg.duration
        if seg.duration > 0:
            peak = max(peak, size * 8 / seg.duration)
    average = total_bytes * 8 / total_duration if total_duration else 0.0
    return VariantStats(
        segment_count=len(playlist.segments),
        duration=round(total_duration, 3),
        peak_bps=math.ceil(peak),
        average_bps=math.ceil(average),
        total_bytes=total_bytes,
    )


def build_master_playlist(variants: list[VariantEntry]) -> str:
    """The multivariant playlist, highest bandwidth first."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for v in sorted(variants, key=lambda v: v.stats.peak_bps, reverse=True):
        attrs = [
            f"BANDWIDTH={v.stats.peak_bps}",
            f"AVERAGE-BANDWIDTH={v.stats.average_bps}",
            f'CODECS="{",".join(v.codecs)}"',
        ]
        if v.resolution:
            attrs.append(f"RESOLUTION={v.resolution[0]}x{v.resolution[1]}")
        if v.frame_rate:
            attrs.append(f"FRAME-RATE={v.frame_rate:.3f}")
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        lines.append(v.uri)
    return "\n".join(lines) + "\n"
