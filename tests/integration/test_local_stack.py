"""The local stack itself: template resolution, resources, the event-source runner and
the CDN, against moto's real server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
import requests
from lumiere_dev.cdn import object_key
from lumiere_dev.spec import read_stack
from lumiere_dev.stack import LocalStack
from lumiere_dev.template import StackContext

from tests.conftest import REPO
from tests.integration.localstack_fixtures import handlers

FIXTURE = Path(__file__).parent / "localstack_fixtures" / "template.yaml"


def test_real_template_resolves_names_and_wiring() -> None:
    spec = read_stack(REPO / "template.yaml", StackContext(endpoint_url="http://h:1"))
    assert spec.queues["IngestQueue"].dlq_id == "IngestDLQ"
    assert spec.queues["IngestQueue"].max_receive_count == 3
    [notification] = spec.buckets["UploadsBucket"].notifications
    assert (notification.queue_id, notification.prefix) == ("IngestQueue", "uploads/")
    assert spec.buckets["UploadsBucket"].name == "lumiere-local-uploads-123456789012-us-east-1"
    env = spec.functions["IngestFunction"].environment
    assert env["ASSETS_TABLE"] == spec.tables["AssetsTable"].name
    assert env["TRANSCODE_QUEUE_URL"] == "http://h:1/123456789012/lumiere-local-TranscodeQueue"
    assert env["MAX_UPLOAD_BYTES"] == "5368709120"  # the parameter's default
    assert spec.functions["TranscodeFunction"].timeout == 900
    assert spec.functions["ApiFunction"].timeout == 29


@pytest.fixture(scope="module")
def mini() -> Iterator[LocalStack]:
    with LocalStack(FIXTURE, stack_name="fixture", workers_per_function=1) as s:
        yield s


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def bodies() -> list[str]:
    return [r["body"] for r in handlers.SEEN]


def object_events() -> list[dict]:
    return [r for r in handlers.SEEN if "Records" in json.loads(r["body"])]


def test_s3_upload_reaches_the_function_as_lambda_would_deliver_it(mini: LocalStack) -> None:
    # Like S3, moto announces a new notification configuration with an s3:TestEvent.
    wait_for(lambda: any("s3:TestEvent" in r["body"] for r in handlers.SEEN))
    mini.client("s3").put_object(Bucket="fixture-inbox", Key="in/a b+c.bin", Body=b"123")
    mini.client("s3").put_object(Bucket="fixture-inbox", Key="elsewhere/x.bin", Body=b"1")
    wait_for(object_events)
    mini.wait_idle()
    [record] = object_events()  # the key outside the prefix filter is not announced
    assert set(record) == {
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes",
        "md5OfBody", "eventSource", "eventSourceARN", "awsRegion",
    }  # fmt: skip
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == mini.spec.queues["Work"].arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    s3_record = json.loads(record["body"])["Records"][0]
    assert s3_record["eventName"].startswith("ObjectCreated:")
    # S3 URL-encodes keys in notifications (moto even encodes "/")
    assert unquote_plus(s3_record["s3"]["object"]["key"]) == "in/a b+c.bin"
    context = handlers.CONTEXTS[-1]
    assert context.function_name == "Worker"
    assert 0 < context.get_remaining_time_in_millis() <= 5000


def test_only_reported_failures_are_retried(mini: LocalStack) -> None:
    handlers.SEEN.clear()
    sqs = mini.client("sqs")
    url = mini.spec.queues["Work"].url
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "1", "MessageBody": "ok"}, {"Id": "2", "MessageBody": "fail-once"}],
    )
    wait_for(lambda: bodies().count("fail-once") == 2)
    mini.wait_idle()
    assert bodies().count("ok") == 1


def test_poison_message_lands_in_the_dlq_not_a_loop(mini: LocalStack) -> None:
    handlers.SEEN.clear()
    sqs = mini.client("sqs")
    sqs.send_message(QueueUrl=mini.spec.queues["Work"].url, MessageBody="raise")
    dlq = mini.spec.queues["Dead"].url

    def in_dlq() -> bool:
        names = ["ApproximateNumberOfMessages"]
        attrs = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=names)["Attributes"]
        return attrs["ApproximateNumberOfMessages"] == "1"

    wait_for(in_dlq)
    mini.wait_idle()
    assert bodies() == ["raise", "raise"]  # maxReceiveCount: 2
    [dead] = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1)["Messages"]
    assert dead["Body"] == "raise"


def test_environment_comes_from_the_template(mini: LocalStack) -> None:
    env = mini.environment()
    assert env["FIXTURE_BUCKET"] == "fixture-inbox"
    assert env["AWS_ENDPOINT_URL"] == mini.endpoint_url
    assert env["MEDIA_BASE_URL"] == mini.media_url


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/assets/a/hls/master.m3u8", "assets/a/hls/master.m3u8"),
        ("/assets/a/b%20c.jpg?x=1", "assets/a/b c.jpg"),
        ("/assets/../uploads/a/secret.mp4", None),
        ("/assets/%2e%2e/uploads/a/secret.mp4", None),
        ("/uploads/a/secret.mp4", None),
        ("/assets/a/", None),
        ("/assets/a/x%00.jpg", None),
    ],
)
def test_cdn_serves_only_asset_keys(path: str, key: str | None) -> None:
    assert object_key(path) == key


class TestCdn:
    @pytest.fixture(scope="class")
    @classmethod
    def stack(cls) -> Iterator[LocalStack]:
        with LocalStack(REPO / "template.yaml", run_functions=False, stack_name="cdn") as s:
            bucket = s.spec.functions["TranscodeFunction"].environment["MEDIA_BUCKET"]
            s.client("s3").put_object(
                Bucket=bucket,
                Key="assets/x/seg.m4s",
                Body=bytes(range(256)) * 4,
                ContentType="video/iso.segment",
                CacheControl="public, max-age=31536000, immutable",
            )
            s.client("s3").put_object(Bucket=bucket, Key="private/x", Body=b"secret")
            yield s

    def test_full_and_ranged_reads(self, stack: LocalStack) -> None:
        full = requests.get(f"{stack.media_url}/assets/x/seg.m4s", timeout=10)
        assert full.status_code == 200
        assert full.headers["Content-Type"] == "video/iso.segment"
        assert full.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert full.headers["Access-Control-Allow-Origin"] == "*"
        assert len(full.content) == 1024
        part = requests.get(
            f"{stack.media_url}/assets/x/seg.m4s", headers={"Range": "bytes=10-19"}, timeout=10
        )
        assert part.status_code == 206
        assert part.headers["Content-Range"] == "bytes 10-19/1024"
        assert part.content == bytes(range(10, 20))

    def test_missing_and_outside_are_404(self, stack: LocalStack) -> None:
        for path in ("/assets/x/nope.m4s", "/private/x", "/assets/../private/x"):
            assert requests.get(f"{stack.media_url}{path}", timeout=10).status_code == 404
