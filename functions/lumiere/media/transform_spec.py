"""The options of an on-the-fly image transformation, as they appear in a URL.

``w_640,h_360,fit_cover,f_auto,q_80``: comma-separated ``key_value`` pairs in any order;
``t_12.5`` takes a video's frame at that second instead of its poster (Mux's
``thumbnail.jpg?time=``, Cloudflare Stream's ``?time=``). Parsing is strict (unknown keys,
duplicates and out-of-range values are refused) and the canonical form sorts the keys, so
one picture has one signature and one cache key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from lumiere.errors import InvalidRequestError

FITS = ("cover", "contain", "inside")
FORMATS = ("jpeg", "webp", "avif", "png")
MAX_SIDE = 4096
# A day of video: longer than any film, short enough that a typo is caught here.
MAX_TIME_SECONDS = 86_400
_PAIR = re.compile(r"^([a-z]+)_([a-z0-9.]+)$")
# Seconds with at most millisecond precision: one frame at 1000 fps, so a finer time
# would name the same picture under another cache key.
_TIME = re.compile(r"^\d{1,5}(\.\d{1,3})?$")
# Preference when the client accepts several: smallest files first.
_AUTO_ORDER = ("avif", "webp", "jpeg")
CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "avif": "image/avif",
    "png": "image/png",
}


@dataclass(frozen=True)
class TransformSpec:
    width: int | None = None
    height: int | None = None
    fit: str = "inside"
    format: str = "auto"
    quality: int = 80
    smart: bool = True  # smart crop (faces, else detail) when fit=cover
    time: float | None = None  # a video's frame at this second, instead of its poster

    def canonical(self) -> str:
        parts = {
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
        for fmt in _AUTO_ORDER:
            if fmt in available and CONTENT_TYPES[fmt] in accepted:
                return replace(self, format=fmt)
        return replace(self, format="png" if has_alpha else "jpeg")

    @property
    def extension(self) -> str:
        return "jpg" if self.format == "jpeg" else self.format


def format_seconds(seconds: float) -> str:
    """``12.5``, ``12``, ``0.04``: milliseconds at most, no trailing zeros, so ``t_12``
    and ``t_12.000`` share one canonical form."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


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
    unknown = set(seen) - {"w", "h", "fit", "f", "q", "sc", "t"}
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
    if fmt not in (*FORMATS, "auto"):
        raise InvalidRequestError(f"f must be auto or one of {', '.join(FORMATS)}.")
    quality = _int("q", seen["q"], 1, 100) if "q" in seen else 80
    smart = seen.get("sc", "1") != "0"
    time = _time(seen["t"]) if "t" in seen else None
    return TransformSpec(width, height, fit, fmt, quality, smart, time)
