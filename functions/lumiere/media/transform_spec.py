"""The options of an on-the-fly image transformation, as they appear in a URL.

``w_640,h_360,fit_cover,f_auto,q_80``: comma-separated ``key_value`` pairs in any order;
``t_12.5`` takes a video's frame at that second instead of its poster (Mux's
``thumbnail.jpg?time=``, Cloudflare Stream's ``?time=``); ``dpr_2`` renders a 2x picture
for the box (``srcset``); ``g_north`` or ``g_0.3x0.2`` places a cover crop by hand where
smart crop would choose; ``bg_1a2b3c`` paints contain's padding and what shows through
a transparent picture saved as JPEG; ``d_2`` (with ``t_``, from 0 without) makes a
looping animation of that many seconds from that moment (Mux's ``animated.webp``), as
animated WebP or GIF at ``fps_`` frames a second. ``rot_90`` turns the picture a
quarter turn clockwise (180, 270) and ``crop_0.1x0.2x0.5x0.5`` keeps a region of it
(left, top, width, height in fractions of the turned picture) before it is fitted into
the box; ``bl_20`` blurs the result (a Gaussian of that many CSS pixels). Parsing is
strict (unknown keys, duplicates and out-of-range values are refused) and the canonical
form sorts the keys, so one picture has one signature and one cache key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from lumiere.errors import InvalidRequestError
from lumiere.media.reframe import ROTATIONS, Region, turned_size

FITS = ("cover", "contain", "inside")
FORMATS = ("jpeg", "webp", "avif", "png")
MAX_SIDE = 4096
# A day of video: longer than any film, short enough that a typo is caught here.
MAX_TIME_SECONDS = 86_400
_PAIR = re.compile(r"^([a-z]+)_([a-z0-9.]+)$")
# Seconds with at most millisecond precision: one frame at 1000 fps, so a finer time
# would name the same picture under another cache key.
_TIME = re.compile(r"^\d{1,5}(\.\d{1,3})?$")
_DPR = re.compile(r"^[1-4](\.\d{1,2})?$")
_HEX = re.compile(r"^[0-9a-f]{6}$")
_FRACTION = r"(?:0(?:\.\d{1,3})?|1(?:\.0{1,3})?)"
_FOCAL_POINT = re.compile(rf"^({_FRACTION})x({_FRACTION})$")
_REGION = re.compile(rf"^({_FRACTION})x({_FRACTION})x({_FRACTION})x({_FRACTION})$")
MAX_BLUR = 100
# Where a named gravity puts the crop: the point (fractions of the picture) it centres
# on, which the crop window's edges then clamp to the picture's.
GRAVITIES: dict[str, tuple[float, float]] = {
    "center": (0.5, 0.5),
    "north": (0.5, 0.0),
    "south": (0.5, 1.0),
    "east": (1.0, 0.5),
    "west": (0.0, 0.5),
    "northeast": (1.0, 0.0),
    "northwest": (0.0, 0.0),
    "southeast": (1.0, 1.0),
    "southwest": (0.0, 1.0),
}
# Preference when the client accepts several: smallest files first.
_AUTO_ORDER = ("avif", "webp", "jpeg")
CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "avif": "image/avif",
    "png": "image/png",
    "gif": "image/gif",
}
# Animations: animated WebP where the client takes it, else GIF, which everything shows.
ANIMATION_FORMATS = ("webp", "gif")
MAX_ANIMATION_SECONDS = 10.0  # Mux's limit too: a preview, not a clip
MAX_ANIMATION_SIDE = 640  # every frame is encoded: the cost grows with the area
DEFAULT_ANIMATION_FPS = 12


@dataclass(frozen=True)
class TransformSpec:
    width: int | None = None
    height: int | None = None
    fit: str = "inside"
    format: str = "auto"
    quality: int = 80
    smart: bool = True  # smart crop (faces, else detail) when fit=cover
    time: float | None = None  # a video's frame at this second, instead of its poster
    dpr: float = 1.0  # device pixel ratio: the box is in CSS pixels
    gravity: str = "auto"  # auto (smart crop), a GRAVITIES name, or a focal point "XxY"
    background: str | None = None  # rrggbb; white when not given
    duration: float | None = None  # an animation of this many seconds from ``time``
    fps: int | None = None  # the animation's frames a second
    rotation: int = 0  # quarter turns clockwise, in degrees, before the crop and fit
    region: Region | None = None  # the part kept, in fractions of the turned picture
    blur: float = 0  # Gaussian blur radius in CSS pixels of the box

    def canonical(self) -> str:
        # Options at their defaults are left out when they came after the first links
        # were signed (bg, d, dpr, fps, g, t), so those links keep their cache keys.
        region = self.region
        parts = {
            "bg": self.background,
            "bl": _decimal(self.blur, 1) if self.blur else None,
            "crop": "x".join(
                _decimal(v, 3) for v in (region.left, region.top, region.width, region.height)
            )
            if region
            else None,
            "rot": str(self.rotation) if self.rotation else None,
            "d": format_seconds(self.duration) if self.duration is not None else None,
            "dpr": _decimal(self.dpr, 2) if self.dpr != 1 else None,
            "fps": str(self.fps) if self.fps is not None else None,
            "g": self.gravity if self.gravity != "auto" else None,
            "f": self.format,
            "fit": self.fit,
            "h": str(self.height) if self.height else None,
            "q": str(self.quality),
            "sc": "1" if self.smart else "0",
            "t": format_seconds(self.time) if self.time is not None else None,
            "w": str(self.width) if self.width else None,
        }
        return ",".join(f"{k}_{v}" for k, v in sorted(parts.items()) if v is not None)

    def resolved(
        self, accept: str | None, has_alpha: bool = False, available: tuple[str, ...] = FORMATS
    ) -> TransformSpec:
        """``f_auto`` becomes the best format the client says it accepts and this build
        of the image library can write."""
        if self.format != "auto":
            return self
        accepted = (accept or "").lower()
        if self.duration is not None:
            return replace(self, format="webp" if CONTENT_TYPES["webp"] in accepted else "gif")
        for fmt in _AUTO_ORDER:
            if fmt in available and CONTENT_TYPES[fmt] in accepted:
                return replace(self, format=fmt)
        return replace(self, format="png" if has_alpha else "jpeg")

    @property
    def extension(self) -> str:
        return "jpg" if self.format == "jpeg" else self.format

    def pixel_scale(self) -> float:
        """Pixels per CSS pixel of the box: ``dpr``, less when a side would pass MAX_SIDE."""
        sides = [side for side in (self.width, self.height) if side]
        return min(self.dpr, MAX_SIDE / max(sides)) if sides else self.dpr

    def pixel_box(self) -> tuple[int | None, int | None]:
        """The box in pixels: the CSS box times ``dpr``, scaled down as a whole (shape
        kept) when a side would pass MAX_SIDE."""
        factor = self.pixel_scale()
        return (
            round(self.width * factor) if self.width else None,
            round(self.height * factor) if self.height else None,
        )

    def source_box(self) -> tuple[float | None, float | None]:
        """The size the whole source (before the turn and the crop) must have for the
        part kept to fill the pixel box: what a video's rendition is chosen by."""
        width, height = self.pixel_box()
        if self.region is not None:
            width = width / self.region.width if width else None
            height = height / self.region.height if height else None
        source_w, source_h = turned_size(width or 0, height or 0, self.rotation)
        return source_w or None, source_h or None

    @property
    def pixel_blur(self) -> float:
        return self.blur * self.pixel_scale()

    def focus_point(self) -> tuple[float, float] | None:
        """Where a cover crop centres by hand; None: smart crop chooses."""
        if self.gravity in GRAVITIES:
            return GRAVITIES[self.gravity]
        if self.gravity != "auto":
            x, _, y = self.gravity.partition("x")
            return float(x), float(y)
        return None if self.smart else GRAVITIES["center"]

    @property
    def background_rgb(self) -> tuple[int, int, int]:
        colour = self.background or "ffffff"
        return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def _decimal(value: float, places: int) -> str:
    return f"{value:.{places}f}".rstrip("0").rstrip(".")


