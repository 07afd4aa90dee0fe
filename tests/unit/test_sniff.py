import io

import pytest
from lumiere.errors import LimitExceededError, ReasonCode, UnsupportedMediaError
from lumiere.media.sniff import (
    bmff_image_format,
    check_image_pixels,
    declared_bmff_size,
    image_header,
    is_transport_stream,
    refuse_non_media,
)
from PIL import Image

from tests.corpus import png_header_only
from tests.heic import enable_heic_writing


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"%PDF-1.7\n", "PDF"),
        (b"PK\x03\x04rest", "ZIP"),
        (b"\x7fELF\x02", "program"),
        (b"#!/bin/sh\n", "script"),
        (b"\xef\xbb\xbf  <!DOCTYPE html><html>", "web page"),
        (b'<?xml version="1.0"?><svg xmlns="x">', "SVG"),
    ],
)
def test_recognisable_non_media_is_named(head: bytes, what: str) -> None:
    with pytest.raises(UnsupportedMediaError) as e:
        refuse_non_media(head)
    assert what in e.value.message


@pytest.mark.parametrize(
    "head", [b"\x00\x00\x00\x18ftypmp42", b"RIFF\x00\x00\x00\x00WAVE", b"\xff\xd8\xff\xe0", b""]
)
def test_media_signatures_pass(head: bytes) -> None:
    refuse_non_media(head)


def test_image_header_reads_size_without_decoding() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (123, 45)).save(buf, "PNG")
    header = image_header(buf.getvalue())
    assert header is not None
    assert (header.format, header.width, header.height) == ("PNG", 123, 45)
    assert image_header(b"not an image") is None


def test_decompression_bomb_refused_from_header_alone() -> None:
    bomb = png_header_only(60000, 60000)
    assert len(bomb) < 200
    with pytest.raises(LimitExceededError) as e:
        check_image_pixels(bomb, max_pixels=8192 * 8192)
    assert e.value.reason is ReasonCode.TOO_MANY_PIXELS


def test_pixel_limit_is_configurable() -> None:
    small = png_header_only(100, 100)
    assert check_image_pixels(small, max_pixels=10_000) is not None
    with pytest.raises(LimitExceededError):
        check_image_pixels(small, max_pixels=9_999)


def _packets(size: int, prefix: int, count: int = 6) -> bytes:
    packet = bytes(prefix) + b"\x47" + bytes(size - prefix - 1)
    return packet * count


@pytest.mark.parametrize(("size", "prefix"), [(188, 0), (192, 4)], ids=["ts", "m2ts"])
def test_transport_streams_are_refused_with_the_remux_to_do(size: int, prefix: int) -> None:
    with pytest.raises(UnsupportedMediaError, match=r"-c copy out\.mp4"):
        refuse_non_media(_packets(size, prefix))


def test_a_lone_sync_byte_is_not_a_transport_stream() -> None:
    head = b"\x47" + bytes(187) + b"\x00" + bytes(400)  # 0x47 once, not every packet
    assert not is_transport_stream(head)
    assert not is_transport_stream(b"\x47" * 100)  # too short to hold three packets


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\0\0\0\0" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (ftyp(b"heic", b"mif1", b"heic"), "HEIF"),  # an iPhone photo
        (ftyp(b"mif1", b"heic"), "HEIF"),
        (ftyp(b"msf1", b"hevc"), "HEIF"),
        (ftyp(b"heix"), "HEIF"),
        (ftyp(b"avif", b"mif1", b"miaf"), "AVIF"),
        (ftyp(b"mif1", b"avif"), "AVIF"),  # the generic brand first, AVIF compatible
        (ftyp(b"avis", b"msf1"), "AVIF"),
        (ftyp(b"isom", b"iso2", b"avc1", b"mp41"), None),  # an MP4 video
        (ftyp(b"qt  "), None),
        (b"\xff\xd8\xff\xe0", None),
    ],
)
def test_heif_and_avif_are_told_from_mp4_by_brand(head: bytes, expected: str | None) -> None:
    assert bmff_image_format(head) == expected


@pytest.mark.parametrize(("fmt", "expected"), [("HEIF", "HEIF"), ("AVIF", "AVIF")])
def test_heif_and_avif_headers_give_their_declared_size(fmt: str, expected: str) -> None:
    enable_heic_writing()
    buf = io.BytesIO()
    Image.new("RGB", (96, 64), (10, 20, 30)).save(buf, fmt, quality=50)
    data = buf.getvalue()
    assert declared_bmff_size(data) == (96, 64)
    header = image_header(data)
    assert header is not None
    assert (header.format, header.width, header.height) == (expected, 96, 64)
    # a head cut inside the meta box still yields what it holds, or nothing; never raises
    for cut in range(0, len(data), 7):
        size = declared_bmff_size(data[:cut])
        assert size is None or size == (96, 64)
    assert declared_bmff_size(b"\0\0\0\x10ftypisom\0\0\0\0" + b"\0\0\0\0mdat") is None
