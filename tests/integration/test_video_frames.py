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
from lumiere_dev.client import LumiereClient
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
    assert "moment of a video; this asset is image" in refused.json()["error"]["message"]
    assert get(link(stack, asset["asset_id"], "w_100"), client).status_code == 302
    refused = client.api.patch(
        f"{stack.api_url}/assets/{asset['asset_id']}", json={"poster_time": 1}, timeout=30
    )
    assert refused.status_code == 400
    assert "poster_time picks a moment of a video; this asset is image" in refused.text
