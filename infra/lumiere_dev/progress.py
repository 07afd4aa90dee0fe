"""Progress lines for the CLI, one per file, without a dependency.

On a terminal the lines are redrawn in place; anywhere else (a pipe, a CI log) a line is
printed only when something worth reading changed: the status, or another quarter of the
bytes or of the processing, so logs stay short and still show the progress."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO

BAR_WIDTH = 24


@dataclass
class _Row:
    label: str
    fraction: float = 0.0
    text: str = ""
    reported: tuple[str, int] | None = None


def render_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    fraction = min(1.0, max(0.0, fraction))
    filled = round(fraction * width)
    return "[" + "#" * filled + "." * (width - filled) + f"] {int(fraction * 100):3d}%"


class ProgressBoard:
    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.rows: dict[str, _Row] = {}
        self._drawn = 0
        self._width = 0

    def add(self, key: str, label: str) -> None:
        self.rows[key] = _Row(label)
        self._width = max(self._width, min(len(label), 32))
        if self.tty:  # a log gets its first line with the first news
            self._redraw()

    def update(self, key: str, *, fraction: float | None = None, text: str | None = None) -> None:
        row = self.rows[key]
        if fraction is not None:
            row.fraction = fraction
        if text is not None:
            row.text = text
        self._emit(key)

    def _line(self, row: _Row) -> str:
        label = row.label if len(row.label) <= 32 else row.label[:31] + "…"
        return f"{label:<{self._width}}  {render_bar(row.fraction)}  {row.text}"

    def _emit(self, key: str) -> None:
        if self.tty:
            self._redraw()
            return
        row = self.rows[key]
        # A line per quarter, and one whenever the words change (a new status).
        seen = (row.text.split(" ")[0], int(min(1.0, row.fraction) * 4))
        if seen != row.reported:
            row.reported = seen
            print(self._line(row), file=self.stream, flush=True)

    def _redraw(self) -> None:
        out = self.stream
        if self._drawn:
            out.write(f"\x1b[{self._drawn}F")  # back to the first line drawn
        for row in self.rows.values():
            out.write("\x1b[2K" + self._line(row) + "\n")
        self._drawn = len(self.rows)
        out.flush()
