"""The still-image pipeline: orientation, metadata, colour, bit depth, animation, bombs,
variants, transform and smart crop. Every input is generated here with Pillow."""

from __future__ import annotations

import base64
import dataclasses
import io
import random
import struct
import time
import tracemalloc
import zlib

import pytest
from lumiere.errors import PermanentError, ReasonCode
from lumiere.media.images import (
    CONTENT_TYPES,
    CropFocus,
    ImagePreset,
    animated_to_webp,
    can_encode,
    load_image_preset,
    make_variants,
    open_image,
    open_upright,
    plan_widths,
    thumbhash,
    transform,
)
from lumiere.media.smartcrop import choose_crop, crop_size
from PIL import Image, ImageCms, ImageDraw, ImageStat

from tests.corpus import heic_declaring
from tests.heic import enable_heic_writing

RED = (255, 0, 0)
BLUE = (0, 0, 255)
GPS_IFD, EXIF_IFD = 0x8825, 0x8769
BODY_SERIAL, COPYRIGHT, ORIENTATION = 0xA431, 0x8298, 0x0112
SERIAL, XMP_MARK = "SN-0451-SECRET", b"XMP-SECRET-MARK"

# What Pillow's exif_transpose does to show each orientation upright; the stored
# picture is made with the inverse, so applying it must give the original back.
_INVERSE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # shown with ROTATE_270
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,  # shown with ROTATE_90
}


def small_preset(**changes: object) -> ImagePreset:
    """The default preset with small widths, so tests encode in milliseconds."""
    base = dataclasses.replace(load_image_preset(), widths=(32, 64, 128))
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def encoded(img: Image.Image, fmt: str = "JPEG", **kwargs: object) -> bytes:
    if fmt == "HEIF":
        enable_heic_writing()
    out = io.BytesIO()
    img.save(out, fmt, **kwargs)
    return out.getvalue()


def decoded(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=False))