def format_seconds(seconds: float) -> str:
    """``12.5``, ``12``, ``0.04``: milliseconds at most, no trailing zeros, so ``t_12``
    and ``t_12.000`` share one canonical form."""
    return _decimal(seconds, 3)


def _dpr(value: str) -> float:
    if not _DPR.match(value) or not 1 <= float(value) <= 4:
        raise InvalidRequestError("dpr must be a pixel ratio from 1 to 4 (dpr_2, dpr_1.5).")
    return round(float(value), 2)


def _gravity(value: str) -> str:
    if value == "auto" or value in GRAVITIES:
        return value
    point = _FOCAL_POINT.match(value)
    if point is None:
        raise InvalidRequestError(
            f"g must be auto, one of {', '.join(GRAVITIES)}, or a focal point XxY in "
            "fractions of the picture (g_0.5x0.25)."
        )
    return "x".join(_decimal(float(v), 3) for v in point.groups())


def _background(value: str) -> str:
    if not _HEX.match(value):
        raise InvalidRequestError("bg must be a colour as six hex digits (bg_1a2b3c).")
    return value


def _rotation(value: str) -> int:
    if not value.isdigit() or int(value) not in ROTATIONS:
        raise InvalidRequestError("rot must be 90, 180 or 270 (degrees clockwise).")
    return int(value)


def _region(value: str) -> Region:
    match = _REGION.match(value)
    if match is None:
        raise InvalidRequestError(
            "crop must be left x top x width x height in fractions of the picture, with at "
            "most three decimals (crop_0.1x0.2x0.5x0.5)."
        )
    left, top, width, height = (float(v) for v in match.groups())
    if width == 0 or height == 0 or left + width > 1.0005 or top + height > 1.0005:
        raise InvalidRequestError(
            "crop must keep part of the picture: width and height above 0, and left + width "
            "and top + height at most 1."
        )
    return Region(left, top, min(width, 1 - left), min(height, 1 - top))


