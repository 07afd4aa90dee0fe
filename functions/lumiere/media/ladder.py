"""Plan the renditions of a video from its probe and a preset (a JSON file in presets/)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from lumiere.errors import InvalidRequestError
from lumiere.media.probe import MediaInfo


@dataclass(frozen=True)
class VideoCodecSettings:
    codec: str
    profile: str
    level: str
    preset: str
    crf: int


@dataclass(frozen=True)
class AudioCodecSettings:
    codec: str
    bitrate_kbps: int
    channels: int
    sample_rate: int


@dataclass(frozen=True)
class Rung:
    name: str
    short_side: int
    max_kbps: int


@dataclass(frozen=True)
class LadderPreset:
    name: str
    max_renditions: int
    max_frame_rate: float
    video: VideoCodecSettings
    audio: AudioCodecSettings
    rungs: tuple[Rung, ...]


@dataclass(frozen=True)
class Rendition:
    """One output of the ladder. Width and height are as displayed (rotation applied)."""

    name: str
    width: int
    height: int
    frame_rate: float | None
    max_kbps: int
    video: VideoCodecSettings
    audio: AudioCodecSettings | None

    @property
    def bufsize_kbps(self) -> int:
        return 2 * self.max_kbps


def load_preset(name: str) -> LadderPreset:
    if not name.replace("-", "").replace("_", "").isalnum():
        raise InvalidRequestError(f"Unknown ladder preset {name!r}.")
    try:
        text = resources.files("lumiere.media").joinpath(f"presets/ladder_{name}.json")
        data: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InvalidRequestError(f"Unknown ladder preset {name!r}.") from e
    return LadderPreset(
        name=data["name"],
        max_renditions=int(data["max_renditions"]),
        max_frame_rate=float(data["max_frame_rate"]),
        video=VideoCodecSettings(**data["video"]),
        audio=AudioCodecSettings(**data["audio"]),
        rungs=tuple(sorted((Rung(**r) for r in data["rungs"]), key=lambda r: -r.short_side)),
    )


def _even(value: float) -> int:
    """H.264 with 4:2:0 chroma needs even dimensions."""
    return max(2, round(value / 2.0) * 2)


def plan_ladder(info: MediaInfo, preset: LadderPreset) -> list[Rendition]:
    """The highest rungs the source can fill, never upscaled, aspect kept.

    Rungs are named by their short side so portrait video gets the same ladder as
    landscape. A source smaller than every rung gets one rendition at its own size.
    """
    video = info.primary_video
    if video is None:
        return []
    disp_w, disp_h = video.display_size
    short, long_ = min(disp_w, disp_h), max(disp_w, disp_h)
    fits = [r for r in preset.rungs if r.short_side <= short]
    if not fits:
        smallest = preset.rungs[-1]
        fits = [Rung(name=f"{_even(short)}p", short_side=short, max_kbps=smallest.max_kbps)]
    frame_rate = video.frame_rate
    if frame_rate is not None:
        frame_rate = min(frame_rate, preset.max_frame_rate)
    audio = preset.audio if info.audio else None
    renditions: list[Rendition] = []
    for rung in fits[: preset.max_renditions]:
        scale = rung.short_side / short
        out_short, out_long = _even(short * scale), _even(long_ * scale)
        width, height = (out_long, out_short) if disp_w >= disp_h else (out_short, out_long)
        renditions.append(
            Rendition(
                name=rung.name,
                width=width,
                height=height,
                frame_rate=frame_rate,
                max_kbps=rung.max_kbps,
                video=preset.video,
                audio=audio,
            )
        )
    return renditions
