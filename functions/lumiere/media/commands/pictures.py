"""Single pictures and short animations of a video: the poster, a frame at a moment of
the published segments, and an animation of a stretch of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ffmpeg

from lumiere.media.commands.common import (
    GLOBAL_OPTIONS,
    upload_input,
)
from lumiere.media.safety import (
    intermediate_guard_options,
)


def build_poster_args(
    ffmpeg_bin: str,
    source_url: str,
    out_path: Path,
    *,
    seek_seconds: float,
    max_width: int,
    max_height: int,
) -> list[str]:
    """A representative JPEG frame: ffmpeg's ``thumbnail`` filter picks the most typical
    frame of a short window after ``seek_seconds``, which skips black and fade frames.

    The input seek is fast (keyframe based); the window of 30 frames is decoded.
    """
    src = upload_input(source_url, ss=f"{seek_seconds:.3f}")
    frame = poster_chain(src["v:0"], max_width, max_height)
    out = ffmpeg.output(frame, str(out_path), vframes=1, **{"q:v": 3})
    return [ffmpeg_bin, *GLOBAL_OPTIONS, *out.get_args()]


def animated_webp_options(quality: int) -> dict[str, str | int | float]:
    """A looping animated WebP, as the preview part and /img/ animations write it."""
    return {
        "c:v": "libwebp_anim",
        "quality": quality,
        "compression_level": 4,
        "loop": 0,
        "f": "webp",
    }


def build_animation_at_args(
    ffmpeg_bin: str,
    segments: Path,
    out: Path,
    *,
    offset: float,
    seconds: float,
    fps: int,
    box: tuple[int | None, int | None],
    format: str,
    quality: int = 80,
) -> list[str]:
    """A looping animation of ``seconds`` from ``offset`` into published segments (an
    init section and consecutive fragments written as one MP4), inside ``box`` (never
    upscaled, aspect kept), as animated WebP or GIF.

    GIF gets a palette made from its own frames (``palettegen``, then ``paletteuse``
    with Bayer dithering) in one pass: the 256-colour default would band every gradient.
    """
    if format not in ("webp", "gif"):
        raise ValueError(f"unsupported animation format {format!r}")
    src = ffmpeg.input(
        str(segments), ss=f"{offset:.3f}", t=f"{seconds:.3f}", **intermediate_guard_options()
    )
    width, height = box
    frames = (
        src["v:0"]
        .filter("setpts", "PTS-STARTPTS")
        .filter("fps", fps)
        .filter(
            "scale",
            f"min({width},iw)" if width else -2,
            f"min({height},ih)" if height else -2,
            **({"force_original_aspect_ratio": "decrease"} if width and height else {}),
        )
        .filter("setsar", 1)
    )
    if format == "gif":
        split = frames.filter_multi_output("split")
        palette = split[0].filter("palettegen")
        frames = ffmpeg.filter([split[1], palette], "paletteuse", dither="bayer", bayer_scale=3)
        options: dict[str, str | int | float] = {"f": "gif", "loop": 0}
    else:
        options = animated_webp_options(quality)
    output = ffmpeg.output(frames, str(out), an=None, **options)
    return [ffmpeg_bin, *GLOBAL_OPTIONS, *output.get_args()]


POSTER_MAX = (1280, 720)


def poster_chain(
    stream: Any, max_width: int = POSTER_MAX[0], max_height: int = POSTER_MAX[1]
) -> Any:
    return stream.filter("thumbnail", 30).filter(
        "scale",
        f"min({max_width},iw)",
        f"min({max_height},ih)",
        force_original_aspect_ratio="decrease",
        force_divisible_by=2,
    )


def poster_seek_seconds(duration: float | None) -> float:
    """A tenth of the way in (past titles), at most 10 s, and never past a short clip."""
    if not duration or duration <= 1.0:
        return 0.0
    return min(10.0, duration / 10.0)


def build_frame_at_args(ffmpeg_bin: str, segment: Path, offset: float, out: Path) -> list[str]:
    """One frame, ``offset`` seconds into a published segment (its init section and the
    segment written as one fragmented MP4: see media/hls_seek.py), as a PNG.

    The input seek is relative to the segment's own start time (ffmpeg adds the file's
    start time) and exact: frames before it are decoded and dropped. Pixels are made
    square, so a rendition with a sample aspect ratio comes out at its display shape.
    PNG at zlib level 1: the picture is re-encoded at once by the image pipeline, so
    speed matters and size does not.
    """
    src = ffmpeg.input(str(segment), ss=f"{offset:.3f}", **intermediate_guard_options())
    frame = src["v:0"].filter("scale", "iw*sar", "ih").filter("setsar", 1)
    out_node = ffmpeg.output(
        frame, str(out), f="image2", update=1, compression_level=1, **{"frames:v": 1, "c:v": "png"}
    )
    return [ffmpeg_bin, *GLOBAL_OPTIONS, *out_node.get_args()]