def upright_picture(width: int = 240, height: int = 160) -> Image.Image:
    """White, with a red block top-left and a blue block bottom-right: any flip or turn
    moves the red block away from the top-left corner."""
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, width // 3, height // 3), fill=RED)
    draw.rectangle((width * 2 // 3, height * 2 // 3, width, height), fill=BLUE)
    return img


def private_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F], exif[0x0110] = "Lumiere Cameras", "Model Z"
    exif[COPYRIGHT] = "(c) Test Owner"
    exif.get_ifd(EXIF_IFD)[BODY_SERIAL] = SERIAL
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    return exif


def xmp_packet() -> bytes:
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
        b'02/22-rdf-syntax-ns#"><rdf:Description>' + XMP_MARK + b"</rdf:Description>"
        b"</rdf:RDF></x:xmpmeta>"
    )


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_file(width: int, height: int, depth: int, colour: int, rows: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


# ------------------------------------------------------------------ orientation


def stored_orientation(data: bytes) -> int | None:
    """The orientation tag of the file's own EXIF block, read from the bytes (pillow-heif
    reports 1 once it has applied the container's turn)."""
    start = data.find(b"MM\0*") if b"MM\0*" in data else data.find(b"II*\0")
    exif = Image.Exif()
    exif.load(data[start:])
    return exif.get(ORIENTATION)


@pytest.mark.parametrize("fmt", ["JPEG", "HEIF", "AVIF"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_gives_upright_variants(orientation: int, fmt: str) -> None:
    """A HEIC stores the turn twice, as the container's irot/imir and as the EXIF tag,
    like an iPhone's: it must be applied once. Pillow writes an AVIF's as irot/imir."""
    upright = upright_picture()
    method = _INVERSE[orientation]
    stored = upright.transpose(method) if method is not None else upright
    data = encoded(stored, fmt, quality=95, exif=private_exif(orientation).tobytes())
    if fmt != "JPEG" and orientation != 1:
        assert b"irot" in data or b"imir" in data
    if fmt == "HEIF":
        assert stored_orientation(data) == orientation

    facts, variants = make_variants(data, small_preset())

    assert (facts.width, facts.height) == (240, 160)
    assert variants
    for variant in variants:
        img = decoded(variant.data).convert("RGB")
        assert img.width > img.height, variant.name
        w, h = img.size
        assert close(img.getpixel((w // 10, h // 10)), RED), variant.name
        assert close(img.getpixel((w - 1 - w // 10, h - 1 - h // 10)), BLUE), variant.name
        assert img.getexif().get(ORIENTATION) in (None, 1)


def test_orientation_survives_draft_decoding() -> None:
    """A large turned JPEG decoded at 1/8 scale is still turned upright."""
    upright = upright_picture(2400, 1600)
    data = encoded(upright.transpose(Image.Transpose.ROTATE_90), exif=private_exif(6).tobytes())
    _, variants = make_variants(data, small_preset(widths=(160,)))
    img = decoded(variants[0].data).convert("RGB")
    assert img.size == (160, 107)
    assert close(img.getpixel((10, 10)), RED)


# ------------------------------------------------------------------ metadata


def test_gps_serial_and_xmp_are_stripped_and_copyright_kept() -> None:
    data = encoded(upright_picture(), exif=private_exif().tobytes(), xmp=xmp_packet())
    source = decoded(data)
    assert GPS_IFD in source.getexif()
    assert XMP_MARK in data
    assert SERIAL.encode() in data

    _, variants = make_variants(data, small_preset())
    shaped = transform(data, width=50, height=50, format="jpeg")
    for variant in [*variants, shaped]:
        assert SERIAL.encode() not in variant.data, variant.name
        assert XMP_MARK not in variant.data, variant.name
        assert b"Lumiere Cameras" not in variant.data, variant.name
        exif = decoded(variant.data).getexif()
        assert GPS_IFD not in exif
        assert BODY_SERIAL not in exif.get_ifd(EXIF_IFD)
        assert "xmp" not in decoded(variant.data).info
    for variant in variants:  # the allow-list (copyright, artist) is carried over
        assert decoded(variant.data).getexif().get(COPYRIGHT) == "(c) Test Owner", variant.name


def test_keep_nothing_means_no_exif_at_all() -> None:
    data = encoded(upright_picture(), exif=private_exif().tobytes())
    _, variants = make_variants(data, small_preset(keep_metadata=()))
    for variant in variants:
        assert len(decoded(variant.data).getexif()) == 0, variant.name


# ------------------------------------------------------------------ colour


def test_cmyk_jpeg_comes_out_rgb_with_its_colours() -> None:
    cmyk = Image.new("CMYK", (200, 100), (0, 255, 255, 0))  # red
    ImageDraw.Draw(cmyk).rectangle((100, 0, 200, 100), fill=(255, 255, 0, 0))  # blue
    _, variants = make_variants(encoded(cmyk, quality=95), small_preset())
    for variant in variants:
        img = decoded(variant.data)
        assert img.mode in ("RGB", "RGBA")
        rgb = img.convert("RGB")
        assert close(rgb.getpixel((5, rgb.height // 2)), RED, 50), variant.name
        assert close(rgb.getpixel((rgb.width - 5, rgb.height // 2)), BLUE, 100), variant.name


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + struct.pack(">3i", *(round(v * 65536) for v in (x, y, z)))


def swapped_primaries_profile() -> bytes:
    """A matrix/TRC ICC v2 display profile whose red and blue colorants are sRGB's blue
    and red: a pixel that says (255, 0, 0) in it is blue once converted to sRGB."""
    text = b"Swapped primaries (test)"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text) + 1) + text + b"\0"
    desc += b"\0" * 8 + b"\0\0\0" + b"\0" * 67
    gamma = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233) + b"\0\0"
    tags = [
        (b"desc", desc),
        (b"cprt", b"text\0\0\0\0no copyright\0"),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(0.1431, 0.0606, 0.7141)),  # sRGB's blue
        (b"gXYZ", _xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", _xyz(0.4361, 0.2225, 0.0139)),  # sRGB's red
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        padded = data + b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += padded
    header = bytearray(128)
    size = 128 + 4 + len(table) + len(body)
    struct.pack_into(">I", header, 0, size)
    struct.pack_into(">I", header, 8, 0x02100000)
    header[12:24] = b"mntrRGB XYZ "
    struct.pack_into(">6H", header, 24, 2024, 1, 1, 0, 0, 0)
    header[36:40] = b"acsp"
    header[68:80] = _xyz(0.9642, 1.0, 0.8249)[8:]
    return bytes(header) + struct.pack(">I", len(tags)) + table + body


def test_embedded_non_srgb_profile_is_converted_not_kept() -> None:
    icc = swapped_primaries_profile()
    try:
        ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except (ImageCms.PyCMSError, OSError):  # pragma: no cover - Pillow without lcms
        pytest.skip("this Pillow cannot read ICC profiles")
    data = encoded(Image.new("RGB", (64, 64), RED), quality=95, icc_profile=icc)
    _, variants = make_variants(data, small_preset())
    for variant in variants:
        img = decoded(variant.data)
        assert not img.info.get("icc_profile"), variant.name
        rgb = img.convert("RGB").getpixel((10, 10))
        assert close(rgb, BLUE, 80), f"{variant.name}: {rgb} was not converted"


def test_srgb_profile_leaves_colours_alone() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encoded(Image.new("RGB", (64, 64), (200, 120, 40)), quality=95, icc_profile=srgb)
    img = open_upright(data, max_pixels=10**6)
    assert close(img.getpixel((5, 5)), (200, 120, 40), 6)
    assert img.info == {}


# ------------------------------------------------------------------ bit depth and alpha


def sixteen_bit_rgba_png(width: int = 64, height: int = 32) -> bytes:
    """Left half opaque red, right half green at 50% alpha, 16 bits per sample."""
    opaque_red = struct.pack(">4H", 65535, 0, 0, 65535)
    half_green = struct.pack(">4H", 0, 65535, 0, 32768)
    row = b"\0" + opaque_red * (width // 2) + half_green * (width - width // 2)
    return png_file(width, height, 16, 6, row * height)


def test_sixteen_bit_png_with_alpha() -> None:
    data = sixteen_bit_rgba_png()
    facts, variants = make_variants(data, small_preset())
    assert facts.has_alpha
    assert (facts.width, facts.height) == (64, 32)
    assert [v.width for v in variants if v.format == "jpeg"] == [64, 32]
    for variant in variants:
        img = decoded(variant.data)
        w, h = img.size
        if variant.format == "jpeg":
            assert img.mode == "RGB"
            assert close(img.getpixel((2, h // 2)), RED)
            assert close(img.getpixel((w - 3, h // 2)), (127, 255, 127))  # on white
        else:
            rgba = img.convert("RGBA")
            assert close(rgba.getpixel((2, h // 2)), (*RED, 255)), variant.name
            # Lossy codecs may shift colour under partial alpha a little.
            assert close(rgba.getpixel((w - 3, h // 2)), (0, 255, 0, 128), 40), variant.name
    png = decoded(transform(data, width=64, fit="inside", format="png").data)
    assert png.mode == "RGBA"
    assert abs(png.getpixel((60, 16))[3] - 128) <= 1


def test_sixteen_bit_grayscale_png_is_scaled_not_clipped() -> None:
    row = b"\0" + struct.pack(">H", 32768) * 16
    img = open_upright(png_file(16, 4, 16, 0, row * 4), max_pixels=10**6)
    assert img.mode == "RGB"
    assert close(img.getpixel((3, 1)), (128, 128, 128), 2)


@pytest.mark.parametrize("mode", ["P", "LA", "L", "1", "RGBA"])
def test_other_modes_come_out_rgb_or_rgba(mode: str) -> None:
    img = Image.new("RGBA", (40, 40), (255, 0, 0, 255))
    ImageDraw.Draw(img).rectangle((20, 0, 40, 40), fill=(0, 0, 255, 0))
    if mode == "P":
        source = img.convert("P", palette=Image.Palette.ADAPTIVE)
        source.info["transparency"] = source.getpixel((30, 5))
    else:
        source = img.convert(mode)
    out = open_upright(encoded(source, "PNG"), max_pixels=10**6)
    assert out.mode in ("RGB", "RGBA")
    assert out.mode == ("RGBA" if mode in ("P", "LA", "RGBA") else "RGB")


# ------------------------------------------------------------------ animation


def animated_gif() -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    frames = [Image.new("RGB", (48, 32), c) for c in colours]
    return encoded(
        frames[0],
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=[100, 200, 300, 400],
        loop=0,
    )


def test_animated_gif_keeps_frames_delays_and_loop_in_webp() -> None:
    webp = decoded(animated_to_webp(animated_gif(), small_preset()))
    assert webp.format == "WEBP"
    assert webp.n_frames == 4
    assert webp.info.get("loop") == 0
    expected = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    for index, colour in enumerate(expected):
        webp.seek(index)
        assert close(webp.convert("RGB").getpixel((24, 16)), colour), index
        assert webp.info["duration"] == 100 * (index + 1)


def test_animated_webp_can_be_narrowed() -> None:
    webp = decoded(animated_to_webp(animated_gif(), small_preset(), max_width=24))
    assert webp.size == (24, 16)
    assert webp.n_frames == 4


def test_animated_source_facts_and_still_variants() -> None:
    facts, variants = make_variants(animated_gif(), small_preset())
    assert facts.animated
    assert facts.frame_count == 4
    assert close(decoded(variants[0].data).convert("RGB").getpixel((5, 5)), RED)


def test_too_many_frames_are_refused() -> None:
    with pytest.raises(PermanentError) as caught:
        animated_to_webp(animated_gif(), small_preset(max_animation_pixels=48 * 32 * 3))
    assert caught.value.reason == ReasonCode.TOO_MANY_PIXELS


# ------------------------------------------------------------------ bombs and damage


def bomb_png() -> bytes:
    """A valid PNG header claiming 60000x60000 RGB, with a tiny IDAT: never decode it."""
    return png_file(60000, 60000, 8, 2, b"\0" * 64)


def _refuse(call: str, data: bytes) -> None:
    if call == "variants":
        make_variants(data)
    elif call == "transform":
        transform(data, width=100, height=100)
    elif call == "animated":
        animated_to_webp(data)
    else:
        open_upright(data, max_pixels=8192 * 8192)


@pytest.mark.parametrize("call", ["variants", "transform", "animated", "upright"])
def test_decompression_bomb_is_refused_before_decoding(call: str) -> None:
    data = bomb_png()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(PermanentError) as caught:
            _refuse(call, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.reason == ReasonCode.TOO_MANY_PIXELS
    assert time.perf_counter() - started < 1.0
    assert peak < 50 * 1024 * 1024


def test_image_just_over_the_preset_limit_is_refused() -> None:
    data = encoded(Image.new("RGB", (200, 100)), "PNG")
    with pytest.raises(PermanentError) as caught:
        make_variants(data, small_preset(max_pixels=199 * 100))
    assert caught.value.reason == ReasonCode.TOO_MANY_PIXELS


def noisy(width: int, height: int, seed: int = 7) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))


def test_heic_exif_orientation_without_irot_is_not_applied() -> None:
    """HEIF readers (libheif, libvips, Apple's) turn a picture by the container's
    irot/imir only; an EXIF tag the container does not confirm is ignored, not applied
    on top."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    data = encoded(upright_picture(), "HEIF", quality=95, exif=exif)  # an Exif: no irot
    assert b"irot" not in data
    assert stored_orientation(data) == 6
    facts, variants = make_variants(data, small_preset())
    assert (facts.width, facts.height) == (240, 160)
    img = decoded(variants[0].data).convert("RGB")
    assert img.width > img.height
    assert close(img.getpixel((5, 5)), RED)


@pytest.mark.parametrize("call", ["variants", "transform", "upright"])
@pytest.mark.parametrize("size", [(9000, 9000), (60000, 60000)])
def test_heic_bomb_is_refused_from_its_header(call: str, size: tuple[int, int]) -> None:
    """9000x9000 is within libheif's own limit but over the preset's; 60000x60000 is
    refused by libheif too, with an error that would otherwise read as damage."""
    data = heic_declaring(*size)
    tracemalloc.start()
    try:
        with pytest.raises(PermanentError) as caught:
            _refuse(call, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.reason == ReasonCode.TOO_MANY_PIXELS
    assert f"{size[0]}x{size[1]}" in caught.value.message
    assert peak < 50 * 1024 * 1024


def test_heic_is_read_by_the_decode_only_build_lambda_ships() -> None:
    """pi-heif, the only HEIF reader in the Lambda package, reads every HEIC Lumiere
    opens, even after another library registered pillow-heif's reader over it (the
    tests write with pillow-heif; imageio registers it whenever it reads a picture)."""
    import pillow_heif

    data = encoded(upright_picture(), "HEIF", quality=80)
    open_image(data, max_pixels=100_000)  # Lumiere's reader is registered by now
    pillow_heif.register_heif_opener()  # as imageio does
    assert type(Image.open(io.BytesIO(data))).__module__.startswith("pillow_heif.")
    img = open_image(data, max_pixels=100_000)
    assert type(img).__module__.startswith("pi_heif.")
    assert type(Image.open(io.BytesIO(data))).__module__.startswith("pi_heif.")


def test_heic_within_the_limit_is_not_refused() -> None:
    data = encoded(upright_picture(), "HEIF", quality=80)
    facts, variants = make_variants(data, small_preset(max_pixels=240 * 160))
    assert (facts.format, facts.width, facts.height) == ("HEIF", 240, 160)
    assert [v.width for v in variants if v.format == "jpeg"] == [128, 64, 32]


def test_heic_metadata_is_stripped_and_copyright_kept() -> None:
    data = encoded(upright_picture(), "HEIF", quality=80, exif=private_exif().tobytes())
    assert SERIAL.encode() in data
    assert GPS_IFD in decoded(data).getexif()
    _, variants = make_variants(data, small_preset())
    for variant in variants:
        assert SERIAL.encode() not in variant.data, variant.name
        exif = decoded(variant.data).getexif()
        assert GPS_IFD not in exif, variant.name
        assert exif.get(COPYRIGHT) == "(c) Test Owner", variant.name


def test_heic_profile_is_converted_to_srgb() -> None:
    data = encoded(
        Image.new("RGB", (64, 64), RED), "HEIF", quality=95, icc_profile=swapped_primaries_profile()
    )
    assert decoded(data).info.get("icc_profile")
    _, variants = make_variants(data, small_preset())
    for variant in variants:
        img = decoded(variant.data)
        assert not img.info.get("icc_profile"), variant.name
        assert close(img.convert("RGB").getpixel((10, 10)), BLUE, 80), variant.name


def test_heic_with_alpha_keeps_it_where_the_format_has_it() -> None:
    img = Image.new("RGBA", (64, 64), (0, 200, 0, 255))
    img.paste((0, 0, 255, 0), (0, 0, 32, 64))
    facts, variants = make_variants(encoded(img, "HEIF", quality=90), small_preset())
    assert facts.has_alpha
    webp = decoded(next(v for v in variants if v.format == "webp").data)
    assert webp.mode == "RGBA"
    assert webp.getpixel((2, 2))[3] < 20
    assert webp.getpixel((webp.width - 3, 2))[3] > 235


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "HEIF", "AVIF"])
def test_truncated_file_is_corrupt(fmt: str) -> None:
    data = encoded(noisy(128, 128), fmt)
    with pytest.raises(PermanentError) as caught:
        make_variants(data[: len(data) // 2], small_preset())
    assert caught.value.reason == ReasonCode.CORRUPT


def test_png_signature_with_garbage_is_corrupt() -> None:
    with pytest.raises(PermanentError) as caught:
        make_variants(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    assert caught.value.reason == ReasonCode.CORRUPT


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"just some text, not a picture at all", ReasonCode.UNSUPPORTED_FORMAT),
        (b"", ReasonCode.EMPTY_FILE),
    ],
)
def test_not_an_image(data: bytes, reason: ReasonCode) -> None:
    with pytest.raises(PermanentError) as caught:
        make_variants(data)
    assert caught.value.reason == reason


def test_formats_outside_the_allow_list_are_refused() -> None:
    data = encoded(Image.new("RGB", (16, 16)), "ICO")
    with pytest.raises(PermanentError) as caught:
        make_variants(data)
    assert caught.value.reason == ReasonCode.UNSUPPORTED_FORMAT


# ------------------------------------------------------------------ variants


def photo_like(width: int, height: int, seed: int = 3) -> Image.Image:
    rng = random.Random(seed)
    gradient = Image.linear_gradient("L").resize((width, height))
    img = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_180), gradient))
    draw = ImageDraw.Draw(img)
    for _ in range(30):
        x, y = rng.randrange(width), rng.randrange(height)
        size = rng.randrange(10, max(11, width // 4))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x, y, x + size, y + size), fill=colour)
    return img


def test_default_preset_widths_and_formats() -> None:
    preset = load_image_preset()
    assert preset.widths == (160, 320, 640, 1280, 2048)
    assert {"jpeg", "webp"} <= set(preset.formats)
    data = encoded(photo_like(3000, 2000), quality=90)
    facts, variants = make_variants(data, preset)
    formats = [f for f in preset.formats if can_encode(f)]
    assert len(variants) == 5 * len(formats)
    widths = sorted({v.width for v in variants})
    assert widths == [160, 320, 640, 1280, 2048]
    for variant in variants:
        img = decoded(variant.data)
        assert img.size == (variant.width, variant.height)
        assert variant.height == round(2000 * variant.width / 3000)
        assert img.format.lower() == variant.format
        assert variant.content_type == CONTENT_TYPES[variant.format]
        assert 200 < len(variant.data) < variant.width * variant.height  # < 8 bits/pixel
    by_format: dict[str, list[int]] = {}
    for variant in sorted(variants, key=lambda v: v.width):
        by_format.setdefault(variant.format, []).append(len(variant.data))
    for fmt, sizes in by_format.items():
        assert sizes == sorted(sizes), fmt  # wider is larger
    assert facts.width == 3000
    assert not facts.has_alpha
    assert not facts.animated


def test_jpeg_outputs_are_progressive() -> None:
    _, variants = make_variants(encoded(photo_like(400, 300)), small_preset())
    for variant in variants:
        if variant.format == "jpeg":
            assert decoded(variant.data).info.get("progressive")


def test_avif_is_made_only_when_pillow_encodes_it() -> None:
    _, variants = make_variants(encoded(photo_like(200, 100)), small_preset())
    assert any(v.format == "avif" for v in variants) == can_encode("avif")


@pytest.mark.parametrize(
    ("source_width", "expected"),
    [
        (4000, (2048, 1280, 640, 320, 160)),
        (2048, (2048, 1280, 640, 320, 160)),
        (1500, (1500, 1280, 640, 320, 160)),
        (700, (640, 320, 160)),  # 700 is within 15% of 640: no near-duplicate
        (500, (500, 320, 160)),
        (100, (100,)),
        (1, (1,)),
    ],
)
def test_widths_never_upscale(source_width: int, expected: tuple[int, ...]) -> None:
    assert plan_widths(source_width, load_image_preset()) == expected


def test_small_source_is_never_upscaled() -> None:
    _, variants = make_variants(encoded(photo_like(500, 250)), load_image_preset())
    assert sorted({v.width for v in variants}) == [160, 320, 500]
    assert max(v.height for v in variants) == 250


def test_facts_colour_and_placeholder() -> None:
    img = Image.new("RGB", (300, 200), (20, 60, 200))
    ImageDraw.Draw(img).rectangle((0, 0, 60, 40), fill=(250, 250, 250))
    facts, _ = make_variants(encoded(img, quality=95), small_preset())
    assert close(tuple(int(facts.dominant_color[i : i + 2], 16) for i in (1, 3, 5)), (20, 60, 200))
    hash_ = base64.b64decode(facts.placeholder)
    assert 5 < len(hash_) <= 25
    header = hash_[0] | hash_[1] << 8 | hash_[2] << 16
    lum, p, q = (
        (header & 63) / 63,
        ((header >> 6) & 63) / 31.5 - 1,
        ((header >> 12) & 63) / 31.5 - 1,
    )
    b = lum - 2 / 3 * p
    r = (3 * lum - b + q) / 2
    g = r - q
    mean = ImageStat.Stat(img).mean
    assert close((round(r * 255), round(g * 255), round(b * 255)), tuple(map(round, mean)), 12)
    assert hash_[4] >> 7 == 1  # landscape flag


def test_thumbhash_marks_alpha() -> None:
    img = Image.new("RGBA", (40, 40), (255, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((10, 10, 30, 30), fill=(255, 0, 0, 255))
    assert thumbhash(img)[2] >> 7 == 1
    assert thumbhash(img.convert("RGB"))[2] >> 7 == 0


# ------------------------------------------------------------------ transform


@pytest.mark.parametrize(
    ("fit", "width", "height", "expected"),
    [
        ("cover", 100, 100, (100, 100)),
        ("contain", 100, 100, (100, 100)),
        ("inside", 100, 100, (100, 75)),
        ("cover", 200, 50, (200, 50)),
        ("inside", 200, 50, (67, 50)),
        ("inside", 200, None, (200, 150)),
        ("cover", None, 30, (40, 30)),
        ("cover", 800, 800, (300, 300)),  # no upscaling: same shape, as big as it fills
        ("contain", 800, 400, (600, 300)),  # the box shrinks until the picture fits
        ("inside", 800, 600, (400, 300)),
    ],
)
def test_transform_sizes(fit: str, width: int | None, height: int | None, expected: tuple) -> None:
    data = encoded(photo_like(400, 300))
    variant = transform(data, width=width, height=height, fit=fit, format="jpeg")  # type: ignore[arg-type]
    assert (variant.width, variant.height) == expected
    assert decoded(variant.data).size == expected


def test_transform_contain_letterboxes() -> None:
    data = encoded(Image.new("RGB", (400, 100), (0, 0, 0)), "PNG")
    img = decoded(transform(data, width=100, height=100, fit="contain", format="png").data)
    assert img.getpixel((50, 2))[:3] == (255, 255, 255)
    assert img.getpixel((50, 50))[:3] == (0, 0, 0)


def test_transform_paints_the_background_asked_for() -> None:
    # contain's padding, and what a transparent picture lets through when saved as JPEG
    black_bar = encoded(Image.new("RGB", (400, 100), (0, 0, 0)), "PNG")
    padded = transform(black_bar, width=100, height=100, fit="contain", format="png",
                       background=(0, 0, 255))  # fmt: skip
    assert decoded(padded.data).getpixel((50, 2))[:3] == (0, 0, 255)
    clear = encoded(Image.new("RGBA", (40, 40), (255, 0, 0, 0)), "PNG")
    jpeg = transform(clear, width=20, format="jpeg", background=(0, 128, 0))
    assert close(decoded(jpeg.data).convert("RGB").getpixel((10, 10)), (0, 128, 0))
    assert close(decoded(transform(clear, width=20, format="jpeg").data).getpixel((10, 10)),
                 (255, 255, 255))  # fmt: skip


@pytest.mark.parametrize(
    ("point", "colour"), [((0.5, 0.0), (255, 0, 0)), ((0.5, 1.0), (0, 0, 255))]
)
def test_a_cover_crop_centres_on_the_point_given(
    point: tuple[float, float], colour: tuple[int, int, int]
) -> None:
    tall = Image.new("RGB", (100, 300), (0, 0, 255))
    tall.paste((255, 0, 0), (0, 0, 100, 100))  # the top third red, the rest blue
    square = transform(encoded(tall, "PNG"), width=50, height=50, fit="cover", format="png",
                       focus=CropFocus(point=point))  # fmt: skip
    picture = decoded(square.data).convert("RGB")
    assert all(close(picture.getpixel((x, y)), colour) for x in (2, 47) for y in (2, 47))


def test_transform_uses_draft_on_big_jpegs_and_stays_upright() -> None:
    upright = upright_picture(3200, 2400)
    data = encoded(upright.transpose(Image.Transpose.ROTATE_270), exif=private_exif(8).tobytes())
    img = decoded(transform(data, width=80, height=60, fit="cover", format="webp").data)
    assert img.size == (80, 60)
    assert close(img.convert("RGB").getpixel((5, 5)), RED)


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "png"])
def test_transform_formats(fmt: str) -> None:
    variant = transform(encoded(photo_like(200, 100)), width=50, format=fmt)
    assert decoded(variant.data).format.lower() == fmt
    assert variant.content_type == CONTENT_TYPES[fmt]


def test_transform_rejects_nonsense() -> None:
    data = encoded(photo_like(20, 20))
    for kwargs in (
        {},
        {"width": 0},
        {"width": 10, "fit": "stretch"},
        {"width": 10, "format": "bmp"},
    ):
        with pytest.raises(PermanentError) as caught:
            transform(data, **kwargs)  # type: ignore[arg-type]
        assert caught.value.reason == ReasonCode.INVALID_REQUEST


# ------------------------------------------------------------------ smart crop


def picture_with_face(width: int = 600, height: int = 200) -> Image.Image:
    img = photo_like(width, height)
    ImageDraw.Draw(img).rectangle((420, 80, 460, 120), fill=(0, 255, 0))  # the "face"
    return img


def test_crop_centres_on_a_face() -> None:
    img = picture_with_face()
    box = choose_crop(img, 1.0, faces=[(420, 80, 460, 120)])
    assert box == (340, 0, 540, 200)
    data = encoded(img, "PNG")
    focus = CropFocus(faces=((420 / 600, 80 / 200, 460 / 600, 120 / 200),))
    out = decoded(transform(data, width=100, height=100, focus=focus, format="png").data)
    assert close(out.convert("RGB").getpixel((50, 50)), (0, 255, 0), 10)


def test_crop_on_a_face_near_the_edge_stays_inside() -> None:
    img = picture_with_face()
    assert choose_crop(img, 1.0, faces=[(580, 10, 600, 30)]) == (400, 0, 600, 200)
    assert choose_crop(img, 1.0, faces=[(0, 10, 10, 30)]) == (0, 0, 200, 200)


def test_crop_point_focus() -> None:
    data = encoded(picture_with_face(), "PNG")
    out = transform(data, width=100, height=100, focus=CropFocus(point=(0.73, 0.5)), format="png")
    assert close(decoded(out.data).convert("RGB").getpixel((50, 50)), (0, 255, 0), 10)


@pytest.mark.parametrize(
    ("size", "detail", "ratio"),
    [
        ((600, 200), (500, 110, 590, 190), 1.0),  # bottom-right
        ((600, 200), (5, 5, 90, 90), 1.0),  # top-left
        ((200, 600), (10, 10, 90, 90), 1.0),  # portrait, top
        ((900, 300), (700, 20, 800, 120), 0.5),
    ],
)
def test_detail_in_a_corner_is_kept(
    size: tuple[int, int], detail: tuple[int, int, int, int], ratio: float
) -> None:
    img = Image.new("RGB", size, (235, 235, 240))  # an empty sky
    img.paste(noisy(detail[2] - detail[0], detail[3] - detail[1]), detail[:2])
    left, top, right, bottom = choose_crop(img, ratio)
    assert (right - left, bottom - top) == crop_size(*size, ratio)
    assert left <= detail[0]
    assert top <= detail[1]
    assert right >= detail[2]
    assert bottom >= detail[3]


def test_detail_crop_through_transform() -> None:
    img = Image.new("RGB", (800, 200), (250, 250, 250))
    img.paste(noisy(100, 100), (680, 90))
    out = decoded(transform(encoded(img, "PNG"), width=50, height=50, format="png").data)
    assert ImageStat.Stat(out.convert("L")).stddev[0] > 20  # the noise is in the picture


def test_flat_picture_crops_in_the_centre() -> None:
    img = Image.new("RGB", (400, 100), (128, 128, 128))
    assert choose_crop(img, 1.0) == (150, 0, 250, 100)


def test_transparent_margins_are_empty() -> None:
    img = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    img.paste(noisy(80, 80), (20, 60))
    left, _, right, _ = choose_crop(img, 1.0)
    assert left <= 20
    assert right >= 100


def test_smart_crop_is_fast_on_large_pictures() -> None:
    img = photo_like(6000, 4000)
    started = time.perf_counter()
    choose_crop(img, 1.0)
    assert time.perf_counter() - started < 0.5


def test_variants_do_not_depend_on_the_number_of_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The scheduler only changes when each variant is made, never what it is. (The
    banded first resize differs from a whole one by a level at band seams: off here.)"""
    from lumiere.media.images import variants as images

    monkeypatch.setattr(images, "_PARALLEL_RESIZE_PIXELS", 10**12)
    data = encoded(photo_like(2400, 1600), quality=90)
    preset = small_preset(widths=(160, 320, 640, 1280, 2048))
    made = {}
    for threads in (1, 2, 3):
        monkeypatch.setattr(images, "ENCODE_THREADS", threads)
        facts, variants = make_variants(data, preset)
        made[threads] = (facts, [(v.name, v.data) for v in variants])
    assert made[1] == made[2] == made[3]
    names = [name for name, _ in made[1][1]]
    formats = [f for f in preset.formats if can_encode(f)]
    assert names == [
        f"{w}w.{'jpg' if f == 'jpeg' else f}" for w in (2048, 1280, 640, 320, 160) for f in formats
    ]
