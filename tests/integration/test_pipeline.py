"""Ingest and transcode handlers against moto's real server, with real S3 events and the
real ffmpeg. Messages are taken from the queues and delivered as Lambda would."""

from __future__ import annotations

import base64
import json
import logging
import time
from pathlib import Path
from typing import Any

import m3u8
import pytest
import requests
from lumiere.config import Settings
from lumiere.handlers import runtime
from lumiere.observability import logger
from lumiere.pipeline.ingest import IngestOutcome, ingest_object
from lumiere.pipeline.models import SourceObject
from lumiere_dev.client import ApiError, LumiereClient
from lumiere_dev.stack import LocalStack

from tests.conftest import Media, unsigned
from tests.integration.helpers import (
    assert_package_valid,
    deliver,
    fetch_package,
    receive,
    transcode_all,
)


def upload(client: LumiereClient, path: Path, content_type: str = "video/mp4") -> str:
    return client.upload_file(path, content_type=content_type).asset_id


def ingest(stack: LocalStack) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    messages = receive(stack, "IngestQueue")
    assert messages, "the upload produced no S3 notification"
    return messages, deliver(stack, "IngestFunction", messages)


def test_video_goes_from_upload_to_ready(
    stack: LocalStack, client: LumiereClient, media: Media, tmp_path: Path
) -> None:
    asset_id = upload(client, media.clip)
    assert client.get_asset(asset_id)["status"] == "CREATED"

    _, response = ingest(stack)
    assert response == {"batchItemFailures": []}
    probed = client.get_asset(asset_id)
    assert probed["status"] == "PROBED"
    assert probed["kind"] == "video"
    assert probed["probe"]["video"]["width"] == 320
    assert probed["probe"]["duration"] == pytest.approx(3.0, abs=0.1)

    # Fan-out: the ladder (one rung for a 180p source), the audio and the previews are
    # three tasks; the master appears only when the last of them is done.
    tasks = receive(stack, "TranscodeQueue")
    while len(tasks) < 3:
        tasks += receive(stack, "TranscodeQueue")
    bodies = [json.loads(t["Body"]) for t in tasks]
    assert {b["asset_id"] for b in bodies} == {asset_id}
    assert sorted(b["part"] for b in bodies) == ["audio", "previews", "video-180p"]
    master_url = f"{stack.media_url}/assets/{asset_id}/hls/master.m3u8"
    # signed, so the CDN's 404 is about the master, not the signature
    access = stack.playback_signer().access(f"assets/{asset_id}/", int(time.time()) + 300)
    for task in sorted(tasks, key=lambda t: json.loads(t["Body"])["part"] == "audio"):
        assert client.get_asset(asset_id)["status"] in ("PROBED", "PROCESSING")
        assert requests.get(access.url(master_url), timeout=10).status_code == 404
        assert deliver(stack, "TranscodeFunction", [task]) == {"batchItemFailures": []}

    ready = client.get_asset(asset_id)
    assert ready["status"] == "READY"
    assert ready["progress"] == 100
    hls = ready["outputs"]["hls"]
    assert hls["url"].split("?")[0] == master_url  # signed for the asset's prefix
    signed = hls["url"].split("?")[1]
    assert [(r["width"], r["height"]) for r in hls["renditions"]] == [(320, 180)]
    [track] = hls["audio"]
    assert track["default"] is True
    assert track["loudness"]["integrated_lufs"] < -16  # measured before normalising
    master = requests.get(hls["url"], timeout=10)
    assert master.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert "max-age=60" in master.headers["Cache-Control"]
    playlist = m3u8.loads(master.text, uri=master_url)
    [variant] = playlist.playlists
    # High profile, level 3.0, as read from the encoded stream
    assert variant.stream_info.codecs == "avc1.64001e,mp4a.40.2"
    assert variant.stream_info.bandwidth >= hls["renditions"][0]["bandwidth"]
    # The catalogue keeps summaries; each rendition's timeline (the bulk of a long
    # film's record) is published beside it and read back by the fan-in.
    item = runtime.catalogue().get(asset_id)
    assert item is not None
    records = [t for out in item["part_outputs"].values() for t in out.get("tracks", [])]
    assert {(t["timeline"] == [], t["record"]) for t in records} == {(True, "track.json")}
    dash = requests.get(ready["outputs"]["dash"]["url"], timeout=10)
    assert dash.headers["Content-Type"] == "application/dash+xml"
    assert_package_valid(fetch_package(stack, asset_id, tmp_path))
    # the one signature opens every file under the asset's prefix (a player carries it)
    media_playlist = m3u8.loads(
        requests.get(f"{variant.absolute_uri}?{signed}", timeout=10).text,
        uri=variant.absolute_uri,
    )
    for seg in media_playlist.segments:
        r = requests.head(f"{seg.absolute_uri}?{signed}", timeout=10)
        assert r.status_code == 200
        assert "immutable" in r.headers["Cache-Control"]
    previews = ready["outputs"]["previews"]
    vtt = requests.get(previews["storyboard"]["url"], timeout=10)
    assert vtt.headers["Content-Type"] == "text/vtt"
    assert vtt.text.startswith("WEBVTT")
    assert vtt.text.rstrip().splitlines()[-2].endswith("--> 00:00:03.000")  # to the end
    animated = requests.get(previews["animated"]["url"], timeout=10)
    assert animated.headers["Content-Type"] == "video/mp4"
    peaks = requests.get(previews["waveform"]["peaks_url"], timeout=10).json()
    assert peaks["version"] == 2
    assert peaks["length"] > 100
    poster = requests.get(ready["outputs"]["poster"]["url"], timeout=10)
    assert poster.headers["Content-Type"] == "image/jpeg"
    assert poster.content[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    ("fixture", "reason", "needle"),
    [
        ("not_media", "unsupported_format", "not a video, audio or image file"),
        ("hls_trap", "unsupported_format", "refused for safety"),
        ("concat_trap", "unsupported_format", "refused for safety"),
    ],
)
def test_files_that_are_not_media_fail_with_a_reason(
    stack: LocalStack, client: LumiereClient, media: Media, fixture: str, reason: str, needle: str
) -> None:
    asset_id = upload(client, getattr(media, fixture))
    _, response = ingest(stack)
    assert response == {"batchItemFailures": []}  # recorded, not retried
    asset = client.get_asset(asset_id)
    assert asset["status"] == "FAILED"
    assert asset["error"]["reason"] == reason
    assert needle in asset["error"]["message"]
    assert receive(stack, "TranscodeQueue", wait=0) == []


