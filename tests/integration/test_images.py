"""Still images end to end: variants from one decode, upright and stripped, and signed
on-the-fly transformations served from a cache in MediaBucket."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import requests
from lumiere.media.tools import find_binaries, run_tool
from lumiere_dev.client import LumiereClient
from lumiere_dev.stack import LocalStack
from PIL import Image

from tests.heic import enable_heic_writing
from tests.integration.helpers import process_upload

GPS_IFD, SERIAL = 0x8825, 0xA431


def phone_photo(path: Path, fmt: str = "JPEG") -> Path:
    """1600x1200 stored sideways (EXIF orientation 6), with GPS and a serial number: a
    red block marks what is the top-left corner once upright. As HEIF (an iPhone's
    HEIC) the turn is also in the container (irot), as phones write it."""
    enable_heic_writing()
    img = Image.new("RGB", (1200, 1600), (40, 120, 200))
    img.paste((255, 0, 0), (0, 0, 300, 300))
    stored = img.transpose(Image.Transpose.ROTATE_90)  # what the sensor wrote
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[SERIAL] = "SN-123456"
    exif.get_ifd(GPS_IFD)[2] = (48.0, 51.0, 24.0)
    stored.save(path, fmt, exif=exif.tobytes(), quality=90)
    return path


def fetch(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=30, allow_redirects=False)


@pytest.mark.parametrize(
    ("name", "fmt", "content_type"),
    [("phone.jpg", "JPEG", "image/jpeg"), ("IMG_0001.HEIC", "HEIF", "image/heic"),
     ("phone.avif", "AVIF", "image/avif")],
)  # fmt: skip
def test_photo_variants_are_upright_and_stripped(
    stack: LocalStack, client: LumiereClient, tmp_path: Path, name: str, fmt: str, content_type: str
) -> None:
    asset = process_upload(stack, client, phone_photo(tmp_path / name, fmt), content_type)
    assert asset["status"] == "READY", asset.get("error")
    assert asset["kind"] == "image"
    assert asset["probe"]["image"]["format"] == fmt
    images = asset["outputs"]["images"]
    assert (images["width"], images["height"]) == (1200, 1600)
    assert images["placeholder"]
    assert images["dominant_color"].startswith("#")
    widths = sorted({v["width"] for v in images["variants"]})
    assert widths == [160, 320, 640, 1200]  # 1280 and 2048 would upscale: native instead
    for variant in images["variants"]:
        picture = Image.open(io.BytesIO(fetch(variant["url"]).content))
        assert picture.width == variant["width"]
        assert picture.height > picture.width  # upright: portrait
        red = picture.convert("RGB").getpixel((2, 2))
        assert (red[0] > 200, red[1] < 80) == (True, True), variant  # the marker: top-left
        exif = picture.getexif()
        assert SERIAL not in exif
        assert not exif.get_ifd(GPS_IFD)
    poster = Image.open(io.BytesIO(fetch(asset["outputs"]["poster"]["url"]).content))
    assert poster.format == "JPEG"


def test_signed_transformations_render_once_and_refuse_tampering(
    stack: LocalStack, client: LumiereClient, tmp_path: Path
) -> None:
    asset = process_upload(stack, client, phone_photo(tmp_path / "phone.jpg"), "image/jpeg")
    link = stack.api_url + asset["outputs"]["thumbnail"]
    token = client.api.headers["Authorization"]
    first = fetch(link, Accept="image/avif,image/webp,*/*", Authorization=token)
    assert first.status_code == 302
    assert first.headers["X-Lumiere-Cache"] == "miss"
    assert first.headers["Vary"] == "Accept"
    image = fetch(first.headers["Location"])
    assert image.headers["Content-Type"] in ("image/avif", "image/webp")
    assert Image.open(io.BytesIO(image.content)).size == (320, 320)
    # the same link again is served from the cache
    again = fetch(link, Accept="image/avif,image/webp,*/*", Authorization=token)
    assert again.headers["X-Lumiere-Cache"] == "hit"
    assert again.headers["Location"] == first.headers["Location"]
    # an old browser gets JPEG from the same link
    jpeg = fetch(fetch(link, Accept="image/*", Authorization=token).headers["Location"])
    assert jpeg.headers["Content-Type"] == "image/jpeg"
    # nobody can ask for other sizes without the key
    tampered = link.replace("w_320", "w_3200")
    assert fetch(tampered, Authorization=token).status_code == 403
    assert fetch(link.split("?")[0], Authorization=token).status_code == 403
    assert fetch(link[:-2] + "xx", Authorization=token).status_code == 403
    # a signed link is no use without signing in, nor to someone else: 404, as if absent
    assert fetch(link).status_code == 401
    assert fetch(link, Authorization=stack.token("someone-else")).status_code == 404


def test_pixel_ratio_gravity_and_background_reach_the_rendering(
    stack: LocalStack, client: LumiereClient, tmp_path: Path
) -> None:
    asset = process_upload(stack, client, phone_photo(tmp_path / "phone.jpg"), "image/jpeg")
    secret = stack.environment()["IMAGE_SIGNING_SECRET"]

    def render(options: str) -> Image.Image:
        rendered = client.render_image(asset["asset_id"], options, secret=secret)
        assert rendered.cache == "miss"
        return Image.open(io.BytesIO(rendered.data)).convert("RGB")

    assert render("w_150,dpr_2,f_webp").size == (300, 400)  # 2x the CSS box
    # the upright photo is 1200x1600 with its red marker top-left: a square from its
    # top-left corner shows the marker, one from the bottom does not
    corner = render("w_100,h_100,g_northwest,f_png")
    assert close_to(corner.getpixel((5, 5)), (255, 0, 0))
    assert not close_to(render("w_100,h_100,g_south,f_png").getpixel((5, 5)), (255, 0, 0))
    # contain pads a portrait picture in a landscape box with the colour asked for
    padded = render("w_300,h_100,fit_contain,bg_00ff00,f_png")
    assert padded.size == (300, 100)
    assert close_to(padded.getpixel((3, 50)), (0, 255, 0))
    # a quarter turn clockwise: the marker goes top-right, the box fits the turned picture
    turned = render("w_160,rot_90,f_png")
    assert turned.size == (160, 120)
    assert close_to(turned.getpixel((155, 4)), (255, 0, 0))
    assert not close_to(turned.getpixel((4, 4)), (255, 0, 0))
    # the top-left 600x600 of the upright photo: the marker fills its top-left quarter
    part = render("w_100,h_100,crop_0x0x0.5x0.375,f_png")
    assert close_to(part.getpixel((10, 10)), (255, 0, 0))
    assert close_to(part.getpixel((90, 90)), (40, 120, 200))
    # blurred, the marker's edge (75 px in at this size) is no longer sharp
    sharp, soft = render("w_300,f_png"), render("w_300,bl_6,f_png")
    assert close_to(sharp.getpixel((72, 30)), (255, 0, 0))
    r, _, b = soft.getpixel((72, 30))
    assert r < 230
    assert b > 60


def close_to(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(abs(x - y) <= 40 for x, y in zip(a, b, strict=True))


def test_animated_gif_keeps_its_frames(
    stack: LocalStack, client: LumiereClient, tmp_path: Path
) -> None:
    frames = [Image.new("RGB", (120, 90), (i * 60, 40, 200 - i * 60)) for i in range(4)]
    path = tmp_path / "spin.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    asset: dict[str, Any] = process_upload(stack, client, path, "image/gif")
    assert asset["status"] == "READY", asset.get("error")
    animated = Image.open(io.BytesIO(fetch(asset["outputs"]["images"]["animated_url"]).content))
    assert animated.format == "WEBP"
    assert animated.n_frames == 4
    mp4 = tmp_path / "spin.mp4"
    mp4.write_bytes(fetch(asset["outputs"]["images"]["animated_mp4_url"]).content)
    streams = run_tool(
        [str(find_binaries().ffprobe), "-v", "error", "-count_frames", "-show_entries",
         "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", str(mp4)],
        timeout=30,
    ).strip()  # fmt: skip
    assert streams == "h264,120,90,4"  # silent, every frame


def test_album_cover_is_extracted(stack: LocalStack, client: LumiereClient, tmp_path: Path) -> None:
    ffmpeg = str(find_binaries().ffmpeg)
    cover, song = tmp_path / "cover.png", tmp_path / "song.mp3"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(cover)
    run_tool(
        [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=f=330:d=2", "-i", str(cover),
         "-map", "0", "-map", "1", "-c:a", "libmp3lame", "-c:v", "copy",
         "-disposition:v", "attached_pic", str(song)],
        timeout=60,
    )  # fmt: skip
    asset = process_upload(stack, client, song, "audio/mpeg")
    assert (asset["status"], asset["kind"]) == ("READY", "audio")
    assert "video" not in asset["probe"]  # the cover is not a video stream
    picture = fetch(asset["outputs"]["previews"]["cover"]["url"])
    assert picture.headers["Content-Type"] == "image/png"
    assert picture.content == cover.read_bytes()  # copied, not re-encoded
