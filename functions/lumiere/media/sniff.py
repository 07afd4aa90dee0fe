"""Recognise a file from its first bytes, before any decoder sees it.

ffprobe decides what media is; this catches what is plainly *not* media so the person
gets a precise sentence ("this is a PDF"), and reads still-image headers so a
decompression bomb (a tiny PNG claiming 60000x60000 pixels) is refused before anything
tries to decode it.

HEIC/HEIF and AVIF stills are ISO-BMFF files like MP4: their ``ftyp`` brand tells them
apart, and the sizes they declare sit in ``ispe`` boxes read here without libheif.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from lumiere.errors import LimitExceededError, ReasonCode, UnsupportedMediaError
from lumiere.media.heif import register_heif

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

# ftyp brands of still-image files (ISO/IEC 23008-12 HEIF, and AVIF). ffprobe reads these
# as MP4s without a 'moov' box, or as a one-frame AV1 "video": they are images.
HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)
AVIF_BRANDS = frozenset({b"avif", b"avis"})
# An ftyp box lists a few compatible brands; more than this is not an image's.
_FTYP_MAX = 256


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


def bmff_image_format(head: bytes) -> str | None:
    """ "AVIF" or "HEIF" when the file's ftyp box names an AVIF or HEIF brand, major or
    compatible (an AVIF says "avif" and also the generic "mif1"); else None."""
    if head[4:8] != b"ftyp":
        return None
    end = min(int.from_bytes(head[:4], "big"), len(head), _FTYP_MAX)
    # major brand, minor version, then the compatible brands
    brands = {head[i : i + 4] for i in range(16, end - 3, 4)} | {head[8:12]}
    if brands & AVIF_BRANDS:
        return "AVIF"
    if brands & HEIF_BRANDS:
        return "HEIF"
    return None


def declared_bmff_size(head: bytes) -> tuple[int, int] | None:
    """The largest picture a HEIF/AVIF file declares (its ``ispe`` properties: the
    primary image or grid, tiles, thumbnails, alpha and depth planes), read from the
    box structure alone; None when the head holds no ``meta/iprp/ipco/ispe``."""
    sizes = [
        struct.unpack_from(">II", head, start + 4)  # after the FullBox version and flags
        for meta, meta_end in _boxes(head, 0, len(head), b"meta")
        for iprp, iprp_end in _boxes(head, meta + 4, meta_end, b"iprp")  # meta: a FullBox
        for ipco, ipco_end in _boxes(head, iprp, iprp_end, b"ipco")
        for start, end in _boxes(head, ipco, ipco_end, b"ispe")
        if end - start >= 12
    ]
    return max(sizes, key=lambda s: s[0] * s[1], default=None)


def _boxes(data: bytes, start: int, end: int, kind: bytes) -> Iterator[tuple[int, int]]:
    """(body start, body end) of each ``kind`` box between start and end; a box cut off
    by the end of ``data`` is walked as far as it goes."""
    pos = start
    while pos + 8 <= end:
        size, name = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:  # a 64-bit size follows the type
            if pos + 16 > end:
                return
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:  # the box runs to the end of the file
            size = end - pos
        if size < header:
            return
        if name == kind:
            yield pos + header, min(pos + size, end)
        pos += size


def image_header(head: bytes) -> ImageHeader | None:
    """Dimensions from a still image's header, without decoding pixels; None if the
    bytes are not an image Pillow recognises. For HEIF and AVIF, the largest picture
    the file declares: libheif refuses absurd sizes with an error that says nothing of
    pixels, so they are read here first."""
    still = bmff_image_format(head)
    declared = declared_bmff_size(head) if still else None
    if still and declared:
        return ImageHeader(format=still, width=declared[0], height=declared[1])
    register_heif()
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
