"""The ladder end to end through the handlers (moto, real ffmpeg): what comes out for
the sources a streaming service meets, each package checked by the conformance checker
and decoded to the end by ffmpeg."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from lumiere.handlers import runtime
from lumiere.media.blackframe import is_mostly_black
from lumiere.media.tools import find_binaries, run_tool
from lumiere_dev.client import ApiError, LumiereClient
from lumiere_dev.samples import make_clip
from lumiere_dev.stack import LocalStack

from tests.integration.helpers import (
    assert_package_valid,
    deliver,
    fetch_package,
    process_upload,
    receive,
    transcode_all,
)


def process(stack: LocalStack, client: LumiereClient, path: Path, **upload: Any) -> dict[str, Any]:
    asset = process_upload(stack, client, path, "video/mp4", **upload)
    assert asset["status"] == "READY", asset.get("error")
    return asset


def sizes(asset: dict[str, Any]) -> list[tuple[int, int]]:
    return [(r["width"], r["height"]) for r in asset["outputs"]["hls"]["renditions"]]


def test_1080p_source_yields_five_aligned_rungs(
    stack: LocalStack, client: LumiereClient, tmp_path: Path
) -> None:
    source = make_clip(tmp_path / "hd.mp4", seconds=2, width=1920, height=1080, rate=30)
    asset = process(stack, client, source)
    assert sizes(asset) == [(1920, 1080), (1280, 720), (960, 540), (640, 360), (426, 240)]
    codecs = [r["codecs"] for r in asset["outputs"]["hls"]["renditions"]]
    assert codecs == ["avc1.640028", "avc1.64001f", "avc1.64001f", "avc1.64001e", "avc1.64001e"]
    bandwidths = [r["bandwidth"] for r in asset["outputs"]["hls"]["renditions"]]
    assert bandwidths == sorted(bandwidths, reverse=True)
    assert_package_valid(fetch_package(stack, asset["asset_id"], tmp_path / "out"))


def test_portrait_phone_video_yields_portrait_renditions(
    stack: LocalStack, client: LumiereClient, tmp_path: Path
) -> None:
    # Stored landscape with a 90 degree display rotation, as phones record.
    source = make_clip(tmp_path / "phone.mp4", seconds=2, width=960, height=540, rotation=90)
    asset = process(stack, client, source)
    assert asset["probe"]["video"]["rotation"] in (90, 270)
    assert sizes(asset) == [(540, 960), (360, 640), (240, 426)]
    out = fetch_package(stack, asset["asset_id"], tmp_path / "out")
    assert_package_valid(out)
    assert "RESOLUTION=540x960" in (out / "master.m3u8").read_text()


def test_small_source_is_never_upscaled(
    stack: LocalStack, client: LumiereClient, tmp_path: Path
) -> None:
    source = make_clip(tmp_path / "small.mp4", seconds=2, width=320, height=240)
    asset = process(stack, client, source)
    assert sizes(asset) == [(320, 240)]
    assert_package_valid(fetch_package(stack, asset["asset_id"], tmp_path / "out"))


def test_two_audio_languages_yield_two_audio_renditions(
    stack: LocalStack, client: LumiereClient, tmp_path: Path
) -> None:
    source = make_clip(
        tmp_path / "dub.mp4", seconds=2, width=320, height=180, languages=("eng", "fre")
    )
    asset = process(stack, client, source)
    audio = asset["outputs"]["hls"]["audio"]
    assert [(a["language"], a["name"], a["default"]) for a in audio] == [
        ("en", "English", True),
        ("fr", "French", False),
    ]
    assert all(a["loudness"]["integrated_lufs"] is not None for a in audio)
    out = fetch_package(stack, asset["asset_id"], tmp_path / "out")
    assert_package_valid(out)
    master = (out / "master.m3u8").read_text()
    assert master.count("#EXT-X-MEDIA:TYPE=AUDIO") == 2
    mpd = (out / "manifest.mpd").read_text()
    assert 'lang="en"' in mpd
    assert 'lang="fr"' in mpd


def test_named_preset_and_download_rendition(
    stack: LocalStack, client: LumiereClient, tmp_path: Path
) -> None:
    source = make_clip(tmp_path / "dl.mp4", seconds=2, width=320, height=180)
    asset = process(stack, client, source, preset="download")
    assert asset["preset"] == "download"
    download = asset["outputs"]["download"]
    s3 = stack.client("s3")
    bucket = stack.spec.buckets["MediaBucket"].name
    path = tmp_path / "download.mp4"
    s3.download_file(bucket, download["key"], str(path))
    head = path.read_bytes()[:64]
    # faststart: the index (moov) comes before the media (mdat)
    assert head.find(b"moov") != -1
    assert head.find(b"moov") < path.read_bytes().find(b"mdat")

    streams = json.loads(
        run_tool(
            [
                str(find_binaries().ffprobe),
                "-v",
                "error",
                "-show_streams",
                "-of",
                "json",
                str(path),
            ],
            timeout=30,
        )
    )["streams"]
    assert sorted(s["codec_type"] for s in streams) == ["audio", "video"]


def test_unknown_preset_is_refused_before_upload(client: LumiereClient) -> None:
    with pytest.raises(ApiError) as e:
        client.request_upload("a.mp4", "video/mp4", 100, preset="nope")
    assert e.value.status == 400
    assert "default" in str(e.value)


def test_poster_skips_a_black_opening(
    stack: LocalStack, client: LumiereClient, tmp_path: Path
) -> None:
    """A fade from black: the usual pick (a tenth of the way in) is black, so the poster
    is taken further in, and it is not black."""
    source = tmp_path / "fade.mp4"
    graph = (
        "color=c=black:s=320x180:r=25:d=4[b];testsrc2=s=320x180:r=25:d=4[t];"
        "[b][t]concat=n=2:v=1:a=0,format=yuv420p[v]"
    )
    run_tool(
        [str(find_binaries().ffmpeg), "-v", "error", "-y", "-filter_complex", graph,
         "-map", "[v]", "-c:v", "libx264", "-movflags", "+faststart", str(source)],
        timeout=60,
    )  # fmt: skip
    asset = process(stack, client, source)
    poster = requests.get(asset["outputs"]["poster"]["url"], timeout=10).content
    assert not is_mostly_black(poster)


def test_rungs_split_across_tasks_stay_aligned(
    stack: LocalStack, client: LumiereClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """VIDEO_TASKS=2: two separate ffmpeg runs (as on two Lambdas) still cut every rung at
    the same instants, so one master can switch between them."""
    monkeypatch.setenv("VIDEO_TASKS", "2")
    runtime.settings.cache_clear()
    try:
        source = make_clip(tmp_path / "split.mp4", seconds=9, width=960, height=540, rate=30)
        asset_id = client.upload_file(source, content_type="video/mp4").asset_id
        assert deliver(stack, "IngestFunction", receive(stack, "IngestQueue")) == {
            "batchItemFailures": []
        }
        parts = sorted(json.loads(m["Body"])["part"] for m in transcode_all(stack))
    finally:
        monkeypatch.delenv("VIDEO_TASKS")
        runtime.settings.cache_clear()
    assert parts == ["audio", "previews", "video-360p-240p", "video-540p"]
    asset = client.get_asset(asset_id)
    assert asset["status"] == "READY"
    assert sizes(asset) == [(960, 540), (640, 360), (426, 240)]
    assert_package_valid(fetch_package(stack, asset_id, tmp_path / "out"))  # incl. alignment


@pytest.mark.parametrize(
    ("budget", "status", "sizes_left"),
    [("0.1", "READY", [(426, 240)]), ("0.01", "FAILED", [])],
)
def test_work_beyond_one_task_is_left_out_or_refused_up_front(
    stack: LocalStack,
    client: LumiereClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    budget: str,
    status: str,
    sizes_left: list[tuple[int, int]],
) -> None:
    """A task budget shrunk so a 2 s clip plays a long film: the 360p rung cannot be
    encoded by one task in time, so it is left out (and the asset says so); with an even
    smaller budget nothing fits and ingest fails it `too_long`, before any encoding."""
    monkeypatch.setenv("TASK_BUDGET_SECONDS", budget)
    runtime.settings.cache_clear()
    try:
        source = make_clip(tmp_path / "film.mp4", seconds=2, width=640, height=360, rate=30)
        asset_id = client.upload_file(source, content_type="video/mp4").asset_id
        deliver(stack, "IngestFunction", receive(stack, "IngestQueue"))
        transcode_all(stack)
    finally:
        monkeypatch.delenv("TASK_BUDGET_SECONDS")
        runtime.settings.cache_clear()
    asset = client.get_asset(asset_id)
    assert asset["status"] == status
    if status == "READY":
        assert sizes(asset) == sizes_left
        assert "360p" in asset["notes"][0]
    else:
        assert asset["error"]["reason"] == "too_long"
        assert "minutes" in asset["error"]["message"]
