"""The probe model: what Lumiere knows about an upload, stored in the catalogue and shown
by the API. Frozen dataclasses that round-trip through ``to_dict``/``from_dict``."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from lumiere.media.probe_fields import as_float, as_int

HDR_TRANSFERS = {"smpte2084": "PQ", "arib-std-b67": "HLG"}
INTERLACED_ORDERS = frozenset({"tt", "bb", "tb", "bt"})


class MediaKind(StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    IMAGE = "image"


@dataclass(frozen=True)
class VideoStream:
    index: int
    codec: str
    width: int
    height: int
    profile: str | None = None
    pix_fmt: str | None = None
    frame_rate: float | None = None  # average, else the stream's base rate
    rotation: int = 0  # degrees clockwise a player turns the picture
    level: int | None = None
    bit_depth: int | None = None
    sample_aspect_ratio: str | None = None
    display_aspect_ratio: str | None = None
    avg_frame_rate: float | None = None
    real_frame_rate: float | None = None
    color_primaries: str | None = None
    color_transfer: str | None = None
    color_space: str | None = None
    field_order: str | None = None
    # The first frame's timestamp (seconds): chunked encoding cuts on source timestamps.
    start_time: float | None = None

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as shown, after the display rotation."""
        if self.rotation % 180:
            return self.height, self.width
        return self.width, self.height

    @property
    def is_vfr(self) -> bool:
        """Average and base rates that disagree by over 1% mean variable frame rate
        (phones, screen recordings): encoders must be told the output rate."""
        a, r = self.avg_frame_rate, self.real_frame_rate
        return bool(a and r and abs(a - r) / r > 0.01)

    @property
    def hdr_format(self) -> str | None:
        return HDR_TRANSFERS.get(self.color_transfer or "")

    @property
    def is_hdr(self) -> bool:
        return self.hdr_format is not None

    @property
    def is_interlaced(self) -> bool:
        return self.field_order in INTERLACED_ORDERS


@dataclass(frozen=True)
class AudioStream:
    index: int
    codec: str
    channels: int
    sample_rate: int
    channel_layout: str | None = None
    language: str | None = None
    bit_rate: int | None = None


@dataclass(frozen=True)
class SubtitleStream:
    index: int
    codec: str
    language: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class ImageInfo:
    """What a still image's header says (read by Pillow without decoding pixels)."""

    format: str
    width: int
    height: int
    mode: str | None = None
    orientation: int | None = None  # EXIF 1-8; 6 and 8 mean the camera was turned
    camera: str | None = None
    has_gps: bool = False  # location is stripped from every output, but people ask
    has_icc_profile: bool = False
    frame_count: int = 1

    @property
    def is_animated(self) -> bool:
        return self.frame_count > 1


@dataclass(frozen=True)
class MediaInfo:
    format_name: str
    duration: float | None
    size: int | None
    bit_rate: int | None
    video: tuple[VideoStream, ...] = field(default_factory=tuple)
    audio: tuple[AudioStream, ...] = field(default_factory=tuple)
    stream_count: int = 0
    subtitles: tuple[SubtitleStream, ...] = field(default_factory=tuple)
    format_long_name: str | None = None
    image: ImageInfo | None = None
    # An attached picture (an MP3's ID3 cover, an M4A's covr): not a video stream.
    cover_art_index: int | None = None
    cover_art_codec: str | None = None

    @property
    def primary_video(self) -> VideoStream | None:
        return self.video[0] if self.video else None

    @property
    def primary_audio(self) -> AudioStream | None:
        return self.audio[0] if self.audio else None

    @property
    def demuxer(self) -> str:
        return self.format_name.split(",", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaInfo:
        """Reads records written by this and earlier versions (missing keys: defaults)."""
        image = data.get("image")
        return cls(
            format_name=data["format_name"],
            duration=as_float(data.get("duration")),
            size=as_int(data.get("size")),
            bit_rate=as_int(data.get("bit_rate")),
            video=tuple(_build(VideoStream, v) for v in data.get("video", ())),
            audio=tuple(_build(AudioStream, a) for a in data.get("audio", ())),
            stream_count=int(data.get("stream_count", 0)),
            subtitles=tuple(_build(SubtitleStream, s) for s in data.get("subtitles", ())),
            format_long_name=data.get("format_long_name"),
            image=_build(ImageInfo, image) if image else None,
            cover_art_index=as_int(data.get("cover_art_index")),
            cover_art_codec=data.get("cover_art_codec"),
        )


def bit_depth_of(pix_fmt: str | None, bits_per_raw_sample: int | None) -> int | None:
    """``yuv420p10le`` → 10; plain ``yuv420p`` → 8."""
    if bits_per_raw_sample:
        return bits_per_raw_sample
    if not pix_fmt:
        return None
    match = re.search(r"(\d+)(le|be)?$", pix_fmt)
    if match and pix_fmt[: match.start()].endswith(("p", "f", "a", "gray")):
        return int(match.group(1))
    return 8


def _build(cls: type, data: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
