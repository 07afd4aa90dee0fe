"""Still and animated image processing with Pillow alone: no AWS, no environment.

``make_variants`` turns one upload into the responsive set (every preset width as JPEG,
WebP and AVIF) from a single decode: the pixel limit is checked on the header before
any decoder runs, JPEGs are decoded at the smallest DCT scale that still covers the
widest variant (``Image.draft``), and each width is resized from the previous one (a
cascade), so only the first resize reads the full-size picture. Encoding runs on a few
threads: Pillow releases the GIL inside its codecs and resamplers, so a 2-vCPU Lambda
encodes two variants at once while the next width is being resized.

Every output is upright (EXIF orientation applied), sRGB (an embedded ICC profile is
converted, not kept: browsers assume sRGB for untagged images), 8-bit RGB or RGBA, and
carries no metadata except the preset's allow-list (by default copyright and artist):
no GPS, serial numbers, maker notes, XMP or thumbnails.

Never upscaled: a width wider than the source is skipped, and a source narrower than
the widest preset width gets one more variant at its own width when that is clearly
larger (``native_width_ratio``) than the widest width kept; so a 500 px image gets 160,
320 and 500.
"""

from __future__ import annotations

import base64
import io
import itertools
import math
import os
import struct
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

from PIL import (
    Image,
    ImageCms,
    ImageOps,
    ImageSequence,
    UnidentifiedImageError,
    features,
)

from lumiere.errors import (
    CorruptInputError,
    InvalidRequestError,
    LimitExceededError,
    PermanentError,
    ReasonCode,
    UnsupportedMediaError,
)
from lumiere.media.heif import register_heif
from lumiere.media.image_probe import still_frame_count
from lumiere.media.jpeg_scaled import decode_scaled
from lumiere.media.presets import read_preset
from lumiere.media.reframe import Region, blur, reframe, reframe_faces, turned_size
from lumiere.media.smartcrop import Box, choose_crop, crop_size
from lumiere.media.sniff import SNIFF_BYTES, bmff_image_format, check_image_pixels
from lumiere.media.workers import PriorityWorkers

Source = bytes | str | os.PathLike[str]
Fit = Literal["cover", "contain", "inside"]

CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "avif": "image/avif",
    "png": "image/png",
}
# Decoders Pillow may use on untrusted uploads (JPEG covers MPO, the multi-picture
# JPEG of some cameras; HEIF is pillow-heif's, for HEIC photos). Anything else (EPS would
# start Ghostscript, PSD, ICO, PCX...) is refused before a plugin sees the bytes.
ACCEPTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "HEIF", "TIFF", "BMP")
# Signatures of the accepted formats: bytes that start like one of them but that Pillow
# cannot identify are a damaged file, not an unsupported one.
_SIGNATURES = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
)
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError)

_ORIENTATION = 0x0112
_TRANSPOSING_ORIENTATIONS = frozenset({5, 6, 7, 8})
# The EXIF tags a preset may keep, by the names used in presets/images_*.json.
METADATA_TAGS = {
    "copyright": 0x8298,
    "artist": 0x013B,
    "image_description": 0x010E,
}

LANCZOS = Image.Resampling.LANCZOS
# Resize first by an integer box reduce while the remaining ratio is at least this:
# Pillow's documentation calls 3.0 indistinguishable from a plain Lanczos, and it makes
# large reductions several times cheaper.
REDUCING_GAP = 3.0
# transform() decodes JPEGs at a DCT scale at least this much larger than the output,
# as Pillow's thumbnail() does. make_variants() uses 1.0: its widest variant is large,
# and libjpeg's scaled IDCT is a proper low-pass filter, so nothing aliases.
TRANSFORM_DRAFT_GAP = 2.0
# Encoding threads: Lambda gives 2 vCPUs from 1769 MB; more threads only add memory.
ENCODE_THREADS = max(1, min(4, os.cpu_count() or 1))
# Below this many source pixels one thread resizes faster than the bands' overhead.
_PARALLEL_RESIZE_PIXELS = 2_000_000
# ThumbHash keeps 7x7 luminance terms at most; a 32 px copy holds all of them.
_THUMBHASH_SIZE = 32
_DOMINANT_SIZE = 64
# Browsers play GIF frames of 0 or 10 ms at 100 ms; animated WebP plays them as given,
# so the delay is carried over as browsers show it.
_MIN_FRAME_MS, _DEFAULT_FRAME_MS = 20, 100


