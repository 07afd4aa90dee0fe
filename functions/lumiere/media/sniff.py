"""Recognise a file from its first bytes, before any decoder sees it.

ffprobe decides what media is; this catches what is plainly *not* media so the person
gets a precise sentence ("this is a PDF"), and reads still-image headers so a
decompression bomb (a tiny PNG claiming 60000x60000 pixels) is refused before anything
tries to decode it.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from lumiere.errors import LimitExceededError, ReasonCode, UnsupportedMediaError

# How much of the file the sniffer reads: enough for image headers behind large EXIF.
SNIFF_BYTES = 256 * 1024

# Formats that are certainly not media, by signature.
_NOT_MEDIA: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"MZ", "a Windows program"),
    (b"#!", "a script"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
)
_MARKUP = (b"<!doctype html", b"<html", b"<?xml", b"<svg", b"<head", b"<body")


@dataclass(frozen=True)
class ImageHeader:
    format: str
    width: int
    height: int


def refuse_non_media(head: bytes) -> None:
    """Raise UnsupportedMediaError for bytes that are recognisably not media."""
    for signature, what in _NOT_MEDIA:
        if head.startswith(signature):
            raise UnsupportedMediaError(_not_media(what))
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(_MARKUP):
        what = "an SVG drawing" if b"<svg" in start[:1024] else "a web page or XML document"
        raise UnsupportedMediaError(_not_media(what))
    if is_transport_stream(head):
        # The pinned static ffmpeg 6.0 build crashes (SIGSEGV) in its MPEG-TS demuxer on
        # any transport stream, valid or not: refused by name rather than reported as a
        # damaged file after a crash.
        raise UnsupportedMediaError(
            "MPEG transport streams (.ts, .m2ts, .mts) are not supported by this "
            "deployment. Remux the file to MP4 without re-encoding (for example "
            "`ffmpeg -i in.ts -c copy out.mp4`) and upload that."
        )


def is_transport_stream(head: bytes) -> bool:
    """MPEG-TS (188-byte packets) or M2TS (192: a 4-byte timecode, then the packet),
    known by the 0x47 sync byte recurring at every packet start."""
    for size, offset in ((188, 0), (192, 4)):
        starts = range(offset, min(len(head), offset + 5 * size), size)
        if len(starts) >= 3 and all(head[i] == 0x47 for i in starts):
            return True
    return False


def image_header(head: bytes) -> ImageHeader | None:
    """Dimensions from a still image's header, without decoding pixels; None if the
    bytes are not an image Pillow recognises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(head)) as img:
                return ImageHeader(format=str(img.format), width=img.width, height=img.height)
        except Image.DecompressionBombError as e:
            # Pillow refuses absurd sizes outright; report them as the limit they break.
            raise LimitExceededError(
                "The image declares more pixels than can be processed safely.",
                reason=ReasonCode.TOO_MANY_PIXELS,
            ) from e
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            return None


def check_image_pixels(head: bytes, max_pixels: int) -> ImageHeader | None:
    header = image_header(head)
    if header is not None and header.width * header.height > max_pixels:
        raise LimitExceededError(
            f"The image is {header.width}x{header.height} pixels; at most {max_pixels:,} "
            "pixels are accepted. Resize it and upload it again.",
            reason=ReasonCode.TOO_MANY_PIXELS,
        )
    return header


def _not_media(what: str) -> str:
    return (
        f"This file is {what}, not a video, audio or image file, whatever its name says. "
        "Check that you picked the right file and upload it again."
    )
