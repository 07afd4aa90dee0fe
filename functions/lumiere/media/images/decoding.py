"""Opening an untrusted image: the pixel limit checked on the header before any decoder
runs, only the accepted decoders, a JPEG decoded at the smallest DCT scale the output
needs, and every picture normalised to upright, sRGB, 8-bit RGB or RGBA without
metadata."""

from __future__ import annotations

import io
import math
import struct
import warnings
from functools import cache, lru_cache
from pathlib import Path

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from lumiere.errors import (
    CorruptInputError,
    LimitExceededError,
    PermanentError,
    ReasonCode,
    UnsupportedMediaError,
)
from lumiere.media.heif import register_heif
from lumiere.media.image_probe import still_frame_count
from lumiere.media.images.model import METADATA_TAGS, Source
from lumiere.media.jpeg_scaled import decode_scaled
from lumiere.media.sniff import SNIFF_BYTES, bmff_image_format, check_image_pixels

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
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError)

_ORIENTATION = 0x0112
_TRANSPOSING_ORIENTATIONS = frozenset({5, 6, 7, 8})
# The EXIF tags a preset may keep, by the names used in presets/images_*.json.


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
                raise corrupt_image() from e
            raise UnsupportedMediaError(
                "This image format is not supported. Upload a JPEG, PNG, GIF, WebP, "
                "HEIC, AVIF, TIFF or BMP file."
            ) from e
        except DECODE_ERRORS as e:
            raise corrupt_image() from e
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
    load_pixels(img)
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


def load_pixels(img: Image.Image) -> None:
    try:
        img.load()
    except Image.DecompressionBombError as e:
        raise _too_many_pixels(img.size, 0) from e
    except DECODE_ERRORS as e:
        raise corrupt_image() from e


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


def kept_exif(img: Image.Image, keep: tuple[str, ...]) -> bytes:
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
    except DECODE_ERRORS as e:
        raise corrupt_image() from e


def upright_size(img: Image.Image) -> tuple[int, int]:
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
    load_pixels(img)
    return img


def _draft(img: Image.Image, upright_width: int, target_width: float) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the output is that much
    smaller: the IDCT does the first reduction for free, in a fraction of the time."""
    if img.format not in ("JPEG", "MPO") or target_width >= upright_width:
        return
    scale = target_width / upright_width
    stored_w, stored_h = img.size
    img.draft(img.mode, (math.ceil(stored_w * scale), math.ceil(stored_h * scale)))


def frame_count(img: Image.Image) -> int:
    try:
        return still_frame_count(img)
    except DECODE_ERRORS as e:
        raise corrupt_image() from e


def _looks_like_image(data: bytes) -> bool:
    if data.startswith(_SIGNATURES):
        return True
    return (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or bmff_image_format(data) is not None


def corrupt_image() -> CorruptInputError:
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