@dataclass(frozen=True)
class ImageVariantSpec:
    width: int
    format: str  # "jpeg" | "webp" | "avif"
    quality: int


@dataclass(frozen=True)
class ImagePreset:
    name: str
    widths: tuple[int, ...] = (160, 320, 640, 1280, 2048)  # ascending
    formats: tuple[str, ...] = ("jpeg", "webp", "avif")
    quality: dict[str, int] = field(default_factory=lambda: {"jpeg": 82, "webp": 80, "avif": 60})
    webp_method: int = 4  # libwebp effort 0 (fast) to 6 (small)
    avif_speed: int = 8  # libavif speed 0 (small) to 10 (fast)
    # EXIF tags copied to outputs (names from METADATA_TAGS); everything else is dropped.
    keep_metadata: tuple[str, ...] = ("copyright", "artist")
    max_pixels: int = 8192 * 8192
    native_width_ratio: float = 1.15
    # Frames x width x height of an animation; bounds the memory animated_to_webp uses.
    max_animation_pixels: int = 100_000_000
    description: str = ""

    def specs(self, formats: tuple[str, ...] | None = None) -> list[ImageVariantSpec]:
        """Every (width, format) of the preset, widest first, for the formats given."""
        return [
            ImageVariantSpec(width=w, format=f, quality=self.quality[f])
            for w in sorted(self.widths, reverse=True)
            for f in formats or self.formats
        ]


@dataclass(frozen=True)
class Variant:
    width: int
    height: int
    format: str
    quality: int
    data: bytes = field(repr=False)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def extension(self) -> str:
        return "jpg" if self.format == "jpeg" else self.format

    @property
    def name(self) -> str:
        return f"{self.width}w.{self.extension}"


@dataclass(frozen=True)
class ImageFacts:
    format: str  # Pillow's name of the source format: "JPEG", "PNG"...
    width: int  # upright, as displayed
    height: int
    has_alpha: bool  # some pixel is not fully opaque
    animated: bool
    frame_count: int
    dominant_color: str  # "#rrggbb"
    placeholder: str  # ThumbHash, standard base64


@dataclass(frozen=True)
class CropFocus:
    """What a crop must keep, in fractions (0..1) of the upright source: face boxes
    (left, top, right, bottom) or one point."""

    faces: tuple[tuple[float, float, float, float], ...] = ()
    point: tuple[float, float] | None = None

    def boxes(self, width: int, height: int) -> list[Box]:
        boxes = [
            (round(l * width), round(t * height), round(r * width), round(b * height))
            for l, t, r, b in self.faces  # noqa: E741
        ]
        if not boxes and self.point is not None:
            x, y = round(self.point[0] * width), round(self.point[1] * height)
            boxes = [(x, y, x, y)]
        return boxes


# --------------------------------------------------------------------------- presets


def load_image_preset(name: str = "default") -> ImagePreset:
    data = read_preset("images", name)
    unknown = set(data.get("keep_metadata", ())) - METADATA_TAGS.keys()
    if unknown:
        raise ValueError(f"Image preset {name!r} keeps unknown metadata {sorted(unknown)}")
    return ImagePreset(
        name=name,
        widths=tuple(sorted(data["widths"])),
        formats=tuple(data["formats"]),
        quality=dict(data["quality"]),
        keep_metadata=tuple(data.get("keep_metadata", ())),
        **{
            k: data[k]
            for k in (
                "webp_method",
                "avif_speed",
                "max_pixels",
                "native_width_ratio",
                "max_animation_pixels",
                "description",
            )
            if k in data
        },
    )


