"""Plan the renditions of a video from its probe and a preset (a JSON file in presets/).

A preset names rungs by their short side; the planner keeps the ones the source can
fill (never upscaling), shapes each to the source's displayed aspect, picks its frame
rate, its bit rate cap (scaling with pixels x frames per second) and its H.264 level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from lumiere.media import presets
from lumiere.media.presets import read_preset
from lumiere.media.streams import MediaInfo, VideoStream

REFERENCE_PIXEL_RATE = 1920 * 1080 * 30


@dataclass(frozen=True)
class VideoCodecSettings:
    codec: str  # "h264" or "vp9"
    preset: str  # x264 --preset, or libvpx-vp9 -cpu-used
    crf: int
    profile: str | None = None


@dataclass(frozen=True)
class LoudnessTarget:
    """EBU R128 targets for loudnorm; the defaults are the usual streaming ones."""

    integrated: float = -16.0
    true_peak: float = -1.0
    lra: float = 11.0


@dataclass(frozen=True)
class AudioCodecSettings:
    codec: str
    bitrate_kbps: int
    channels: int
    sample_rate: int
    loudness: LoudnessTarget | None = field(default_factory=LoudnessTarget)
    denoise: bool = False


@dataclass(frozen=True)
class Rung:
    name: str
    short_side: int


@dataclass(frozen=True)
class LadderPreset:
    name: str
    video: VideoCodecSettings
    audio: AudioCodecSettings
    rungs: tuple[Rung, ...]  # highest first
    max_frame_rate: float = 60.0
    # Rungs with a short side below this halve rates above 30 fps: a phone on 3G gains
    # more from resolution than from 60 fps.
    halve_frame_rate_below: int = 540
    # The bit rate cap of a 1080p30 rung; others scale by (pixel rate ratio) ** exponent,
    # as bits per pixel fall when pictures get larger.
    reference_kbps: int = 6000
    bitrate_exponent: float = 0.75
    # A source this much larger than its highest fitting rung also gets a native rung.
    native_rung_ratio: float = 1.15
    download: bool = False
    description: str = ""


@dataclass(frozen=True)
class Rendition:
    """One video output of the ladder. Width and height are as displayed (rotation and
    pixel aspect applied); pixels are square in the output."""

    name: str
    width: int
    height: int
    frame_rate: float | None
    max_kbps: int
    level: str
    video: VideoCodecSettings

    @property
    def bufsize_kbps(self) -> int:
        return 2 * self.max_kbps

    @property
    def pixel_rate(self) -> float:
        return self.width * self.height * (self.frame_rate or 30.0)


def load_preset(name: str) -> LadderPreset:
    data = read_preset("ladder", name)
    base = data.pop("extends", None)
    if base:
        merged = read_preset("ladder", base)
        merged.pop("extends", None)
        for key, value in data.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        data = merged
    audio = dict(data["audio"])
    loudness = audio.pop("loudness", {})
    return LadderPreset(
        name=name,
        video=VideoCodecSettings(**data["video"]),
        audio=AudioCodecSettings(
            **audio, loudness=LoudnessTarget(**loudness) if loudness is not None else None
        ),
        rungs=tuple(sorted((Rung(**r) for r in data["rungs"]), key=lambda r: -r.short_side)),
        **{
            k: data[k]
            for k in (
                "max_frame_rate",
                "halve_frame_rate_below",
                "reference_kbps",
                "bitrate_exponent",
                "native_rung_ratio",
                "download",
                "description",
            )
            if k in data
        },
    )


def preset_names() -> list[str]:
    return presets.preset_names("ladder")


def _even(value: float) -> int:
    """4:2:0 chroma needs even dimensions."""
    return max(2, round(value / 2.0) * 2)


def display_dimensions(video: VideoStream) -> tuple[float, float]:
    """The picture as a viewer sees it: non-square pixels stretched, rotation applied."""
    width, height = float(video.width), float(video.height)
    sar = _ratio(video.sample_aspect_ratio)
    if sar and sar != 1:
        width *= float(sar)
    return (height, width) if video.rotation % 180 else (width, height)


def _ratio(text: str | None) -> Fraction | None:
    if not text or ":" not in text:
        return None
    num, _, den = text.partition(":")
    try:
        value = Fraction(int(num), int(den))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def plan_ladder(info: MediaInfo, preset: LadderPreset) -> list[Rendition]:
    """The rungs the source can fill, highest first, never upscaled, aspect kept.

    Rungs are named by their short side so portrait video gets the same ladder as
    landscape. A source smaller than every rung gets one rendition at its own size.
    """
    video = info.primary_video
    if video is None:
        return []
    disp_w, disp_h = display_dimensions(video)
    short, long_ = min(disp_w, disp_h), max(disp_w, disp_h)
    fits = [r for r in preset.rungs if r.short_side <= short]
    if not fits or short >= fits[0].short_side * preset.native_rung_ratio:
        fits.insert(0, Rung(name=f"{_even(short)}p", short_side=_even(short)))
    renditions = []
    for rung in fits:
        scale = rung.short_side / short
        out_short, out_long = _even(short * scale), _even(long_ * scale)
        width, height = (out_long, out_short) if disp_w >= disp_h else (out_short, out_long)
        frame_rate = _frame_rate(video.frame_rate, rung, preset)
        max_kbps = _max_kbps(width, height, frame_rate, preset)
        renditions.append(
            Rendition(
                name=rung.name,
                width=width,
                height=height,
                frame_rate=frame_rate,
                max_kbps=max_kbps,
                level=h264_level(width, height, frame_rate or 30.0, max_kbps),
                video=preset.video,
            )
        )
    return renditions


def _frame_rate(source: float | None, rung: Rung, preset: LadderPreset) -> float | None:
    if source is None or source <= 0:
        return None
    rate = min(source, preset.max_frame_rate)
    if rung.short_side < preset.halve_frame_rate_below and rate > 30.5:
        rate /= 2
    return round(rate, 3)


def _max_kbps(width: int, height: int, frame_rate: float | None, preset: LadderPreset) -> int:
    ratio = width * height * (frame_rate or 30.0) / REFERENCE_PIXEL_RATE
    return max(100, round(preset.reference_kbps * ratio**preset.bitrate_exponent / 10) * 10)


# H.264 Annex A, Table A-1: level -> (max macroblocks/s, max frame macroblocks, max
# bit rate kbit/s for High profile, which is 1.25x the Baseline/Main figure).
_H264_LEVELS: tuple[tuple[str, int, int, int], ...] = (
    ("3.0", 40_500, 1_620, 12_500),
    ("3.1", 108_000, 3_600, 17_500),
    ("3.2", 216_000, 5_120, 25_000),
    ("4.0", 245_760, 8_192, 25_000),
    ("4.1", 245_760, 8_192, 62_500),
    ("4.2", 522_240, 8_704, 62_500),
    ("5.0", 589_824, 22_080, 168_750),
    ("5.1", 983_040, 36_864, 300_000),
    ("5.2", 2_073_600, 36_864, 300_000),
    ("6.0", 4_177_920, 139_264, 300_000),
)


def h264_level(width: int, height: int, frame_rate: float, max_kbps: int) -> str:
    """The lowest level (3.0 at least, what every device decodes) the rung fits in."""
    frame_mbs = math.ceil(width / 16) * math.ceil(height / 16)
    for level, max_mbps, max_frame, max_rate in _H264_LEVELS:
        if frame_mbs <= max_frame and frame_mbs * frame_rate <= max_mbps and max_kbps <= max_rate:
            return level
    return _H264_LEVELS[-1][0]
