"""Subtitle tracks in the packaged output: one WebVTT file per language, a one-segment
HLS media playlist naming it, and its entries in the master playlist and the MPD.

One whole-file segment is what Apple's authoring spec allows for VOD subtitles and what
hls.js and Shaka load; it keeps the caption file itself downloadable as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

SUBTITLE_GROUP = "subs"
# WebVTT cue times are relative to the presentation start; HLS needs the mapping from
# that local time to the media's 90 kHz timestamps (RFC 8216 3.5).
HLS_CLOCK = 90_000


@dataclass(frozen=True)
class SubtitleTrack:
    """A caption track as published: ``vtt`` and ``playlist`` are file names relative to
    the asset's root (where the master playlist and the MPD live)."""

    language: str  # BCP 47, e.g. "en"
    name: str  # what a player's menu shows, e.g. "English (automatic)"
    vtt: str
    playlist: str
    automatic: bool = True  # machine-made (speech to text), not authored

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "name": self.name,
            "vtt": self.vtt,
            "playlist": self.playlist,
            "automatic": self.automatic,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubtitleTrack:
        return cls(
            language=str(data["language"]),
            name=str(data["name"]),
            vtt=str(data["vtt"]),
            playlist=str(data["playlist"]),
            automatic=bool(data.get("automatic", True)),
        )


def with_timestamp_map(vtt: str, media_start_seconds: float = 0.0) -> str:
    """The WebVTT text with the X-TIMESTAMP-MAP header HLS players align cues by: local
    00:00:00.000 is the media's first presentation time."""
    header, sep, body = vtt.partition("\n")
    if not header.startswith("WEBVTT"):
        raise ValueError("not a WebVTT document")
    mpegts = round(media_start_seconds * HLS_CLOCK)
    return f"{header}\nX-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000{sep}{body}"


def build_subtitle_playlist(track: SubtitleTrack, duration: float, vtt_uri: str) -> str:
    """A VOD media playlist whose single segment is the whole WebVTT file. ``vtt_uri`` is
    relative to the playlist."""
    seconds = max(duration, 0.001)
    return "\n".join(
        [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{math.ceil(seconds)}",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
            f"#EXTINF:{seconds:.3f},",
            vtt_uri,
            "#EXT-X-ENDLIST",
            "",
        ]
    )
