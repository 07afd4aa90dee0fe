"""Turn ffmpeg's ``-progress`` key=value stream into a throttled percentage."""

from __future__ import annotations

import time
from collections.abc import Callable


class ProgressMeter:
    """Feeds ``report(percent)`` from ffmpeg progress lines, at most every
    ``min_interval`` seconds and only when the whole percentage moved: each report is a
    DynamoDB write, and a 4-hour encode prints a line block every half second."""

    def __init__(
        self,
        duration_seconds: float | None,
        report: Callable[[int], None],
        *,
        min_interval: float = 2.0,
        start: int = 0,
        end: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._duration = duration_seconds if duration_seconds and duration_seconds > 0 else None
        self._report = report
        self._min_interval = min_interval
        self._start, self._end = start, end
        self._clock = clock
        self._last_time = float("-inf")
        self._last_value = start

    def feed(self, line: str) -> None:
        key, _, value = line.partition("=")
        if key == "progress" and value.strip() == "end":
            self._emit(self._end, force=True)
        elif key == "out_time_us" and self._duration:
            try:
                seconds = int(value) / 1_000_000
            except ValueError:  # "N/A" before the first frame
                return
            fraction = min(1.0, max(0.0, seconds / self._duration))
            self._emit(self._start + int(fraction * (self._end - self._start)))

    def _emit(self, value: int, *, force: bool = False) -> None:
        now = self._clock()
        if value <= self._last_value:
            return
        if not force and now - self._last_time < self._min_interval:
            return
        self._last_time, self._last_value = now, value
        self._report(value)