def _blur(value: str) -> float:
    if not re.fullmatch(r"\d{1,3}(\.\d)?", value) or not 0 < float(value) <= MAX_BLUR:
        raise InvalidRequestError(
            f"bl must be a blur radius in pixels above 0 and at most {MAX_BLUR} (bl_20, bl_2.5)."
        )
    return round(float(value), 1)


def _time(value: str) -> float:
    if not _TIME.match(value) or float(value) > MAX_TIME_SECONDS:
        raise InvalidRequestError(
            f"t must be a time in seconds from 0 to {MAX_TIME_SECONDS}, "
            "with at most three decimals (t_12.5)."
        )
    return round(float(value), 3)


def _int(key: str, value: str, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise InvalidRequestError(f"{key} must be a whole number from {low} to {high}.")
    return int(value)


def parse_transform(text: str) -> TransformSpec:
    seen: dict[str, str] = {}
    for item in text.split(","):
        match = _PAIR.match(item.strip())
        if not match:
            raise InvalidRequestError(
                f"Bad option {item!r}: use key_value pairs such as w_640,h_360,fit_cover,f_auto."
            )
        key, value = match.groups()
        if key in seen:
            raise InvalidRequestError(f"Option {key} is given twice.")
        seen[key] = value
    unknown = set(seen) - {
        "w", "h", "fit", "f", "q", "sc", "t", "dpr", "g", "bg", "d", "fps", "rot", "crop", "bl",
    }  # fmt: skip
    if unknown:
        raise InvalidRequestError(f"Unknown option(s): {', '.join(sorted(unknown))}.")
    width = _int("w", seen["w"], 1, MAX_SIDE) if "w" in seen else None
    height = _int("h", seen["h"], 1, MAX_SIDE) if "h" in seen else None
    if width is None and height is None:
        raise InvalidRequestError("Give a width (w_), a height (h_) or both.")
    fit = seen.get("fit", "cover" if width and height else "inside")
    if fit not in FITS:
        raise InvalidRequestError(f"fit must be one of {', '.join(FITS)}.")
    fmt = seen.get("f", "auto")
    if fmt not in (*FORMATS, "auto") and not (fmt == "gif" and "d" in seen):
        raise InvalidRequestError(f"f must be auto or one of {', '.join(FORMATS)}.")
    quality = _int("q", seen["q"], 1, 100) if "q" in seen else 80
    smart = seen.get("sc", "1") != "0"
    time = _time(seen["t"]) if "t" in seen else None
    dpr = _dpr(seen["dpr"]) if "dpr" in seen else 1.0
    gravity = _gravity(seen["g"]) if "g" in seen else "auto"
    if gravity != "auto" and fit != "cover":
        raise InvalidRequestError("g places a crop: it needs fit_cover (a width and a height).")
    if gravity != "auto" and "sc" in seen:
        raise InvalidRequestError("Give g (where to crop) or sc (smart crop on or off), not both.")
    background = _background(seen["bg"]) if "bg" in seen else None
    spec = TransformSpec(
        width, height, fit, fmt, quality, smart, time, dpr, gravity, background,
        rotation=_rotation(seen["rot"]) if "rot" in seen else 0,
        region=_region(seen["crop"]) if "crop" in seen else None,
        blur=_blur(seen["bl"]) if "bl" in seen else 0,
    )  # fmt: skip
    if "d" in seen:
        if {"rot", "crop", "bl"} & set(seen):
            raise InvalidRequestError("rot, crop and bl apply to still pictures, not to d_.")
        return _animation(spec, seen)
    if "fps" in seen:
        raise InvalidRequestError("fps is the frame rate of an animation: give d_ too.")
    return spec


def _animation(spec: TransformSpec, seen: dict[str, str]) -> TransformSpec:
    """An animation keeps its whole picture, in a small box, as WebP or GIF."""
    duration = _time(seen["d"])
    if not 0.1 <= duration <= MAX_ANIMATION_SECONDS:
        raise InvalidRequestError(
            f"d must be from 0.1 to {MAX_ANIMATION_SECONDS:g} seconds of animation."
        )
    fps = _int("fps", seen["fps"], 1, 30) if "fps" in seen else DEFAULT_ANIMATION_FPS
    if seen.get("fit", "inside") != "inside" or spec.gravity != "auto":
        raise InvalidRequestError(
            "An animation keeps its whole picture: use fit_inside, without g_."
        )
    if spec.format not in ("auto", *ANIMATION_FORMATS):
        raise InvalidRequestError("An animation is f_auto, f_webp or f_gif.")
    if any(side and side > MAX_ANIMATION_SIDE for side in spec.pixel_box()):
        raise InvalidRequestError(
            f"An animation is at most {MAX_ANIMATION_SIDE} pixels a side (w_ and h_ times dpr_)."
        )
    return replace(spec, fit="inside", time=spec.time or 0.0, duration=duration, fps=fps)
