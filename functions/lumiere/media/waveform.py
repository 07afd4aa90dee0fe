"""Waveform peaks in the JSON format of BBC audiowaveform, which wavesurfer.js and
peaks.js load directly, and a PNG rendering of them.

Input is the raw mono s16le PCM that ``commands.build_waveform_pcm_args`` writes to
stdout, fed in chunks of any size: memory stays bounded by the number of points kept,
never by the length of the audio (a 4-hour file at 8 kHz is 230 MB of PCM).
"""

from __future__ import annotations

import io
import math
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageColor, ImageDraw

TARGET_POINTS = 1500
# Never more than this many points are held: past it neighbours are merged in pairs
# (and samples_per_pixel doubles), so a wrong or missing duration cannot grow memory.
MAX_POINTS = 2 * TARGET_POINTS
MIN_SAMPLES_PER_PIXEL = 32


def samples_per_pixel_for(
    duration: float | None, sample_rate: int, target_points: int = TARGET_POINTS
) -> int:
    """Samples per point so a ``duration``-second track gives about ``target_points``
    points (never fewer samples than ``MIN_SAMPLES_PER_PIXEL``, so short clips get a
    waveform with shape rather than one point per sample)."""
    if not duration or duration <= 0:
        return MIN_SAMPLES_PER_PIXEL
    return max(MIN_SAMPLES_PER_PIXEL, math.ceil(duration * sample_rate / target_points))


def to_8bit(value: int) -> int:
    """16-bit to 8-bit as audiowaveform does (``-b 8``): an arithmetic shift, so
    full scale maps to -128..127."""
    return value >> 8


@dataclass
class PeakAccumulator:
    """Min/max per ``samples_per_pixel`` samples, from s16le mono bytes fed in chunks."""

    sample_rate: int
    samples_per_pixel: int
    max_points: int = MAX_POINTS
    _mins: list[int] = field(default_factory=list)
    _maxs: list[int] = field(default_factory=list)
    _carry: bytes = b""  # an odd trailing byte waits for its partner
    # The point being filled: its extremes and how many samples it has so far.
    _open_min: int = 0
    _open_max: int = 0
    _open_count: int = 0

    def __post_init__(self) -> None:
        if self.samples_per_pixel < 1 or self.max_points < 2:
            raise ValueError("samples_per_pixel must be >= 1 and max_points >= 2")

    def feed(self, chunk: bytes) -> None:
        data = self._carry + chunk
        usable = len(data) - len(data) % 2
        self._carry = data[usable:]
        samples = array("h")
        samples.frombytes(data[:usable])
        if sys.byteorder == "big":  # the PCM is little-endian whatever the host
            samples.byteswap()
        # One step per point (min/max of a slice run in C), not per sample.
        pos = 0
        while pos < len(samples):
            take = min(self.samples_per_pixel - self._open_count, len(samples) - pos)
            block = samples[pos : pos + take]
            self._extend_open(min(block), max(block), take)
            pos += take
            if self._open_count >= self.samples_per_pixel:
                self._close_point()

    def feed_all(self, chunks: Iterable[bytes]) -> PeakAccumulator:
        for chunk in chunks:
            self.feed(chunk)
        return self

    def _extend_open(self, low: int, high: int, count: int) -> None:
        if self._open_count:
            low, high = min(low, self._open_min), max(high, self._open_max)
        self._open_min, self._open_max = low, high
        self._open_count += count

    def _close_point(self) -> None:
        self._mins.append(self._open_min)
        self._maxs.append(self._open_max)
        self._open_count = 0
        if len(self._mins) >= self.max_points:
            self._halve()

    def _halve(self) -> None:
        """Merge neighbouring points: the same waveform at half the resolution. An odd
        last point becomes the open one, half full, so every point spans the same time."""
        mins, maxs = self._mins, self._maxs
        if len(mins) % 2:
            self._extend_open(mins.pop(), maxs.pop(), self.samples_per_pixel)
        self._mins = [min(mins[i], mins[i + 1]) for i in range(0, len(mins), 2)]
        self._maxs = [max(maxs[i], maxs[i + 1]) for i in range(0, len(maxs), 2)]
        self.samples_per_pixel *= 2

    def finish(self) -> Peaks:
        """The peaks so far, with a trailing partial point (a short last block counts)."""
        mins, maxs = list(self._mins), list(self._maxs)
        if self._open_count:
            mins.append(self._open_min)
            maxs.append(self._open_max)
        return Peaks(
            sample_rate=self.sample_rate,
            samples_per_pixel=self.samples_per_pixel,
            mins=tuple(to_8bit(v) for v in mins),
            maxs=tuple(to_8bit(v) for v in maxs),
        )


@dataclass(frozen=True)
class Peaks:
    sample_rate: int
    samples_per_pixel: int
    mins: tuple[int, ...]  # 8-bit, -128..127
    maxs: tuple[int, ...]

    @property
    def length(self) -> int:
        return len(self.mins)

    def to_json(self) -> dict[str, Any]:
        """audiowaveform's version 2 JSON: ``data`` interleaves min and max per point."""
        data = [v for pair in zip(self.mins, self.maxs, strict=True) for v in pair]
        return {
            "version": 2,
            "channels": 1,
            "sample_rate": self.sample_rate,
            "samples_per_pixel": self.samples_per_pixel,
            "bits": 8,
            "length": self.length,
            "data": data,
        }


def compute_peaks(
    chunks: Iterable[bytes],
    *,
    sample_rate: int,
    duration: float | None = None,
    target_points: int = TARGET_POINTS,
) -> Peaks:
    """Peaks of s16le mono PCM, about ``target_points`` long when ``duration`` is known
    (and at most ``2 * target_points`` whatever the length)."""
    spp = samples_per_pixel_for(duration, sample_rate, target_points)
    accumulator = PeakAccumulator(sample_rate, spp, max_points=2 * target_points)
    return accumulator.feed_all(chunks).finish()


def _rgba(color: str | tuple[int, ...]) -> tuple[int, int, int, int]:
    rgba = ImageColor.getrgb(color) if isinstance(color, str) else tuple(color)
    return (*rgba[:3], rgba[3] if len(rgba) > 3 else 255)  # type: ignore[return-value]


def render_waveform_png(
    peaks: Peaks,
    width: int,
    height: int,
    color: str | tuple[int, ...] = "#3b82f6",
    background: str | tuple[int, ...] = (0, 0, 0, 0),
) -> bytes:
    """A PNG of the waveform: per pixel column, a line from the lowest to the highest
    value of the points that fall in it. Transparent background by default, so the page
    chooses what is behind it."""
    if width < 1 or height < 2:
        raise ValueError("the image needs a width of at least 1 and a height of at least 2")
    image = Image.new("RGBA", (width, height), _rgba(background))
    draw = ImageDraw.Draw(image)
    middle = (height - 1) / 2
    if peaks.length:
        for x in range(width):
            first = x * peaks.length // width
            last = max(first + 1, (x + 1) * peaks.length // width)
            low = min(peaks.mins[first:last])
            high = max(peaks.maxs[first:last])
            # 8-bit values: +127 at the top row, -128 at the bottom
            top = round(middle - high / 128 * middle)
            bottom = round(middle - low / 128 * middle)
            draw.line([(x, top), (x, bottom)], fill=_rgba(color))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
