"""The CLI's progress lines: short in logs (a line per quarter or new status), redrawn
in place on a terminal."""

from __future__ import annotations

import io

from lumiere_dev.progress import ProgressBoard, render_bar


def test_bar_fills_with_the_fraction_and_clamps() -> None:
    assert render_bar(0.5, width=10) == "[#####.....]  50%"
    assert render_bar(1.7, width=4) == "[####] 100%"
    assert render_bar(-1, width=4) == "[....]   0%"


def test_log_gets_a_line_per_quarter_and_per_status() -> None:
    out = io.StringIO()
    board = ProgressBoard(out, tty=False)
    board.add("a", "clip.mp4")
    for sent in range(0, 101):
        board.update("a", fraction=sent / 100, text=f"uploading {sent} of 100")
    board.update("a", fraction=0.0, text="CREATED")
    board.update("a", text="CREATED")  # nothing new: no line
    board.update("a", fraction=1.0, text="READY")
    lines = out.getvalue().splitlines()
    percents = [line.split("]")[1].split("%")[0].strip() for line in lines]
    assert percents == ["0", "25", "50", "75", "100", "0", "100"]
    assert lines[-1].endswith("READY")


def test_terminal_redraws_every_row_in_place() -> None:
    out = io.StringIO()
    board = ProgressBoard(out, tty=True)
    board.add("a", "a.mp4")
    board.add("b", "b.png")
    board.update("b", fraction=0.5, text="PROCESSING 50%")
    text = out.getvalue()
    # each redraw moves up over the rows already drawn (one, then two) and rewrites all
    assert text.count("\x1b[1F") == 1
    assert text.count("\x1b[2F") == 1
    frames = text.split("\x1b[2F")
    assert frames[-1].count("\x1b[2K") == 2
    assert "b.png  [############............]  50%  PROCESSING 50%" in frames[-1]


def test_an_import_row_counts_its_bytes_of_the_total_when_known() -> None:
    from lumiere_dev.commands import _importing

    assert _importing({"received": 10_000_000, "total": 40_000_000}) == (
        "importing 10.0 MB of 40.0 MB",
        0.25,
    )
    assert _importing({"received": 3_000_000}) == ("importing 3.0 MB", 0.0)
