"""Media made on demand with ffmpeg's lavfi sources: nothing large is committed."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

from lumiere.media.isobmff import find
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
    rate: float = 25,
    audio: bool = True,
    languages: Sequence[str] = (),
    channels: int = 1,
    gain_db: float = 0.0,
    rotation: int = 0,
) -> Path:
    """A test-card clip with tones: H.264/AAC in MP4.

    ``languages`` gives one audio track per language (each its own pitch); ``rotation``
    stores a display rotation as phones do (the pixels stay landscape).
    """
    args = ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={rate}:duration={seconds}"]
    tracks = list(languages) or ([""] if audio else [])
    for n, _ in enumerate(tracks):
        tone = f"sine=frequency={440 + 110 * n}:sample_rate=48000:duration={seconds}"
        args += ["-f", "lavfi", "-i", tone]
    args += ["-map", "0:v"]
    for n, language in enumerate(tracks):
        args += ["-map", f"{n + 1}:a"]
        if language:
            args += [f"-metadata:s:a:{n}", f"language={language}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if tracks:
        args += ["-c:a", "aac", "-b:a", "96k", "-ac", str(channels)]
        if gain_db:
            args += ["-af", f"volume={gain_db}dB"]
    path.parent.mkdir(parents=True, exist_ok=True)
    _ffmpeg(*args, "-movflags", "+faststart", str(path))
    if rotation:
        set_display_rotation(path, rotation)
    return path


# tkhd display matrices (ISO/IEC 14496-12 8.3.2), 16.16 fixed point, w in 2.30.
_ROTATIONS = {
    90: (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000),
    180: (-0x10000, 0, 0, 0, -0x10000, 0, 0, 0, 0x40000000),
    270: (0, -0x10000, 0, 0x10000, 0, 0, 0, 0, 0x40000000),
}


def set_display_rotation(path: Path, degrees: int) -> None:
    """Write a display rotation into the first track's header, as a phone does (ffmpeg
    6.0 has no option for it). The pixels stay as they are; players turn the picture."""
    data = bytearray(path.read_bytes())
    tkhd = find(bytes(data), "moov/trak/tkhd")
    if tkhd is None:
        raise ValueError(f"{path} has no track header")
    offset = tkhd.payload + (52 if data[tkhd.payload] == 1 else 40)
    struct.pack_into(">9i", data, offset, *_ROTATIONS[degrees])
    path.write_bytes(bytes(data))


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
