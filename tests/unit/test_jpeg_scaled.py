"""JPEGs decoded at libjpeg-turbo's DCT scales: the smallest eighth that covers the
output, the same pixels Pillow would give, and Pillow's decoder whenever simplejpeg and
Pillow might disagree (CMYK, files libjpeg warns about)."""

from __future__ import annotations

import dataclasses
import io
import math

import pytest
from lumiere.media.images import decoding, load_image_preset, make_variants
from lumiere.media.jpeg_scaled import decode_scaled
from PIL import Image, ImageChops, ImageDraw, ImageStat

from tests.unit.test_images import BLUE, RED, close, decoded, private_exif, upright_picture

ORIENTATION = 0x0112


def photo(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Gradients and sharp shapes: detail a wrong scale or a colour swap would change."""
    img = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    img = Image.merge("RGB", (img.getchannel(0), img.getchannel(0).rotate(90), img.getchannel(0)))
    draw = ImageDraw.Draw(img)
    for i in range(0, width, width // 12):
        draw.ellipse(
            (i, i * height // width, i + width // 10, i * height // width + height // 8), fill=RED
        )
    draw.rectangle(
        (width // 2, height // 2, width // 2 + width // 6, height // 2 + height // 6), fill=BLUE
    )
    return img.convert(mode)


def jpeg(img: Image.Image, **kwargs: object) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=92, **kwargs)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def psnr(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    mse = sum(v**2 for v in ImageStat.Stat(diff).rms) / 3
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


@pytest.mark.parametrize(
    ("scale", "size"),
    [
        (2048 / 4000, (2500, 1875)),  # 5/8: Pillow's draft could only give 1/2, too small
        (0.5, (2000, 1500)),  # exactly 4/8
        (0.3, (1500, 1125)),  # 3/8
        (0.1, (500, 375)),  # 1/8 is the floor
        (0.99, (4000, 3000)),  # nothing smaller covers it
    ],
)
def test_the_smallest_eighth_that_covers_the_scale_is_decoded(
    scale: float, size: tuple[int, int]
) -> None:
    data = jpeg(Image.new("RGB", (4000, 3000), (30, 60, 90)))
    out = decode_scaled(data, opened(data), scale)
    assert out is not None
    assert (out.size, out.mode) == (size, "RGB")
    assert close(out.getpixel((10, 10)), (30, 60, 90), tolerance=3)


def test_pixels_match_pillows_own_decode_at_the_same_scale() -> None:
    data = jpeg(photo(1600, 1200))
    ours = decode_scaled(data, opened(data), 0.5)
    pillow = opened(data)
    pillow.draft("RGB", (800, 600))
    assert ours is not None
    assert ours.size == pillow.size == (800, 600)
    assert psnr(ours, pillow) > 40


def test_greyscale_stays_greyscale_and_exif_and_icc_are_carried_over() -> None:
    exif = private_exif(6).tobytes()
    data = jpeg(photo(800, 600, "L"), exif=exif, icc_profile=b"not really a profile")
    out = decode_scaled(data, opened(data), 0.4)
    assert out is not None
    assert (out.mode, out.size) == ("L", (400, 300))
    assert out.info["icc_profile"] == b"not really a profile"
    assert out.getexif()[ORIENTATION] == 6


def test_cmyk_is_left_to_pillow() -> None:
    data = jpeg(Image.new("CMYK", (800, 600), (0, 255, 255, 0)))
    assert decode_scaled(data, opened(data), 0.5) is None


def test_full_size_or_not_a_jpeg_is_left_to_pillow() -> None:
    data = jpeg(photo(800, 600))
    assert decode_scaled(data, opened(data), 1.0) is None
    png = io.BytesIO()
    photo(800, 600).save(png, "PNG")
    assert decode_scaled(png.getvalue(), opened(png.getvalue()), 0.5) is None


def with_extraneous_bytes(data: bytes) -> bytes:
    """Two stray bytes before the start-of-scan marker: libjpeg warns ("extraneous
    bytes before marker") and decodes the picture anyway, as Pillow does."""
    at = data.index(b"\xff\xda")
    return data[:at] + b"\x00\x00" + data[at:]


def test_a_file_libjpeg_warns_about_goes_to_pillow_and_still_gives_variants() -> None:
    data = with_extraneous_bytes(jpeg(photo(1600, 1200)))
    assert decode_scaled(data, opened(data), 0.5) is None
    facts, variants = make_variants(
        data, dataclasses.replace(load_image_preset(), widths=(320, 640))
    )
    assert (facts.width, facts.height) == (1600, 1200)
    assert {(v.width, v.format) for v in variants} == {
        (w, f) for w in (320, 640) for f in ("jpeg", "webp", "avif")
    }


def test_variants_of_a_turned_photo_use_the_scaled_decode_and_come_out_upright(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 2600 px photo stored sideways; its 1600 px variant needs 5/8 of the stored
    picture (1219x1625), which Pillow's draft cannot give."""
    scales: list[tuple[float, tuple[int, int] | None]] = []

    def spy(data: bytes, img: Image.Image, scale: float) -> Image.Image | None:
        out = decode_scaled(data, img, scale)
        scales.append((scale, out.size if out else None))
        return out

    monkeypatch.setattr(decoding, "decode_scaled", spy)
    upright = upright_picture(2600, 1950)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # orientation 6 undoes it
    data = jpeg(stored, exif=private_exif(6).tobytes())
    preset = dataclasses.replace(load_image_preset(), widths=(400, 1600), formats=("jpeg",))
    facts, variants = make_variants(data, preset)
    assert scales == [(1600 / 2600, (1219, 1625))]
    assert (facts.width, facts.height) == (2600, 1950)
    widest = decoded(variants[0].data).convert("RGB")
    assert widest.size == (1600, 1200)
    assert close(widest.getpixel((40, 40)), RED)
    assert close(widest.getpixel((1560, 1160)), BLUE)
    direct = upright.resize((1600, 1200), Image.Resampling.LANCZOS)
    assert psnr(widest, direct) > 30  # JPEG q82 of the same picture, not a different one