def test_a_reader_crash_fails_as_ours_not_as_a_damaged_file(
    stack: LocalStack, client: LumiereClient, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ffprobe killed by a signal (the pinned build segfaults on MPEG-TS, which is now
    refused before it is read) is a crash a retry would repeat: FAILED at once, blamed on
    us, not called damaged."""
    from lumiere.errors import ToolError
    from lumiere.pipeline import ingest as ingest_step

    def crash(argv: list[str], *, timeout: float | None) -> str:
        raise ToolError(argv, -11, "")

    monkeypatch.setattr(ingest_step, "run_tool", crash)
    asset_id = upload(client, media.clip)
    _, response = ingest(stack)
    assert response == {"batchItemFailures": []}  # recorded, not retried
    error = client.get_asset(asset_id)["error"]
    assert error["reason"] == "processing_error"
    assert "crashed on this file (signal 11)" in error["message"]


def test_audio_and_image_uploads(
    stack: LocalStack, client: LumiereClient, media: Media, tmp_path: Path
) -> None:
    tone = upload(client, media.tone, "audio/wav")
    image = upload(client, media.image, "image/png")
    for _ in range(2):
        messages = receive(stack, "IngestQueue")
        if messages:
            deliver(stack, "IngestFunction", messages)
    parts = sorted(json.loads(m["Body"])["part"] for m in transcode_all(stack))
    assert parts == ["audio", "image"]  # the tone's audio, the image's variants
    audio = client.get_asset(tone)
    assert (audio["status"], audio["kind"]) == ("READY", "audio")
    assert audio["outputs"]["hls"]["renditions"] == []
    assert audio["outputs"]["hls"]["audio"][0]["codecs"] == "mp4a.40.2"
    assert_package_valid(fetch_package(stack, tone, tmp_path / "tone"))
    assert "poster" not in audio["outputs"]
    assert set(audio["outputs"]["previews"]) == {"waveform"}
    still = client.get_asset(image)
    assert (still["status"], still["kind"]) == ("READY", "image")
    assert "hls" not in still["outputs"]
    assert requests.get(still["outputs"]["poster"]["url"], timeout=10).status_code == 200


def test_duplicate_notification_does_no_work_twice(
    stack: LocalStack, client: LumiereClient, media: Media
) -> None:
    asset_id = upload(client, media.silent_clip)
    messages, _ = ingest(stack)
    probed = client.get_asset(asset_id)
    # GIVEN the same S3 notification delivered again (SQS is at-least-once)
    assert deliver(stack, "IngestFunction", messages) == {"batchItemFailures": []}
    # THEN nothing is probed again and no second task is sent
    assert client.get_asset(asset_id) == probed
    tasks = transcode_all(stack)
    assert sorted(json.loads(t["Body"])["task_id"] for t in tasks) == [
        f"{asset_id}:previews",
        f"{asset_id}:video-180p",
    ]  # a silent clip has no audio part
    ready = client.get_asset(asset_id)
    assert ready["status"] == "READY"
    # a late duplicate of a task finds it done and changes nothing
    sqs = stack.client("sqs")
    sqs.send_message(QueueUrl=stack.spec.queues["TranscodeQueue"].url, MessageBody=tasks[0]["Body"])
    assert deliver(stack, "TranscodeFunction", receive(stack, "TranscodeQueue")) == {
        "batchItemFailures": []
    }
    # (compared unsigned: a signed URL's expiry moves to the next minute between reads)
    assert unsigned(client.get_asset(asset_id)) == unsigned(ready)
    # and so does a late duplicate notification
    deliver(stack, "IngestFunction", messages)
    assert unsigned(client.get_asset(asset_id)) == unsigned(ready)
    assert receive(stack, "TranscodeQueue", wait=0) == []


def test_objects_no_ticket_names_are_never_read(
    stack: LocalStack, client: LumiereClient, media: Media
) -> None:
    ticket = client.request_upload("clip.mp4", "video/mp4", media.clip.stat().st_size)
    s3 = stack.client("s3")
    bucket = stack.spec.buckets["UploadsBucket"].name
    # a different name under a real asset's prefix, and an asset id nobody issued
    s3.put_object(Bucket=bucket, Key=f"uploads/{ticket['asset_id']}/other.mp4", Body=b"x")
    s3.put_object(Bucket=bucket, Key=f"uploads/{'f' * 32}/clip.mp4", Body=b"x")
    messages = receive(stack, "IngestQueue")
    while len(messages) < 2:
        messages += receive(stack, "IngestQueue")
    assert deliver(stack, "IngestFunction", messages) == {"batchItemFailures": []}
    assert client.get_asset(ticket["asset_id"])["status"] == "CREATED"
    with pytest.raises(ApiError) as e:
        client.get_asset("f" * 32)
    assert e.value.status == 404


def test_size_is_rechecked_at_ingest(stack: LocalStack, client: LumiereClient) -> None:
    """moto (and a determined client) ignore the POST policy's content-length-range."""
    ticket = client.request_upload("clip.mp4", "video/mp4", 10)
    bucket = stack.spec.buckets["UploadsBucket"].name
    stack.client("s3").put_object(Bucket=bucket, Key=ticket["key"], Body=b"\0" * 5000)
    source = SourceObject(bucket=bucket, key=ticket["key"], size=10)  # the client's claim
    small = Settings(**{**Settings.from_env().__dict__, "max_upload_bytes": 4999})
    outcome = ingest_object(source, runtime.catalogue(), small, probe_timeout=30)
    assert outcome is IngestOutcome.FAILED
    asset = client.get_asset(ticket["asset_id"])
    assert asset["error"]["reason"] == "too_large"


def test_empty_upload_fails_as_empty(stack: LocalStack, client: LumiereClient) -> None:
    ticket = client.request_upload("empty.mp4", "video/mp4", 10)
    stack.client("s3").put_object(
        Bucket=stack.spec.buckets["UploadsBucket"].name, Key=ticket["key"], Body=b""
    )
    ingest(stack)
    assert client.get_asset(ticket["asset_id"])["error"]["reason"] == "empty_file"


def test_malformed_message_is_reported_failed_for_the_dlq(stack: LocalStack) -> None:
    sqs = stack.client("sqs")
    url = stack.spec.queues["IngestQueue"].url
    sqs.send_message(QueueUrl=url, MessageBody="this is not an S3 event")
    messages = receive(stack, "IngestQueue")
    response = deliver(stack, "IngestFunction", messages)
    assert response == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}


