"""Through the running local stack: a client uploads with a presigned POST, the S3 event
flows through SQS to the functions, and the result plays over the local CDN."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import m3u8
import pytest
import requests
from lumiere.media.tools import find_binaries, run_tool
from lumiere_dev.client import LumiereClient, cookie_jar, ffmpeg_cookies
from lumiere_dev.stack import LocalStack

from tests.conftest import REPO, Media


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(REPO / "template.yaml", stack_name="e2e") as s:
        yield s


@pytest.fixture(scope="module")
def client(stack: LocalStack) -> LumiereClient:
    return stack.api_client()


def test_clip_becomes_a_playable_hls_ladder(client: LumiereClient, media: Media) -> None:
    # GIVEN a client uploading a clip exactly as a browser would
    uploaded = client.upload_file(media.clip, content_type="video/mp4")
    assert uploaded.upload_status == 204
    seen: list[str] = []
    # WHEN the pipeline runs THEN it ends READY, passing through the statuses in order
    asset = client.wait_until_final(
        uploaded.asset_id, timeout=180, interval=0.2, on_change=lambda a: seen.append(a["status"])
    )
    assert asset["status"] == "READY", asset.get("error")
    order = ["CREATED", "UPLOADED", "PROBED", "PROCESSING", "READY"]
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)

    # the master playlist parses and every segment it names exists, read as a browser
    # would with the signed cookies GET /assets/{id}/playback hands out
    play = client.playback(uploaded.asset_id)
    cdn = requests.Session()
    cdn.cookies = cookie_jar(play["cookies"])
    master_url = play["hls"].split("?")[0]
    master = m3u8.loads(cdn.get(master_url, timeout=10).text, uri=master_url)
    assert master.is_variant
    for variant in master.playlists:
        playlist = m3u8.loads(
            cdn.get(variant.absolute_uri, timeout=10).text, uri=variant.absolute_uri
        )
        assert playlist.is_endlist
        init = playlist.segment_map[0].absolute_uri
        for uri in [init, *(s.absolute_uri for s in playlist.segments)]:
            assert cdn.head(uri, timeout=10).status_code == 200, uri
            assert requests.head(uri, timeout=10).status_code == 403, uri  # not without them

    # ffprobe decodes the top rendition as H.264 through the CDN
    top = max(master.playlists, key=lambda p: p.stream_info.bandwidth)
    argv = [
        str(find_binaries().ffprobe), "-v", "error", "-protocol_whitelist", "http,tcp",
        "-cookies", ffmpeg_cookies(play["cookies"]),
        "-select_streams", "v:0", "-count_frames", "-show_streams", "-of", "json",
        top.absolute_uri,
    ]  # fmt: skip
    [video] = json.loads(run_tool(argv, timeout=120))["streams"]
    assert video["codec_name"] == "h264"
    assert int(video["nb_read_frames"]) == 75  # 3 s at 25 fps: nothing lost or duplicated
    assert f"{video['width']}x{video['height']}" == "x".join(map(str, top.stream_info.resolution))


def test_text_renamed_mp4_fails_with_a_readable_reason(client: LumiereClient, media: Media) -> None:
    uploaded = client.upload_file(media.not_media, content_type="video/mp4")
    asset = client.wait_until_final(uploaded.asset_id, timeout=60, interval=0.2)
    assert asset["status"] == "FAILED"
    assert asset["error"]["reason"] == "unsupported_format"
    assert "not a video, audio or image file" in asset["error"]["message"]
    assert asset["outputs"] == {}


def test_message_that_keeps_failing_lands_in_the_dlq(stack: LocalStack) -> None:
    sqs = stack.client("sqs")
    ingest = stack.spec.queues["IngestQueue"]
    dlq = stack.spec.queues[ingest.dlq_id or ""].url
    sqs.send_message(QueueUrl=ingest.url, MessageBody='{"not": "an S3 event"}')
    deadline = time.monotonic() + 60
    dead: list[dict] = []
    while not dead:
        assert time.monotonic() < deadline, "the poison message never reached the DLQ"
        dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
    assert dead[0]["Body"] == '{"not": "an S3 event"}'
    stack.wait_idle(timeout=30)
    visible = sqs.get_queue_attributes(
        QueueUrl=ingest.url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert visible == "0"  # not looping in the source queue