_FEATURES = {"jpeg": "jpg", "webp": "webp", "avif": "avif", "png": "zlib"}


@cache
def can_encode(fmt: str) -> bool:
    """Whether this Pillow build writes ``fmt``; AVIF needs Pillow built with libavif."""
    feature = _FEATURES.get(fmt)
    return feature is not None and bool(features.check(feature))


def plan_widths(source_width: int, preset: ImagePreset) -> tuple[int, ...]:
    """The variant widths for a source, widest first; never wider than the source."""
    fits = [w for w in preset.widths if w <= source_width]
    widest = max(fits, default=0)
    if source_width < max(preset.widths) and (
        not fits or source_width >= widest * preset.native_width_ratio
    ):
        fits.append(source_width)
    return tuple(sorted(fits, reverse=True))


# --------------------------------------------------------------------------- opening


def read_source(source: Source) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    return Path(source).read_bytes()


def open_image(data: bytes, *, max_pixels: int) -> Image.Image:
    """Identify the image and check its size from the header; decodes nothing.

    Raises PermanentError subclasses: too_many_pixels, unsupported_format, corrupt,
    empty_file.
    """
    if not data:
        raise PermanentError("The image file is empty.", reason=ReasonCode.EMPTY_FILE)
    # Header only: a 60000x60000 PNG bomb is refused here, before any allocation.
    check_image_pixels(data[:SNIFF_BYTES], max_pixels)
    register_heif()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        except Image.DecompressionBombError as e:
            raise _too_many_pixels(None, max_pixels) from e
        except UnidentifiedImageError as e:
            if _looks_like_image(data):
                raise _corrupt() from e
            raise UnsupportedMediaError(
                "This image format is not supported. Upload a JPEG, PNG, GIF, WebP, "
                "HEIC, AVIF, TIFF or BMP file."
            ) from e
        except _DECODE_ERRORS as e:
            raise _corrupt() from e
    if img.width * img.height > max_pixels:  # a header the sniffer's head could not hold
        raise _too_many_pixels(img.size, max_pixels)
    return img


def open_upright(source: Source | Image.Image, *, max_pixels: int) -> Image.Image:
    """Decode to an upright, sRGB, 8-bit RGB or RGBA image with no metadata."""
    img = (
        source
        if isinstance(source, Image.Image)
        else open_image(read_source(source), max_pixels=max_pixels)
    )
    _load(img)
    return normalise(img)


def normalise(img: Image.Image) -> Image.Image:
    """Upright, sRGB, 8-bit RGB or RGBA (alpha only if some pixel is transparent),
    with ``info`` emptied so no encoder copies EXIF, XMP or ICC from it."""
    icc = img.info.get("icc_profile")
    ImageOps.exif_transpose(img, in_place=True)  # no copy when already upright
    img = _to_8bit(img)
    if icc:
        img = _icc_to_srgb(img, icc)
    if img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGBA" if _mode_has_alpha(img.mode) else "RGB")
    if img.mode == "RGBA" and img.getchannel("A").getextrema() == (255, 255):
        img = img.convert("RGB")  # opaque: smaller and faster to encode
    img.info = {}
    return img


def _load(img: Image.Image) -> None:
    try:
        img.load()
    except Image.DecompressionBombError as e:
        raise _too_many_pixels(img.size, 0) from e
    except _DECODE_ERRORS as e:
        raise _corrupt() from e