def test_last_attempt_marks_the_asset_failed_instead_of_leaving_it(
    stack: LocalStack, client: LumiereClient, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset_id = upload(client, media.silent_clip)
    messages = receive(stack, "IngestQueue")
    # GIVEN the transcode queue is unreachable (a transient failure)
    broken = Settings(
        **{**runtime.settings().__dict__, "transcode_queue_url": "http://127.0.0.1:9/q"}
    )
    monkeypatch.setattr(runtime, "settings", lambda: broken)
    # WHEN delivered before the last attempt THEN the record is failed for SQS to retry
    first = deliver(stack, "IngestFunction", messages)
    assert first == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}
    assert client.get_asset(asset_id)["status"] == "PROBED"
    # WHEN it is the last delivery THEN the asset ends FAILED, and the message still
    # fails so SQS moves it to the DLQ
    last = [
        {**messages[0], "Attributes": {**messages[0]["Attributes"], "ApproximateReceiveCount": "3"}}
    ]
    assert deliver(stack, "IngestFunction", last) == first
    asset = client.get_asset(asset_id)
    assert asset["status"] == "FAILED"
    assert asset["error"]["reason"] == "processing_error"
    assert "3 times" in asset["error"]["message"]


class TestApi:
    def test_presigned_post_is_pinned_to_key_type_and_size(self, client: LumiereClient) -> None:
        ticket = client.request_upload("../My Clip.MP4", "video/mp4", 1234)
        assert ticket["key"] == f"uploads/{ticket['asset_id']}/My Clip.MP4"
        fields = ticket["upload"]["fields"]
        policy = json.loads(base64.b64decode(fields["policy"]))
        conditions = policy["conditions"]
        assert {"key": ticket["key"]} in conditions
        assert {"Content-Type": "video/mp4"} in conditions
        assert ["content-length-range", 1, 1234] in conditions
        assert policy["expiration"].endswith("Z")
        assert ticket["expires_in"] == 900

    @pytest.mark.parametrize(
        ("body", "status", "reason"),
        [
            (
                {"filename": "a.mp4", "content_type": "text/plain", "size": 1},
                400,
                "invalid_request",
            ),
            ({"filename": "a.mp4", "content_type": "video/mp4"}, 400, "invalid_request"),
            ({"filename": "a.mp4", "content_type": "video/mp4", "size": 10**13}, 413, "too_large"),
        ],
    )
    def test_bad_upload_requests(
        self, stack: LocalStack, body: dict[str, Any], status: int, reason: str
    ) -> None:
        r = requests.post(
            f"{stack.api_url}/uploads",
            json=body,
            headers={"Authorization": stack.token()},
            timeout=10,
        )
        assert r.status_code == status
        assert r.json()["error"]["reason"] == reason
        assert r.json()["error"]["message"]

    @pytest.mark.parametrize("asset_id", ["0" * 32, "not-an-id", "..%2f..%2fetc"])
    def test_unknown_assets_are_404(self, stack: LocalStack, asset_id: str) -> None:
        r = requests.get(
            f"{stack.api_url}/assets/{asset_id}",
            headers={"Authorization": stack.token()},
            timeout=10,
        )
        assert r.status_code == 404


