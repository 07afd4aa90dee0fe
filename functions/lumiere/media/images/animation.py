"""An animated GIF, APNG or WebP as an animated WebP, every frame and delay kept."""

from __future__ import annotations

import io

from PIL import Image, ImageSequence

from lumiere.errors import LimitExceededError, ReasonCode
from lumiere.media.images.decoding import (
    DECODE_ERRORS,
    corrupt_image,
    frame_count,
    open_image,
    read_source,
)
from lumiere.media.images.model import ImagePreset, Source, load_image_preset
from lumiere.media.images.variants import LANCZOS, REDUCING_GAP

# Browsers play GIF frames of 0 or 10 ms at 100 ms; animated WebP plays them as given,
# so the delay is carried over as browsers show it.
_MIN_FRAME_MS, _DEFAULT_FRAME_MS = 20, 100


def animated_to_webp(
    source: Source,
    preset: ImagePreset | None = None,
    *,
    max_width: int | None = None,
) -> bytes:
    """An animated GIF (or APNG, or animated WebP) as an animated WebP: every frame,
    its delay and the loop count, optionally narrowed to ``max_width``."""
    preset = preset or load_image_preset()
    img = open_image(read_source(source), max_pixels=preset.max_pixels)
    frames = frame_count(img)
    if frames * img.width * img.height > preset.max_animation_pixels:
        raise LimitExceededError(
            f"The animation has {frames} frames of {img.width}x{img.height} pixels; at "
            f"most {preset.max_animation_pixels:,} pixels in all are accepted.",
            reason=ReasonCode.TOO_MANY_PIXELS,
        )
    size = img.size
    if max_width is not None and max_width < img.width:
        size = (max_width, max(1, round(img.height * max_width / img.width)))
    loop = int(img.info.get("loop", 0))
    stills: list[Image.Image] = []
    durations: list[int] = []
    try:
        for frame in ImageSequence.Iterator(img):
            durations.append(_frame_ms(frame.info.get("duration")))
            still = frame.convert("RGBA")
            if still.size != size:
                still = still.resize(size, LANCZOS, reducing_gap=REDUCING_GAP)
            still.info = {}
            stills.append(still)
    except DECODE_ERRORS as e:
        raise corrupt_image() from e
    out = io.BytesIO()
    stills[0].save(
        out,
        "WEBP",
        save_all=True,
        append_images=stills[1:],
        duration=durations,
        loop=loop,
        quality=preset.quality["webp"],
        method=preset.webp_method,
        exif=b"",
        xmp=b"",
    )
    return out.getvalue()


def _frame_ms(duration: object) -> int:
    if not isinstance(duration, int | float) or duration <= 0:
        return _DEFAULT_FRAME_MS
    return _DEFAULT_FRAME_MS if duration < _MIN_FRAME_MS else int(duration)
