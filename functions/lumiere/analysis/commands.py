"""The ffmpeg command lines of the analysis step, built as argument lists.

Building is pure (ffmpeg-python assembles the filter graph; nothing runs here) so the
exact arguments are unit-tested. Uploads are read with the same guarded input options as
``lumiere.media.commands`` (protocol, demuxer and decoder allow-lists). Commands whose
stdout is binary (raw frames, PCM) run through ``lumiere.media.tools.run_tool_chunks``.
"""

from __future__ import annotations

import re

import ffmpeg

from lumiere.media.commands import upload_input

_GLOBAL = ["-hide_banner", "-nostdin", "-y"]
_QUIET = [*_GLOBAL, "-loglevel", "error"]

FRAME_MAX_WIDTH = 640  # Haar cascades find faces down to ~24 px; 640 wide is plenty
FRAME_EVERY_SECONDS = 5.0
SCENE_THRESHOLD = 0.4
# A strobe or a fast montage could otherwise pick every frame as a scene change.
SCENE_MIN_GAP_SECONDS = 0.5
SPEECH_SAMPLE_RATE = 16000  # what pocketsphinx's US English model and Moonshine read
SILENCE_NOISE_DB = -50.0
SILENCE_MIN_SECONDS = 0.5


# --- video frames for face detection ---


def frame_size(width: int, height: int, max_width: int = FRAME_MAX_WIDTH) -> tuple[int, int]:
    """The size frames are decoded to: at most ``max_width`` wide, aspect kept, both even.

    Computed here rather than left to ffmpeg (``scale=-2``) because raw frames on a pipe
    carry no header: the reader must know each frame's byte count in advance.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"bad frame size {width}x{height}")
    w = min(width, max_width)
    h = round(height * w / width)
    return max(2, w - w % 2), max(2, h - h % 2)


def frame_select_expr(every_seconds: float, scene_threshold: float) -> str:
    """One ``select`` expression for both sampling rules: the first frame, then a frame
    whenever ``every_seconds`` passed since the last one picked (the ``fps=1/N`` rule),
    or a scene change well away from the last pick. One filter instead of two branches
    merged keeps every frame in time order and picked once."""
    return (
        "isnan(prev_selected_t)"
        f"+gte(t-prev_selected_t,{every_seconds:g})"
        f"+gt(scene,{scene_threshold:g})*gte(t-prev_selected_t,{SCENE_MIN_GAP_SECONDS:g})"
    )


def build_frames_args(
    ffmpeg_bin: str,
    source_url: str,
    size: tuple[int, int],
    *,
    every_seconds: float = FRAME_EVERY_SECONDS,
    scene_threshold: float = SCENE_THRESHOLD,
    stream: str = "v:0",
) -> list[str]:
    """Sampled frames as raw rgb24 on stdout (``size`` from ``frame_size``), each frame's
    time printed by ``showinfo`` on stderr (raw video carries no timestamps)."""
    width, height = size
    video = (
        upload_input(source_url)[stream]
        .filter("select", frame_select_expr(every_seconds, scene_threshold))
        .filter("scale", width, height)
        .filter("setsar", 1)
        .filter("showinfo")
    )
    out = ffmpeg.output(
        video,
        "pipe:1",
        f="rawvideo",
        pix_fmt="rgb24",
        # Passthrough: exactly the picked frames, never duplicates to fill a frame rate.
        fps_mode="passthrough",
        an=None,
        sn=None,
    )
    # showinfo reports at the info level.
    return [ffmpeg_bin, *_GLOBAL, "-loglevel", "info", *out.get_args()]


_SHOWINFO = re.compile(r"Parsed_showinfo.*?\bn:\s*(\d+)\s.*?\bpts_time:\s*(-?[\d.]+)")


def parse_showinfo_time(line: str) -> float | None:
    match = _SHOWINFO.search(line)
    return float(match.group(2)) if match else None


# --- audio ---


def build_speech_pcm_args(
    ffmpeg_bin: str,
    source_url: str,
    *,
    stream: str = "a:0",
    start: float | None = None,
    seconds: float | None = None,
    sample_rate: int = SPEECH_SAMPLE_RATE,
) -> list[str]:
    """Mono signed 16-bit little-endian PCM at 16 kHz on stdout, for speech recognition
    and the speech heuristic. ``start``/``seconds`` read a window only (an input seek, so
    only the bytes around it are fetched)."""
    options: dict[str, str] = {}
    if start is not None:
        options["ss"] = f"{start:.3f}"
    if seconds is not None:
        options["t"] = f"{seconds:.3f}"
    out = ffmpeg.output(
        upload_input(source_url, **options)[stream],
        "pipe:1",
        f="s16le",
        acodec="pcm_s16le",
        ac=1,
        ar=sample_rate,
    )
    return [ffmpeg_bin, *_QUIET, *out.get_args()]


def build_speech_flac_args(
    ffmpeg_bin: str, source_url: str, out: str, *, stream: str = "a:0"
) -> list[str]:
    """The speech track as 16 kHz mono FLAC, for a speech service that reads files
    (Amazon Transcribe takes a few containers only, not mov, mkv or avi): a minute is
    about 1 MB, and nothing but the audio of the upload is handed over."""
    out_node = ffmpeg.output(
        upload_input(source_url)[stream],
        out,
        f="flac",
        acodec="flac",
        ac=1,
        ar=SPEECH_SAMPLE_RATE,
    )
    return [ffmpeg_bin, *_QUIET, *out_node.get_args()]


def build_audio_facts_args(
    ffmpeg_bin: str,
    source_url: str,
    *,
    stream: str = "a:0",
    noise_db: float = SILENCE_NOISE_DB,
    min_silence: float = SILENCE_MIN_SECONDS,
) -> list[str]:
    """One decode for loudness (EBU R128 with true peak) and silent stretches, both
    reported on stderr at the info level; ``-progress`` on stdout gives the decoded
    duration (to close a silence still open at the end)."""
    audio = (
        upload_input(source_url)[stream]
        # framelog=verbose keeps the ten-a-second frame lines out of the info log.
        .filter("ebur128", peak="true", framelog="verbose")
        .filter("silencedetect", noise=f"{noise_db:g}dB", d=f"{min_silence:g}")
    )
    out = ffmpeg.output(audio, "-", f="null")
    return [
        ffmpeg_bin,
        *_GLOBAL,
        "-nostats",
        "-loglevel",
        "info",
        "-progress",
        "pipe:1",
        *out.get_args(),
    ]


# --- running a command with binary stdout ---