def test_logs_carry_the_asset_id_and_metrics_count_failures_by_reason(
    stack: LocalStack, client: LumiereClient, media: Media, capfd: pytest.CaptureFixture[str]
) -> None:
    asset_id = upload(client, media.not_media)
    # Powertools binds its stream when first imported; read its JSON through a handler.
    records: list[str] = []
    collector = logging.Handler()
    collector.emit = lambda record: records.append(collector.format(record))  # type: ignore[method-assign]
    collector.setFormatter(logger.registered_formatter)
    logger.addHandler(collector)
    capfd.readouterr()
    try:
        ingest(stack)
    finally:
        logger.removeHandler(collector)
    logged = [json.loads(r) for r in records]
    assert any(line["message"] == "ingested" for line in logged)
    # library modules' lines (plain logging.getLogger) come out in the same JSON
    assert any("rejected: unsupported_format" in line["message"] for line in logged)
    assert all(line.get("asset_id") == asset_id for line in logged)
    assert all(line["function_name"] == "IngestFunction" for line in logged)
    out = capfd.readouterr().out.splitlines()
    emf = [json.loads(line) for line in out if line.startswith("{") and '"_aws"' in line]
    finished = [m for m in emf if m.get("AssetsFinished") == [1.0]]
    assert finished
    assert finished[0]["reason"] == "unsupported_format"
    assert finished[0]["status"] == "FAILED"
    assert any("IngestDuration" in m for m in emf)


def test_event_for_an_object_deleted_since_fails_as_upload_missing(
    stack: LocalStack, client: LumiereClient, media: Media
) -> None:
    ticket = client.upload_file(media.tone, content_type="audio/wav")
    bucket = stack.spec.buckets["UploadsBucket"].name
    stack.client("s3").delete_object(Bucket=bucket, Key=ticket.key)
    _, response = ingest(stack)
    assert response == {"batchItemFailures": []}
    asset = client.get_asset(ticket.asset_id)
    assert asset["status"] == "FAILED"
    assert asset["error"]["reason"] == "upload_missing"
    assert receive(stack, "TranscodeQueue", wait=0) == []
