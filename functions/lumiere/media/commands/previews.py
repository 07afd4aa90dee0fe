"""Previews: the animated preview, PCM for waveform peaks, cover art and an image's
animation as MP4."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from lumiere.media.commands.audio import AudioInput
from lumiere.media.commands.common import (
    GLOBAL_OPTIONS,
    upload_input,
)
from lumiere.media.commands.pictures import animated_webp_options

PREVIEW_FRAME_RATE = 12  # smooth enough for a hover preview, and small
WAVEFORM_SAMPLE_RATE = 8000  # peaks only: 8 kHz keeps the pipe small for a 4-hour file


@dataclass(frozen=True)
class PreviewClip:
    start: float
    seconds: float


def preview_clips(
    duration: float | None, clips: int = 4, clip_seconds: float = 1.0
) -> list[PreviewClip]:
    """Evenly spaced moments: clip i is centred at (i + 0.5)/clips of the way through,
    kept inside the source. A source no longer than all the clips together (or of
    unknown length) is used whole, from the start, as one clip."""
    total = clips * clip_seconds
    if not duration or duration <= total:
        return [PreviewClip(0.0, min(duration, total) if duration else total)]
    latest = duration - clip_seconds
    starts = [(i + 0.5) * duration / clips - clip_seconds / 2 for i in range(clips)]
    return [PreviewClip(round(min(max(0.0, s), latest), 3), clip_seconds) for s in starts]


def build_animated_preview_args(
    ffmpeg_bin: str,
    source_url: str,
    out: Path,
    *,
    duration: float | None,
    clips: int = 4,
    clip_seconds: float = 1.0,
    width: int = 320,
    format: str = "mp4",
) -> list[str]:
    """A short silent preview stitched from evenly spaced moments, as H.264 MP4 or
    animated WebP.

    Each moment is its own input with a seek (``-ss``/``-t``): ffmpeg fetches a few byte
    ranges around those instants instead of downloading and decoding the whole upload,
    which keeps a 4-hour film as cheap as a 4-second one. The pieces are concatenated.
    """
    if format not in ("mp4", "webp"):
        raise ValueError(f"unsupported preview format {format!r}")
    pieces = []
    for clip in preview_clips(duration, clips, clip_seconds):
        src = upload_input(source_url, ss=f"{clip.start:.3f}", t=f"{clip.seconds:.3f}")
        pieces.append(
            src["v:0"]
            .filter("setpts", "PTS-STARTPTS")
            .filter("fps", PREVIEW_FRAME_RATE)
            .filter("scale", f"min({width},iw)", -2)
            .filter("setsar", 1)
        )
    video = pieces[0] if len(pieces) == 1 else ffmpeg.concat(*pieces, v=1, a=0)
    video = video.filter("format", "yuv420p")
    options: dict[str, str | int | float]
    if format == "mp4":
        options = {
            "c:v": "libx264",
            "preset": "veryfast",
            "crf": 28,
            "profile:v": "main",
            "pix_fmt": "yuv420p",
            "movflags": "+faststart",
            "f": "mp4",
        }
    else:
        options = animated_webp_options(quality=60)
    output = ffmpeg.output(video, str(out), an=None, **options)
    return [ffmpeg_bin, *GLOBAL_OPTIONS, *output.get_args()]


def build_waveform_pcm_args(
    ffmpeg_bin: str,
    source_url: str | AudioInput,
    *,
    sample_rate: int = WAVEFORM_SAMPLE_RATE,
    stream: str = "a:0",
) -> list[str]:
    """An audio stream decoded to mono signed 16-bit little-endian PCM on stdout, for
    ``waveform.PeakAccumulator`` to read in chunks (nothing touches disk). The source is
    an upload URL (with ``stream``) or an ``AudioInput`` (the audio part's local copy)."""
    node = (
        source_url.node()
        if isinstance(source_url, AudioInput)
        else upload_input(source_url)[stream]
    )
    out = ffmpeg.output(node, "pipe:1", f="s16le", acodec="pcm_s16le", ac=1, ar=sample_rate)
    return [ffmpeg_bin, *GLOBAL_OPTIONS, *out.get_args()]


# The codecs attached pictures come in, and the file suffix each is written with.
COVER_ART_SUFFIXES = {"mjpeg": ".jpg", "png": ".png", "bmp": ".bmp", "webp": ".webp"}


def build_cover_art_args(
    ffmpeg_bin: str, source_url: str, stream_index: int, out: Path
) -> list[str]:
    """Copy an attached picture (disposition ``attached_pic``: the cover in an MP3's ID3
    tag or an M4A's ``covr``) out of an audio file, bytes as they are, no re-encode.
    ``out``'s suffix should match the picture's codec (``COVER_ART_SUFFIXES``)."""
    src = upload_input(source_url)
    output = ffmpeg.output(
        src[str(stream_index)], str(out), c="copy", f="image2", update=1, **{"frames:v": 1}
    )
    return [ffmpeg_bin, *GLOBAL_OPTIONS, *output.get_args()]


def build_animation_mp4_args(ffmpeg_bin: str, source_url: str, out: Path) -> list[str]:
    """An animated GIF/WebP/APNG as a silent H.264 MP4: a tenth of the bytes for the
    same picture, and it plays with <video autoplay muted loop playsinline>."""
    video = (
        upload_input(source_url)["v:0"]
        # 4:2:0 needs even sides; GIF frames are often odd.
        .filter("scale", "trunc(iw/2)*2", "trunc(ih/2)*2")
        .filter("format", "yuv420p")
    )
    output = ffmpeg.output(
        video,
        str(out),
        an=None,
        f="mp4",
        movflags="+faststart",
        **{"c:v": "libx264", "preset": "veryfast", "crf": 26, "profile:v": "high"},
    )
    return [ffmpeg_bin, *GLOBAL_OPTIONS, *output.get_args()]
