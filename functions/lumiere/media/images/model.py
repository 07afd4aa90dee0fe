"""What the image pipeline takes and gives: its preset, a variant, an image's facts and
what a crop must keep; the preset's loading and the widths it plans."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from PIL import features

from lumiere.media.presets import read_preset
from lumiere.media.smartcrop import Box

Source = bytes | str | os.PathLike[str]
Fit = Literal["cover", "contain", "inside"]

CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "avif": "image/avif",
    "png": "image/png",
}
# The EXIF tags a preset may keep, by the names used in presets/images_*.json.
METADATA_TAGS = {
    "copyright": 0x8298,
    "artist": 0x013B,
    "image_description": 0x010E,
}


@dataclass(frozen=True)
class ImageVariantSpec:
    width: int
    format: str  # "jpeg" | "webp" | "avif"
    quality: int


@dataclass(frozen=True)
class ImagePreset:
    name: str
    widths: tuple[int, ...] = (160, 320, 640, 1280, 2048)  # ascending
    formats: tuple[str, ...] = ("jpeg", "webp", "avif")
    quality: dict[str, int] = field(default_factory=lambda: {"jpeg": 82, "webp": 80, "avif": 60})
    webp_method: int = 4  # libwebp effort 0 (fast) to 6 (small)
    avif_speed: int = 8  # libavif speed 0 (small) to 10 (fast)
    # EXIF tags copied to outputs (names from METADATA_TAGS); everything else is dropped.
    keep_metadata: tuple[str, ...] = ("copyright", "artist")
    max_pixels: int = 8192 * 8192
    native_width_ratio: float = 1.15
    # Frames x width x height of an animation; bounds the memory animated_to_webp uses.
    max_animation_pixels: int = 100_000_000
    description: str = ""

    def specs(self, formats: tuple[str, ...] | None = None) -> list[ImageVariantSpec]:
        """Every (width, format) of the preset, widest first, for the formats given."""
        return [
            ImageVariantSpec(width=w, format=f, quality=self.quality[f])
            for w in sorted(self.widths, reverse=True)
            for f in formats or self.formats
        ]


@dataclass(frozen=True)
class Variant:
    width: int
    height: int
    format: str
    quality: int
    data: bytes = field(repr=False)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def extension(self) -> str:
        return "jpg" if self.format == "jpeg" else self.format

    @property
    def name(self) -> str:
        return f"{self.width}w.{self.extension}"


@dataclass(frozen=True)
class ImageFacts:
    format: str  # Pillow's name of the source format: "JPEG", "PNG"...
    width: int  # upright, as displayed
    height: int
    has_alpha: bool  # some pixel is not fully opaque
    animated: bool
    frame_count: int
    dominant_color: str  # "#rrggbb"
    placeholder: str  # ThumbHash, standard base64


@dataclass(frozen=True)
class CropFocus:
    """What a crop must keep, in fractions (0..1) of the upright source: face boxes
    (left, top, right, bottom) or one point."""

    faces: tuple[tuple[float, float, float, float], ...] = ()
    point: tuple[float, float] | None = None

    def boxes(self, width: int, height: int) -> list[Box]:
        boxes = [
            (round(l * width), round(t * height), round(r * width), round(b * height))
            for l, t, r, b in self.faces  # noqa: E741
        ]
        if not boxes and self.point is not None:
            x, y = round(self.point[0] * width), round(self.point[1] * height)
            boxes = [(x, y, x, y)]
        return boxes


# --------------------------------------------------------------------------- presets


def load_image_preset(name: str = "default") -> ImagePreset:
    data = read_preset("images", name)
    unknown = set(data.get("keep_metadata", ())) - METADATA_TAGS.keys()
    if unknown:
        raise ValueError(f"Image preset {name!r} keeps unknown metadata {sorted(unknown)}")
    return ImagePreset(
        name=name,
        widths=tuple(sorted(data["widths"])),
        formats=tuple(data["formats"]),
        quality=dict(data["quality"]),
        keep_metadata=tuple(data.get("keep_metadata", ())),
        **{
            k: data[k]
            for k in (
                "webp_method",
                "avif_speed",
                "max_pixels",
                "native_width_ratio",
                "max_animation_pixels",
                "description",
            )
            if k in data
        },
    )


_FEATURES = {"jpeg": "jpg", "webp": "webp", "avif": "avif", "png": "zlib"}


@cache
def can_encode(fmt: str) -> bool:
    """Whether this Pillow build writes ``fmt``; AVIF needs Pillow built with libavif."""
    feature = _FEATURES.get(fmt)
    return feature is not None and bool(features.check(feature))


def plan_widths(source_width: int, preset: ImagePreset) -> tuple[int, ...]:
    """The variant widths for a source, widest first; never wider than the source."""
    fits = [w for w in preset.widths if w <= source_width]
    widest = max(fits, default=0)
    if source_width < max(preset.widths) and (
        not fits or source_width >= widest * preset.native_width_ratio
    ):
        fits.append(source_width)
    return tuple(sorted(fits, reverse=True))