def _to_8bit(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode.startswith("I;16") or mode == "I":
        # Pillow's I -> L conversion clips at 255 instead of scaling: scale by hand.
        wide = img.convert("I") if mode != "I" else img
        high = wide.getextrema()[1]
        scale = 1 / 257 if isinstance(high, int) and high > 255 else 1.0
        return wide.point(lambda v: v * scale).convert("L")
    if mode == "F":
        return img.convert("L")
    if mode == "1":
        return img.convert("L")
    if mode in ("P", "PA"):
        return img.convert("RGBA" if img.has_transparency_data else "RGB")
    if mode in ("LA", "La", "RGBa"):
        return img.convert("RGBA")
    if mode in ("L", "RGB") and "transparency" in img.info:
        return img.convert("RGBA")
    return img


def _mode_has_alpha(mode: str) -> bool:
    return mode in ("RGBA", "LA", "PA", "RGBa", "La")


def _icc_to_srgb(img: Image.Image, icc: bytes) -> Image.Image:
    out_mode = "RGBA" if _mode_has_alpha(img.mode) else "RGB"
    try:
        transform = _srgb_transform(icc, img.mode, out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        transform = None  # a broken or mismatched profile: fall back to Pillow's maths
    if transform is None:
        return img
    return ImageCms.applyTransform(img, transform) or img


@lru_cache(maxsize=16)
def _srgb_transform(icc: bytes, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform | None:
    """A cached transform from the embedded profile to sRGB, or None when the profile
    already is sRGB (most camera JPEGs): building one costs milliseconds."""
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    description = ImageCms.getProfileDescription(profile) or ""
    if in_mode in ("RGB", "RGBA") and description.strip().lower().startswith("srgb"):
        return None
    return ImageCms.buildTransform(
        profile,
        _srgb_profile(),
        in_mode,
        out_mode,
        renderingIntent=ImageCms.Intent.PERCEPTUAL,
    )


@cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _kept_exif(img: Image.Image, keep: tuple[str, ...]) -> bytes:
    """EXIF holding only the allow-listed tags (never orientation: outputs are upright)."""
    if not keep:
        return b""
    source = _exif(img)
    kept = Image.Exif()
    for name in keep:
        value = source.get(METADATA_TAGS[name])
        if isinstance(value, str) and value.strip("\x00 "):
            kept[METADATA_TAGS[name]] = value.strip("\x00 ")
    return kept.tobytes() if len(kept) else b""


def _exif(img: Image.Image) -> Image.Exif:
    # PNG keeps EXIF after the pixels (eXIf may follow IDAT), so asking decodes it.
    try:
        return img.getexif()
    except _DECODE_ERRORS as e:
        raise _corrupt() from e


def _upright_size(img: Image.Image) -> tuple[int, int]:
    orientation = _exif(img).get(_ORIENTATION, 1)
    w, h = img.size
    return (h, w) if orientation in _TRANSPOSING_ORIENTATIONS else (w, h)


def decode_for(
    img: Image.Image, data: bytes, upright_width: int, target_width: float
) -> Image.Image:
    """``img``'s pixels (it was opened from ``data``), loaded at the smallest JPEG DCT
    scale that still covers ``target_width``: any eighth through simplejpeg, else
    Pillow's 1/2, 1/4 or 1/8 draft; other formats at full size."""
    scaled = decode_scaled(data, img, target_width / upright_width)
    if scaled is not None:
        return scaled
    _draft(img, upright_width, target_width)
    _load(img)
    return img


def _draft(img: Image.Image, upright_width: int, target_width: float) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the output is that much
    smaller: the IDCT does the first reduction for free, in a fraction of the time."""
    if img.format not in ("JPEG", "MPO") or target_width >= upright_width:
        return
    scale = target_width / upright_width
    stored_w, stored_h = img.size
    img.draft(img.mode, (math.ceil(stored_w * scale), math.ceil(stored_h * scale)))


def _frame_count(img: Image.Image) -> int:
    try:
        return still_frame_count(img)
    except _DECODE_ERRORS as e:
        raise _corrupt() from e


def _looks_like_image(data: bytes) -> bool:
    if data.startswith(_SIGNATURES):
        return True
    return (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or bmff_image_format(data) is not None


def _corrupt() -> CorruptInputError:
    return CorruptInputError(
        "The image is damaged or incomplete and cannot be decoded. Export it again and "
        "upload the new file."
    )


def _too_many_pixels(size: tuple[int, int] | None, max_pixels: int) -> LimitExceededError:
    what = f"The image is {size[0]}x{size[1]} pixels; " if size else "The image declares "
    limit = f"at most {max_pixels:,} pixels are accepted" if max_pixels else "too many pixels"
    return LimitExceededError(
        f"{what}{limit}. Resize it and upload it again.", reason=ReasonCode.TOO_MANY_PIXELS
    )


# --------------------------------------------------------------------------- variants


def make_variants(
    source: Source, preset: ImagePreset | None = None
) -> tuple[ImageFacts, list[Variant]]:
    """The facts of a still image and its variants (widest first, then by format), from
    one decode. An animation gets still variants of its first frame: its animated WebP
    is animated_to_webp's job."""
    preset = preset or load_image_preset()
    data = read_source(source)
    img = open_image(data, max_pixels=preset.max_pixels)
    frames = _frame_count(img)
    source_format = str(img.format)
    exif = _kept_exif(img, preset.keep_metadata)
    upright_w, upright_h = _upright_size(img)
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
                lambda: shrink(_resize(step, size), index + 1),
            )
        else:
            workers.add(0.0, lambda: facts.append(
                _facts(step, source_format, upright_w, upright_h, frames)
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


# --------------------------------------------------------------------------- facts


def _facts(
    small: Image.Image, source_format: str, width: int, height: int, frames: int
) -> ImageFacts:
    return ImageFacts(
        format=source_format,
        width=width,
        height=height,
        has_alpha=small.mode == "RGBA",
        animated=frames > 1,
        frame_count=frames,
        dominant_color=dominant_color(small),
        placeholder=base64.b64encode(thumbhash(small)).decode("ascii"),
    )


def dominant_color(img: Image.Image) -> str:
    """The colour of the largest cluster (median cut, 8 colours) of the opaque pixels,
    which on a photo is the colour a placeholder box should be, unlike the mean."""
    rgba = img.convert("RGBA")
    rgba.thumbnail((_DOMINANT_SIZE, _DOMINANT_SIZE), Image.Resampling.BILINEAR)
    palette_img = rgba.convert("RGB").quantize(8, method=Image.Quantize.MEDIANCUT)
    weights: dict[int, int] = {}
    for index, alpha in zip(palette_img.tobytes(), rgba.getchannel("A").tobytes(), strict=True):
        weights[index] = weights.get(index, 0) + alpha
    best = max(weights, key=lambda i: weights[i]) if any(weights.values()) else 0
    palette = palette_img.getpalette() or [255, 255, 255]
    r, g, b = palette[3 * best : 3 * best + 3]
    return f"#{r:02x}{g:02x}{b:02x}"


def thumbhash(img: Image.Image) -> bytes:
    """ThumbHash (https://evanw.github.io/thumbhash/) of the picture: ~25 bytes that
    decode to a blurred preview with its aspect ratio, average colour and alpha.

    A port of the reference rgbaToThumbHash, with the DCT sums made separable (rows
    first) so pure Python does it in a few milliseconds on a 32 px copy.
    """
    small = img.convert("RGBA")
    small.thumbnail((_THUMBHASH_SIZE, _THUMBHASH_SIZE), Image.Resampling.BOX)
    w, h = small.size
    raw = small.tobytes()
    pixels = [tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)]
    n = w * h
    avg_r = avg_g = avg_b = avg_a = 0.0
    for r, g, b, a in pixels:
        alpha = a / 255
        avg_r += alpha / 255 * r
        avg_g += alpha / 255 * g
        avg_b += alpha / 255 * b
        avg_a += alpha
    if avg_a:
        avg_r, avg_g, avg_b = avg_r / avg_a, avg_g / avg_a, avg_b / avg_a
    has_alpha = avg_a < n
    l_limit = 5 if has_alpha else 7  # fewer luminance terms leave room for alpha
    lx = max(1, round(l_limit * w / max(w, h)))
    ly = max(1, round(l_limit * h / max(w, h)))
    lum, p, q, al = [], [], [], []
    for r, g, b, a in pixels:  # composite on the average colour, then to LPQA
        alpha = a / 255
        rr = avg_r * (1 - alpha) + alpha / 255 * r
        gg = avg_g * (1 - alpha) + alpha / 255 * g
        bb = avg_b * (1 - alpha) + alpha / 255 * b
        lum.append((rr + gg + bb) / 3)
        p.append((rr + gg) / 2 - bb)
        q.append(rr - gg)
        al.append(alpha)
    l_dc, l_ac, l_scale = _dct_channel(lum, w, h, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _dct_channel(p, w, h, 3, 3)
    q_dc, q_ac, q_scale = _dct_channel(q, w, h, 3, 3)
    is_landscape = w > h
    header24 = (
        round(63 * l_dc)
        | (round(31.5 + 31.5 * p_dc) << 6)
        | (round(31.5 + 31.5 * q_dc) << 12)
        | (round(31 * l_scale) << 18)
        | (int(has_alpha) << 23)
    )
    header16 = (
        (ly if is_landscape else lx)
        | (round(63 * p_scale) << 3)
        | (round(63 * q_scale) << 9)
        | (int(is_landscape) << 15)
    )
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    channels = [l_ac, p_ac, q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _dct_channel(al, w, h, 5, 5)
        out.append(round(15 * a_dc) | (round(15 * a_scale) << 4))
        channels.append(a_ac)
    start = len(out)
    index = 0
    for ac in channels:
        for f in ac:
            position = start + (index >> 1)
            if position >= len(out):
                out.append(0)
            out[position] |= round(15 * f) << ((index & 1) << 2)
            index += 1
    return bytes(out)


def _dct_channel(
    channel: list[float], w: int, h: int, nx: int, ny: int
) -> tuple[float, list[float], float]:
    cos_x = [[math.cos(math.pi / w * cx * (x + 0.5)) for x in range(w)] for cx in range(nx)]
    cos_y = [[math.cos(math.pi / h * cy * (y + 0.5)) for y in range(h)] for cy in range(ny)]
    # row_sums[cx][y] = sum over x of channel * cos_x: each term then needs one column.
    rows = [channel[y * w : (y + 1) * w] for y in range(h)]
    row_sums = [
        [sum(v * c for v, c in zip(row, cos_x[cx], strict=True)) for row in rows]
        for cx in range(nx)
    ]
    dc, ac, scale = 0.0, [], 0.0
    for cy in range(ny):
        cx = 0
        while cx * ny < nx * (ny - cy):
            f = sum(s * c for s, c in zip(row_sums[cx], cos_y[cy], strict=True)) / (w * h)
            if cx or cy:
                ac.append(f)
                scale = max(scale, abs(f))
            else:
                dc = f
            cx += 1
    if scale:
        ac = [0.5 + 0.5 / scale * f for f in ac]
    return dc, ac, scale


# --------------------------------------------------------------------------- animation


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
    frames = _frame_count(img)
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
    except _DECODE_ERRORS as e:
        raise _corrupt() from e
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


# --------------------------------------------------------------------------- transform


def transform(
    source: Source,
    *,
    width: int | None = None,
    height: int | None = None,
    fit: Fit = "cover",
    format: str = "webp",  # the word the /img endpoint uses
    quality: int | None = None,
    focus: CropFocus | None = None,
    preset: ImagePreset | None = None,
    background: tuple[int, int, int] = (255, 255, 255),
    rotation: int = 0,
    region: Region | None = None,
    blur_radius: float = 0,
) -> Variant:
    """One picture for the on-the-fly endpoint. Never upscales: when the source is too
    small, the output keeps the requested shape at the largest size the source fills.
    The upright picture is first turned ``rotation`` degrees clockwise and cut to
    ``region`` (media/reframe.py); what follows sees only that part, and the face boxes
    of ``focus`` are carried into it. ``blur_radius`` (pixels of the requested box)
    blurs the result.

    - cover: exactly width x height, cropped around ``focus`` (faces or a point) or,
      without one, around the most detailed region (smartcrop);
    - contain: exactly width x height, the whole picture letterboxed on ``background``;
    - inside: the whole picture, at most width x height, no padding.

    With only a width or a height, the other follows the picture's aspect ratio.
    """
    preset = preset or load_image_preset()
    if width is None and height is None:
        raise InvalidRequestError("Give a width, a height or both.")
    if (width is not None and width < 1) or (height is not None and height < 1):
        raise InvalidRequestError("Width and height must be positive.")
    if fit not in ("cover", "contain", "inside"):
        raise InvalidRequestError(f"Unknown fit {fit!r}: use cover, contain or inside.")
    if format not in CONTENT_TYPES:
        raise InvalidRequestError(f"Unknown image format {format!r}.")
    data = read_source(source)
    img = open_image(data, max_pixels=preset.max_pixels)
    full_w, full_h = _upright_size(img)
    # The part kept, in pixels of the full-size source: what the box is fitted to.
    up_w, up_h = turned_size(full_w, full_h, rotation)
    if region is not None:
        up_w, up_h = max(1.0, up_w * region.width), max(1.0, up_h * region.height)
    box_w, box_h = _box(width, height, up_w, up_h)
    asked_w = box_w
    scale = (max if fit == "cover" else min)(box_w / up_w, box_h / up_h)
    # One scale for the whole picture: the decode need be no larger than the part needs.
    img = normalise(decode_for(img, data, full_w, full_w * min(1.0, scale * TRANSFORM_DRAFT_GAP)))
    if rotation or region is not None:
        img = reframe(img, rotation, region)
        if focus is not None and focus.faces:
            focus = replace(focus, faces=reframe_faces(focus.faces, rotation, region))
    if scale > 1:  # the source cannot fill the box: shrink the box, keep its shape
        box_w, box_h = max(1, round(box_w / scale)), max(1, round(box_h / scale))
        scale = 1.0
    if fit == "cover":
        picture = _cover(img, box_w, box_h, focus)
    else:
        size = (max(1, round(up_w * scale)), max(1, round(up_h * scale)))
        picture = _resize(img, size)
        if fit == "contain" and picture.size != (box_w, box_h):
            picture = _letterbox(picture, box_w, box_h, background)
    if blur_radius:  # as asked of the box, at the size the picture came out
        picture = blur(picture, blur_radius * picture.width / asked_w)
    if format == "jpeg":  # no alpha: the background shows through, not always white
        picture = flatten(picture, background)
    quality = quality if quality is not None else preset.quality.get(format, 80)
    data = encode(
        picture,
        format,
        quality=quality,
        webp_method=preset.webp_method,
        avif_speed=preset.avif_speed,
    )
    return Variant(
        width=picture.width, height=picture.height, format=format, quality=quality, data=data
    )


def _box(width: int | None, height: int | None, up_w: int, up_h: int) -> tuple[int, int]:
    if width is None:
        assert height is not None
        return max(1, round(up_w * height / up_h)), height
    if height is None:
        return width, max(1, round(up_h * width / up_w))
    return width, height


def _cover(img: Image.Image, width: int, height: int, focus: CropFocus | None) -> Image.Image:
    ratio = width / height
    if crop_size(img.width, img.height, ratio) == img.size:
        return _resize(img, (width, height))
    faces = focus.boxes(img.width, img.height) if focus else None
    box = choose_crop(img, ratio, faces or None)
    return img.resize((width, height), LANCZOS, box=box, reducing_gap=REDUCING_GAP)


def _resize(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    if img.size == size:
        return img
    return img.resize(size, LANCZOS, reducing_gap=REDUCING_GAP)


def _letterbox(
    picture: Image.Image, width: int, height: int, background: tuple[int, int, int]
) -> Image.Image:
    canvas = Image.new(picture.mode, (width, height), (*background, 255)[: len(picture.mode)])
    canvas.paste(picture, ((width - picture.width) // 2, (height - picture.height) // 2))
    return canvas
