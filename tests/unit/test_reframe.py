"""Turning, cutting and blurring a picture (media/reframe.py), and what transform makes
of them: the right part, the right way up, faces followed into the part kept."""

from __future__ import annotations

import io

import pytest
from lumiere.media.images import CropFocus, transform
from lumiere.media.reframe import Region, blur, reframe, reframe_faces
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

QUADRANTS = {"tl": (255, 0, 0), "tr": (0, 255, 0), "bl": (0, 0, 255), "br": (255, 255, 0)}


def quadrants(width: int = 400, height: int = 200) -> Image.Image:
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    w, h = width // 2, height // 2
    draw.rectangle((0, 0, w - 1, h - 1), fill=QUADRANTS["tl"])
    draw.rectangle((w, 0, width - 1, h - 1), fill=QUADRANTS["tr"])
    draw.rectangle((0, h, w - 1, height - 1), fill=QUADRANTS["bl"])
    draw.rectangle((w, h, width - 1, height - 1), fill=QUADRANTS["br"])
    return img


def corner(img: Image.Image, where: str) -> tuple[int, ...]:
    x = 2 if where[1] == "l" else img.width - 3
    y = 2 if where[0] == "t" else img.height - 3
    return tuple(img.convert("RGB").getpixel((x, y)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rotation", "top_left", "size"),
    [(0, "tl", (400, 200)), (90, "bl", (200, 400)), (180, "br", (400, 200)),
     (270, "tr", (200, 400))],
)  # fmt: skip
def test_a_turn_is_clockwise(rotation: int, top_left: str, size: tuple[int, int]) -> None:
    turned = reframe(quadrants(), rotation, None)
    assert turned.size == size
    assert corner(turned, "tl") == QUADRANTS[top_left]


def test_a_region_is_in_fractions_of_the_turned_picture() -> None:
    # the right half of the picture turned a quarter clockwise is its old top half
    part = reframe(quadrants(), 90, Region(0.5, 0, 0.5, 1))
    assert part.size == (100, 400)
    assert {corner(part, "tl"), corner(part, "bl")} == {QUADRANTS["tl"], QUADRANTS["tr"]}
    # a sliver still keeps a pixel
    assert reframe(quadrants(), 0, Region(0.999, 0.999, 0.001, 0.001)).size == (1, 1)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("region", [None, Region(0.25, 0.1, 0.5, 0.6)])
def test_faces_follow_the_turn_and_the_cut(rotation: int, region: Region | None) -> None:
    """Drawn as white boxes and turned and cut with the picture, the faces land where
    reframe_faces says; one outside the region is dropped, one across it clipped."""
    faces = ((0.05, 0.1, 0.2, 0.3), (0.4, 0.5, 0.7, 0.9), (0.85, 0.02, 0.98, 0.12))
    for face in faces:
        img = Image.new("L", (1000, 600))
        w, h = img.size
        l, t, r, b = face  # noqa: E741
        ImageDraw.Draw(img).rectangle((l * w, t * h, r * w - 1, b * h - 1), fill=255)
        moved = reframe(img, rotation, region)
        drawn = moved.getbbox()
        [expected] = reframe_faces((face,), rotation, region) or [None]
        if drawn is None:
            assert expected is None
            continue
        assert expected is not None
        want = (
            expected[0] * moved.width, expected[1] * moved.height,
            expected[2] * moved.width, expected[3] * moved.height,
        )  # fmt: skip
        assert all(abs(a - b) <= 2 for a, b in zip(drawn, want, strict=True)), (drawn, want)


def test_a_blur_keeps_a_cut_outs_edge_its_own_colour() -> None:
    """Transparent pixels here are black: blurred as they are, they would darken the red
    edge; premultiplied, the half-transparent edge stays red."""
    img = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    ImageDraw.Draw(img).rectangle((10, 10, 29, 29), fill=(255, 0, 0, 255))
    soft = blur(img, 3)
    r, g, b, a = soft.getpixel((9, 20))  # type: ignore[misc]
    assert 0 < a < 255
    assert r > 240
    assert max(g, b) < 10
    naive = img.filter(ImageFilter.GaussianBlur(3)).getpixel((9, 20))
    assert naive[0] < 200  # type: ignore[index]  # what the premultiplication avoids
    assert blur(img, 0) is img


def png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def open_variant(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def test_transform_turns_and_cuts_before_fitting_the_box() -> None:
    source = png(quadrants(800, 400))
    turned = open_variant(
        transform(source, width=100, fit="inside", format="png", rotation=90).data
    )
    assert turned.size == (100, 200)  # the box fits the turned picture
    assert corner(turned, "tl") == QUADRANTS["bl"]
    # the top-right quadrant alone, filling a 200x100 cover box
    part = open_variant(
        transform(
            source, width=200, height=100, fit="cover", format="png",
            region=Region(0.5, 0, 0.5, 0.5),
        ).data
    )  # fmt: skip
    assert part.size == (200, 100)
    assert ImageStat.Stat(part).extrema[:2] == [(0, 0), (255, 255)]  # all green
    # never upscaled: a 400x200 part asked at 1000 wide comes out at its own size
    big = transform(source, width=1000, fit="inside", format="png", region=Region(0, 0, 0.5, 1))
    assert (big.width, big.height) == (400, 400)


def test_a_smart_crop_of_a_region_keeps_the_face_inside_it() -> None:
    """The region is the picture's left two thirds; the face sits at its right edge and
    sharp stripes at its left would win a crop by detail. The square crop must go right,
    to the face: there only if the face's box was carried into the region's frame (read
    as fractions of the whole picture, it would point at the region's middle)."""
    img = Image.new("RGB", (1200, 400), (90, 90, 90))
    draw = ImageDraw.Draw(img)
    for x in range(0, 250, 6):
        draw.rectangle((x, 0, x + 2, 399), fill=(255, 255, 255))
    draw.ellipse((700, 150, 780, 230), fill=(240, 200, 170))
    face = (700 / 1200, 150 / 400, 780 / 1200, 230 / 400)
    out = open_variant(
        transform(
            png(img), width=200, height=200, fit="cover", format="png",
            region=Region(0, 0, 2 / 3, 1), focus=CropFocus(faces=(face,)),
        ).data
    )  # fmt: skip
    skin = ImageChops.difference(out, Image.new("RGB", out.size, (240, 200, 170)))
    assert ImageStat.Stat(skin.convert("L")).extrema[0][0] < 10  # the face is in it
    assert out.getpixel((2, 100)) == (90, 90, 90)  # and no stripe


def test_transform_blurs_by_the_boxs_pixels() -> None:
    img = Image.new("RGB", (400, 400), (0, 0, 0))
    draw = ImageDraw.Draw(img)
    for x in range(0, 400, 8):  # sharp stripes
        draw.rectangle((x, 0, x + 3, 399), fill=(255, 255, 255))
    sharp = open_variant(transform(png(img), width=200, fit="inside", format="png").data)
    soft = open_variant(
        transform(png(img), width=200, fit="inside", format="png", blur_radius=4).data
    )
    edges = [ImageStat.Stat(i.filter(ImageFilter.FIND_EDGES).convert("L")).mean[0]
             for i in (sharp, soft)]  # fmt: skip
    assert edges[1] < edges[0] / 4
