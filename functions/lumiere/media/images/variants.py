"""The responsive set from one decode: each width resized from the one before (a
cascade), the encodes of every width scheduled on a few threads by the work behind them
(Pillow releases the GIL inside its codecs and resamplers)."""

from __future__ import annotations

import io
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PIL import Image

from lumiere.errors import InvalidRequestError, UnsupportedMediaError
from lumiere.media.images.decoding import (
    decode_for,
    frame_count,
    kept_exif,
    normalise,
    open_image,
    read_source,
    upright_size,
)
from lumiere.media.images.facts import image_facts
from lumiere.media.images.model import (
    ImageFacts,
    ImagePreset,
    Source,
    Variant,
    can_encode,
    load_image_preset,
    plan_widths,
)
from lumiere.media.workers import PriorityWorkers

LANCZOS = Image.Resampling.LANCZOS
# Resize first by an integer box reduce while the remaining ratio is at least this:
# Pillow's documentation calls 3.0 indistinguishable from a plain Lanczos, and it makes
# large reductions several times cheaper.
REDUCING_GAP = 3.0
# Encoding threads: Lambda gives 2 vCPUs from 1769 MB; more threads only add memory.
ENCODE_THREADS = max(1, min(4, os.cpu_count() or 1))
# Below this many source pixels one thread resizes faster than the bands' overhead.
_PARALLEL_RESIZE_PIXELS = 2_000_000


def make_variants(
    source: Source, preset: ImagePreset | None = None
) -> tuple[ImageFacts, list[Variant]]:
    """The facts of a still image and its variants (widest first, then by format), from
    one decode. An animation gets still variants of its first frame: its animated WebP
    is animated_to_webp's job."""
    preset = preset or load_image_preset()
    data = read_source(source)
    img = open_image(data, max_pixels=preset.max_pixels)
    frames = frame_count(img)
    source_format = str(img.format)
    exif = kept_exif(img, preset.keep_metadata)
    upright_w, upright_h = upright_size(img)
    widths = plan_widths(upright_w, preset)
    formats = tuple(f for f in preset.formats if can_encode(f))
    widest = normalise(decode_for(img, data, upright_w, widths[0]))
    widest_size = _size_for(widths[0], upright_w, upright_h)
    if widest.size != widest_size:
        with ThreadPoolExecutor(max_workers=ENCODE_THREADS) as pool:
            # The widest variant first, in bands on every core: all else waits on it.
            widest = resize(widest, widest_size, pool)
    results: dict[tuple[int, str], Variant] = {}
    facts: list[ImageFacts] = []
    workers = PriorityWorkers(ENCODE_THREADS)

    def encode_step(step: Image.Image, fmt: str) -> None:
        results[(step.width, fmt)] = _variant(step, fmt, preset, exif)

    def shrink(step: Image.Image, index: int) -> None:
        # Each width is resized from the one before it: only the first resize reads the
        # full-size picture. Its encodes and the next width become ready tasks.
        for fmt in formats:
            # Image.save writes its options onto the Image object (encoderinfo), so
            # concurrent encodes each get their own wrapper of the same pixels.
            view = step._new(step.im)
            workers.add(_encode_cost(fmt, view.size), lambda v=view, f=fmt: encode_step(v, f))
        if index + 1 < len(widths):
            size = _size_for(widths[index + 1], upright_w, upright_h)
            workers.add(
                _chain_cost(step.size, widths[index + 1 :], formats, upright_w, upright_h),
                lambda: shrink(resize_to(step, size), index + 1),
            )
        else:
            workers.add(0.0, lambda: facts.append(
                image_facts(step, source_format, upright_w, upright_h, frames)
            ))  # fmt: skip

    shrink(widest, 0)
    workers.run()
    return facts[0], [results[(w, f)] for w in widths for f in formats]


def _size_for(width: int, upright_w: int, upright_h: int) -> tuple[int, int]:
    return width, max(1, round(upright_h * width / upright_w))


# Relative CPU cost per pixel of each encoder at the preset's efforts (WebP method 4 = 1;
# measured on the bench's 12 MP photos), and of a Lanczos step per source pixel. The
# scheduler only needs their order and rough ratios.
_ENCODE_COST = {"avif": 2.0, "webp": 1.0, "png": 0.5, "jpeg": 0.15}
_RESIZE_COST = 0.2


