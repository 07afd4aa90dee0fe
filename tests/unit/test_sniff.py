import io

import pytest
from lumiere.errors import LimitExceededError, ReasonCode, UnsupportedMediaError
from lumiere.media.sniff import (
    check_image_pixels,
    image_header,
    is_transport_stream,
    refuse_non_media,
)
from PIL import Image

from tests.corpus import png_header_only


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
