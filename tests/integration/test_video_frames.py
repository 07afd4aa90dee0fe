"""A video's frame at any moment (``/img/{id}/...,t_12.5``): cut from the one published
segment that holds it, in the clear or AES-128, through the signed and cached path every
transformation takes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import requests
from lumiere.api.image_links import sign_path
from lumiere.media.tools import find_binaries, run_tool
from lumiere_dev.client import ApiError, LumiereClient
from lumiere_dev.stack import LocalStack
from PIL import Image

from tests.conftest import Media
from tests.integration.helpers import process_upload

COLOURS = {"red": (255, 0, 0), "green": (0, 128, 0), "blue": (0, 0, 255)}


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s at 25 fps, 640x360: red for 2 s, green for 3 s, then blue. With 4 s segments
    green turns blue a second into the second segment, so a seek that is not relative to
    the segment's own start shows."""
    path = tmp_path_factory.mktemp("frames") / "steps.mp4"
    seconds = {"red": 2, "green": 3, "blue": 1}
    graph = ";".join(
        f"color=c={c}:size=640x360:rate=25:duration={seconds[c]}[{c}]" for c in COLOURS
    )
    graph += ";[red][green][blue]concat=n=3:v=1:a=0[v]"
    run_tool(
        [str(find_binaries().ffmpeg), "-hide_banner", "-loglevel", "error", "-y",
         "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         str(path)],
        timeout=60,
    )  # fmt: skip
    return path


def link(stack: LocalStack, asset_id: str, options: str) -> str:
    path = f"/img/{asset_id}/{options}"
    return f"{stack.api_url}{path}?s={sign_path(stack.environment()['IMAGE_SIGNING_SECRET'], path)}"


def get(url: str, client: LumiereClient | None = None) -> requests.Response:
    headers = {"Authorization": client.api.headers["Authorization"]} if client else {}
    return requests.get(url, headers=headers, timeout=60, allow_redirects=False)


def frame(stack: LocalStack, client: LumiereClient, asset_id: str, options: str) -> Image.Image:
    answer = get(link(stack, asset_id, options), client)
    assert answer.status_code == 302, answer.text
    picture = get(answer.headers["Location"])
    assert picture.status_code == 200
    return Image.open(io.BytesIO(picture.content)).convert("RGB")


def colour_of(picture: Image.Image) -> str:
    """The named colour nearest the picture's centre pixel."""
    pixel = picture.getpixel((picture.width // 2, picture.height // 2))
    assert isinstance(pixel, tuple)
    return min(
        COLOURS, key=lambda c: sum((a - b) ** 2 for a, b in zip(COLOURS[c], pixel, strict=True))
    )


def test_each_moment_shows_its_own_frame_and_repeats_come_from_the_cache(
    stack: LocalStack, client: LumiereClient, steps: Path
) -> None:
    asset = process_upload(stack, client, steps, "video/mp4")
    assert asset["status"] == "READY", asset.get("error")
    assert max(r["segments"] for r in asset["outputs"]["hls"]["renditions"]) >= 2
    asset_id = asset["asset_id"]
    # 1.99 and 4.99: the frame on screen then is the last one before the change; 6: the
    # end itself, the last frame
    times = ("0", "1", "1.99", "2.2", "3.9", "4.1", "4.99", "5.1", "6")
    seen = [colour_of(frame(stack, client, asset_id, f"w_320,f_png,t_{t}")) for t in times]
    assert seen == ["red", "red", "red", "green", "green", "green", "green", "blue", "blue"]
    picture = frame(stack, client, asset_id, "w_320,h_320,fit_cover,f_jpeg,t_5")
    assert picture.size == (320, 320)
    # one moment, two spellings: the second link is served what the first rendered
    first = get(link(stack, asset_id, "w_320,f_png,t_4.1"), client)
    again = get(link(stack, asset_id, "t_4.100,f_png,w_320"), client)
    assert (first.headers["X-Lumiere-Cache"], again.headers["X-Lumiere-Cache"]) == ("hit", "hit")
    assert again.headers["Location"].split("?")[0] == first.headers["Location"].split("?")[0]
    # past the end: a 400 that says how long the video is
    late = get(link(stack, asset_id, "w_320,t_6.5"), client)
    assert late.status_code == 400
    assert late.json()["error"]["message"] == "t is past the end of the video, which lasts 6 s."
    # the time is signed like every option, and the video is still only its owner's
    tampered = link(stack, asset_id, "w_320,f_png,t_5").replace("t_5", "t_4")
    assert get(tampered, client).status_code == 403
    other = stack.api_client("someone-else")
    assert get(link(stack, asset_id, "w_320,t_5"), other).status_code == 404


def timeline(picture: Image.Image) -> list[tuple[str, int]]:
    """(colour, milliseconds) runs of an animation: encoders merge unchanged frames into
    longer ones, so time on screen is what can be compared, not frame counts."""
    runs: list[tuple[str, int]] = []
    for i in range(picture.n_frames):
        picture.seek(i)
        colour, ms = colour_of(picture.convert("RGB")), int(picture.info["duration"])
        if runs and runs[-1][0] == colour:
            runs[-1] = (colour, runs[-1][1] + ms)
        else:
            runs.append((colour, ms))
    return runs


def test_an_animation_of_a_stretch_of_the_video(
    stack: LocalStack, client: LumiereClient, steps: Path
) -> None:
    asset = process_upload(stack, client, steps, "video/mp4")
    secret = stack.environment()["IMAGE_SIGNING_SECRET"]
    # 3.5 s to 5.5 s: green, then blue from 5 s, across the 4 s segment boundary
    webp = client.render_image(asset["asset_id"], "w_160,t_3.5,d_2,fps_10", secret=secret)
    assert webp.content_type == "image/webp"  # f_auto, and the client takes WebP
    picture = Image.open(io.BytesIO(webp.data))
    assert (picture.format, picture.size, picture.info.get("loop")) == ("WEBP", (160, 90), 0)
    assert timeline(picture) == [("green", 1500), ("blue", 500)]
    # GIF for a client that does not take WebP, with its own palette
    gif = client.render_image(asset["asset_id"], "h_90,t_1.5,d_1,fps_10", secret=secret,
                              accept="image/*")  # fmt: skip
    assert gif.content_type == "image/gif"
    picture = Image.open(io.BytesIO(gif.data))
    assert (picture.format, picture.size) == ("GIF", (160, 90))
    assert timeline(picture) == [("red", 500), ("green", 500)]
    # past the end it stops at the end: 5.5 s to 6 s
    tail = client.render_image(asset["asset_id"], "w_160,t_5.5,d_3,fps_10,f_gif", secret=secret)
    assert timeline(Image.open(io.BytesIO(tail.data))) == [("blue", 500)]
    for options, message in (
        ("w_160,d_11", "d must be from 0.1 to 10 seconds"),
        ("w_1000,d_1", "at most 640 pixels a side"),
        ("w_160,t_7,d_1", "t is past the end of the video"),
    ):
        with pytest.raises(ApiError) as refused:
            client.render_image(asset["asset_id"], options, secret=secret)
        assert refused.value.status == 400
        assert message in refused.value.body["error"]["message"]


def test_an_encrypted_videos_frame_is_read_through_its_key(
    stack: LocalStack, client: LumiereClient, steps: Path
) -> None:
    asset = process_upload(stack, client, steps, "video/mp4", encryption="aes-128")
    assert asset["status"] == "READY", asset.get("error")
    assert asset["outputs"]["encryption"]["method"] == "AES-128"
    times = ("1", "4.5", "5.5")
    seen = [colour_of(frame(stack, client, asset["asset_id"], f"w_160,f_png,t_{t}")) for t in times]
    assert seen == ["red", "green", "blue"]


def test_a_damaged_segment_is_a_503_that_says_so_not_a_crash(
    stack: LocalStack, client: LumiereClient, steps: Path
) -> None:
    asset = process_upload(stack, client, steps, "video/mp4")
    s3, bucket = stack.client("s3"), stack.spec.buckets["MediaBucket"].name
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"assets/{asset['asset_id']}/hls/")
    segments = [o["Key"] for o in listing["Contents"] if o["Key"].endswith(".m4s")]
    assert segments
    for key in segments:
        s3.put_object(Bucket=bucket, Key=key, Body=b"\x00" * 4096)
    broken = get(link(stack, asset["asset_id"], "w_320,t_1"), client)
    assert broken.status_code == 503
    assert broken.json()["error"] == {
        "reason": "processing_error",
        "message": "The frame could not be read; try again, or leave out t_.",
    }
    # nothing broken was cached: asking again tries again; the poster is unaffected
    assert get(link(stack, asset["asset_id"], "w_320,t_1"), client).status_code == 503
    assert get(link(stack, asset["asset_id"], "w_320"), client).status_code == 302


def test_the_owner_chooses_the_poster_moment_and_can_go_back(
    stack: LocalStack, client: LumiereClient, steps: Path
) -> None:
    asset = process_upload(stack, client, steps, "video/mp4")
    asset_id = asset["asset_id"]

    def poster(view: dict[str, Any]) -> Image.Image:
        return Image.open(io.BytesIO(get(view["outputs"]["poster"]["url"]).content))

    automatic = asset["outputs"]["poster"]["key"]
    assert colour_of(poster(asset).convert("RGB")) == "red"  # a tenth of the way in
    thumbnail = get(stack.api_url + asset["outputs"]["thumbnail"], client)
    assert thumbnail.status_code == 302

    assert "poster_time" not in asset
    chosen = client.set_poster_time(asset_id, 5.5)
    assert chosen["poster_time"] == 5.5
    assert chosen["outputs"]["poster"]["key"] == f"assets/{asset_id}/poster_t5.5.jpg"
    picture = poster(chosen)
    assert (picture.format, picture.size, colour_of(picture.convert("RGB"))) == (
        "JPEG", (640, 360), "blue",
    )  # fmt: skip
    # the view's thumbnail link is unchanged, and now shows the chosen moment, rendered
    # anew (its own cache key), not the old poster's cached square
    shown = client.get_asset(asset_id)
    assert shown["outputs"]["thumbnail"] == asset["outputs"]["thumbnail"]
    square = get(stack.api_url + shown["outputs"]["thumbnail"], client)
    assert square.headers["X-Lumiere-Cache"] == "miss"
    assert square.headers["Location"].split("?")[0] != thumbnail.headers["Location"].split("?")[0]
    assert (
        colour_of(Image.open(io.BytesIO(get(square.headers["Location"]).content)).convert("RGB"))
        == "blue"
    )
    # choosing the same moment again changes nothing; past the end is refused
    again = client.set_poster_time(asset_id, 5.5)
    assert again["outputs"]["poster"]["key"] == chosen["outputs"]["poster"]["key"]
    late = client.api.patch(
        f"{stack.api_url}/assets/{asset_id}", json={"poster_time": 9}, timeout=30
    )
    assert late.status_code == 400
    assert "lasts 6 s" in late.json()["error"]["message"]
    assert client.get_asset(asset_id)["outputs"]["poster"]["key"].endswith("poster_t5.5.jpg")
    # back to the pipeline's pick, with the visibility change in the same request
    both = client.api.patch(
        f"{stack.api_url}/assets/{asset_id}",
        json={"poster_time": None, "visibility": "private"},
        timeout=30,
    )
    assert both.status_code == 200, both.text
    assert both.json()["outputs"]["poster"]["key"] == automatic
    assert "poster_time" not in both.json()
    back = get(stack.api_url + asset["outputs"]["thumbnail"], client)
    assert back.headers["X-Lumiere-Cache"] == "hit"  # the first square, still cached
    assert back.headers["Location"].split("?")[0] == thumbnail.headers["Location"].split("?")[0]
    # only the owner chooses
    other = stack.api_client("someone-else")
    refused = other.api.patch(
        f"{stack.api_url}/assets/{asset_id}", json={"poster_time": 1}, timeout=30
    )
    assert refused.status_code == 404


def test_a_time_on_something_that_is_not_a_video_is_refused(
    stack: LocalStack, client: LumiereClient, media: Media
) -> None:
    asset: dict[str, Any] = process_upload(stack, client, media.image, "image/png")
    assert asset["status"] == "READY", asset.get("error")
    refused = get(link(stack, asset["asset_id"], "w_100,t_1"), client)
    assert refused.status_code == 400
    assert refused.json()["error"]["reason"] == "invalid_request"
    assert "moments of a video; this asset is image" in refused.json()["error"]["message"]
    assert get(link(stack, asset["asset_id"], "w_100"), client).status_code == 302
    refused = client.api.patch(
        f"{stack.api_url}/assets/{asset['asset_id']}", json={"poster_time": 1}, timeout=30
    )
    assert refused.status_code == 400
    assert "poster_time picks a moment of a video; this asset is image" in refused.text