def _encode_cost(fmt: str, size: tuple[int, int]) -> float:
    return _ENCODE_COST.get(fmt, 1.0) * size[0] * size[1]


def _chain_cost(
    source: tuple[int, int],
    widths: tuple[int, ...],
    formats: tuple[str, ...],
    upright_w: int,
    upright_h: int,
) -> float:
    """The longest run of work behind resizing ``source`` to ``widths[0]``: that resize,
    then the longer of its slowest encode and the rest of the cascade."""
    size = _size_for(widths[0], upright_w, upright_h)
    slowest = max(_encode_cost(f, size) for f in formats)
    rest = _chain_cost(size, widths[1:], formats, upright_w, upright_h) if widths[1:] else 0.0
    return _RESIZE_COST * source[0] * source[1] + max(slowest, rest)


def resize(
    img: Image.Image, size: tuple[int, int], pool: ThreadPoolExecutor | None = None
) -> Image.Image:
    """Lanczos resize; a large picture is cut into bands of output rows resized on the
    pool's threads. Each band is resampled from its exact source box, and Pillow reads
    the filter's support beyond the box, so the result is one resize's to within one
    level (a band's fractional box rounds its filter weights a little differently)."""
    width, height = size
    bands = 2 * ENCODE_THREADS
    if pool is None or ENCODE_THREADS < 2 or img.width * img.height < _PARALLEL_RESIZE_PIXELS:
        return img.resize(size, LANCZOS, reducing_gap=REDUCING_GAP)
    step = img.height / height
    rows = [round(height * i / bands) for i in range(bands + 1)]
    spans = [(top, bottom) for top, bottom in itertools.pairwise(rows) if bottom > top]

    def band(span: tuple[int, int]) -> Image.Image:
        top, bottom = span
        box = (0.0, top * step, float(img.width), bottom * step)
        return img.resize((width, bottom - top), LANCZOS, box=box)

    out = Image.new(img.mode, size)
    for (top, _), part in zip(spans, pool.map(band, spans), strict=True):
        out.paste(part, (0, top))
    return out


def _variant(img: Image.Image, fmt: str, preset: ImagePreset, exif: bytes) -> Variant:
    quality = preset.quality[fmt]
    data = encode(
        img,
        fmt,
        quality=quality,
        exif=exif,
        webp_method=preset.webp_method,
        avif_speed=preset.avif_speed,
    )
    return Variant(width=img.width, height=img.height, format=fmt, quality=quality, data=data)


def encode(
    img: Image.Image,
    fmt: str,
    *,
    quality: int,
    exif: bytes = b"",
    webp_method: int = 4,
    avif_speed: int = 8,
) -> bytes:
    """One picture in one format. JPEG is progressive with optimised Huffman tables
    (smaller, and it paints early on slow links) and flattened on white."""
    if not can_encode(fmt):
        raise UnsupportedMediaError(f"This server cannot write {fmt.upper()} images.")
    out = io.BytesIO()
    common: dict[str, Any] = {"exif": exif, "xmp": b""}
    if fmt == "jpeg":
        flatten(img).save(out, "JPEG", quality=quality, optimize=True, progressive=True, **common)
    elif fmt == "webp":
        img.save(out, "WEBP", quality=quality, method=webp_method, **common)
    elif fmt == "avif":
        img.save(out, "AVIF", quality=quality, speed=avif_speed, **common)
    elif fmt == "png":
        img.save(out, "PNG", compress_level=6, **common)
    else:
        raise InvalidRequestError(f"Unknown image format {fmt!r}.")
    return out.getvalue()


def flatten(img: Image.Image, colour: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """RGB, with what a transparent picture lets through painted ``colour``."""
    if img.mode != "RGBA":
        return img if img.mode == "RGB" else img.convert("RGB")
    flat = Image.new("RGB", img.size, colour)
    flat.paste(img, mask=img.getchannel("A"))
    return flat


def resize_to(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    if img.size == size:
        return img
    return img.resize(size, LANCZOS, reducing_gap=REDUCING_GAP)
