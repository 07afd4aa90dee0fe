"""Media made on demand with ffmpeg's lavfi sources: nothing large is committed."""

from __future__ import annotations

from pathlib import Path

from lumiere.media.tools import find_binaries, run_tool


def _ffmpeg(*args: str) -> None:
    quiet = ["-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    run_tool([str(find_binaries().ffmpeg), *quiet, *args], timeout=120)


def make_clip(
    path: Path,
    *,
    seconds: float = 6.0,
    width: int = 1280,
    height: int = 720,
    rate: int = 25,
    audio: bool = True,
) -> Path:
    """A test-card clip with a 440 Hz tone: H.264/AAC in MP4."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac", "-b:a", "96k"]
    path.parent.mkdir(parents=True, exist_ok=True)
    _ffmpeg(*args, "-movflags", "+faststart", str(path))
    return path


def make_tone(path: Path, *, seconds: float = 3.0) -> Path:
    """A stereo WAV tone (audio-only upload)."""
    tone = f"sine=frequency=330:sample_rate=44100:duration={seconds}"
    _ffmpeg("-f", "lavfi", "-i", tone, "-ac", "2", str(path))
    return path


def make_image(path: Path, *, width: int = 800, height: int = 600) -> Path:
    """A still image (PNG or JPEG by suffix)."""
    card = f"testsrc2=size={width}x{height}:rate=1"
    _ffmpeg("-f", "lavfi", "-i", card, "-frames:v", "1", str(path))
    return path
