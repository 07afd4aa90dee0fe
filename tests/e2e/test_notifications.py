"""READY and FAILED are announced: an EventBridge event on the bus, and a signed webhook
that is retried when the receiver fails."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from lumiere.pipeline.webhooks import SIGNATURE_HEADER, verify
from lumiere_dev.stack import LocalStack

from tests.conftest import REPO, Media

SECRET = "whsec-test"


class Receiver:
    """A webhook endpoint that fails its first request with a 503, then accepts."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(503 if len(received) == 1 else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/lumiere"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture(scope="module")
def stack(receiver: Receiver) -> Iterator[LocalStack]:
    overrides = {"WEBHOOK_URL": receiver.url, "WEBHOOK_SECRET": SECRET}
    with LocalStack(REPO / "template.yaml", stack_name="notify", overrides=overrides) as s:
        yield s


def events_queue(stack: LocalStack) -> str:
    """An SQS queue subscribed to Lumiere's events by an EventBridge rule."""
    sqs, events = stack.client("sqs"), stack.client("events")
    url = sqs.create_queue(QueueName="notify-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="lumiere-assets", EventPattern=json.dumps({"source": ["lumiere"]}))
    events.put_targets(Rule="lumiere-assets", Targets=[{"Id": "q", "Arn": arn}])
    return url


def test_ready_and_failed_are_announced(
    stack: LocalStack, receiver: Receiver, media: Media
) -> None:
    queue = events_queue(stack)
    client = stack.api_client()
    good = client.upload_file(
        media.tone, content_type="audio/wav", title="Tone", passthrough='{"order": 17}'
    ).asset_id
    bad = client.upload_file(media.not_media, content_type="video/mp4").asset_id
    for asset_id in (good, bad):
        client.wait_until_final(asset_id, timeout=60, interval=0.2)
    stack.wait_idle(timeout=30)

    sqs = stack.client("sqs")
    seen: dict[str, Any] = {}
    deadline = time.monotonic() + 10
    while len(seen) < 2 and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", []):
            event = json.loads(m["Body"])
            seen[event["detail"]["asset_id"]] = event
    assert seen[good]["detail-type"] == "Asset Ready"
    assert seen[good]["source"] == "lumiere"
    assert seen[good]["detail"]["outputs"]["hls"]["master"].endswith("master.m3u8")
    # the owner's reference comes back as sent, to match the event to its own records
    assert seen[good]["detail"]["passthrough"] == '{"order": 17}'
    assert seen[good]["detail"]["title"] == "Tone"
    assert seen[bad]["detail"]["passthrough"] is None
    assert seen[bad]["detail-type"] == "Asset Failed"
    assert seen[bad]["detail"]["error"]["reason"] == "unsupported_format"

    # one 503 (retried), then one delivery per asset; every request correctly signed
    bodies = [json.loads(body) for _, body in receiver.requests]
    assert sorted(b["data"]["asset_id"] for b in bodies[1:]) == sorted([good, bad])
    assert bodies[0] in bodies[1:]  # the failed first attempt was retried
    [ready] = [b for b in bodies[1:] if b["data"]["asset_id"] == good]
    assert ready["data"]["passthrough"] == '{"order": 17}'
    for headers, body in receiver.requests:
        assert verify(SECRET, headers[SIGNATURE_HEADER], body, now=int(time.time()))
    retried = [h["Lumiere-Event-Id"] for h, b in receiver.requests if json.loads(b) == bodies[0]]
    assert len(retried) == 2
    assert len(set(retried)) == 1  # a retry carries the same event id


def test_a_change_then_a_deletion_are_announced_once_each(
    stack: LocalStack, receiver: Receiver, media: Media
) -> None:
    queue = events_queue(stack)
    client = stack.api_client()
    asset_id = client.upload_file(
        media.tone, content_type="audio/wav", passthrough="order-99"
    ).asset_id
    client.wait_until_final(asset_id, timeout=60, interval=0.2)
    stack.wait_idle(timeout=30)
    before = len(receiver.requests)
    client.update_asset(asset_id, title="Renamed", passthrough="order-99")
    assert client.delete_asset(asset_id) == 204
    assert client.delete_asset(asset_id) == 204  # a repeat is not announced again

    sqs = stack.client("sqs")
    seen: dict[str, list[dict[str, Any]]] = {}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", []):
            event = json.loads(m["Body"])
            if event["detail"]["asset_id"] == asset_id:
                seen.setdefault(event["detail-type"], []).append(event)
    [updated] = seen["Asset Updated"]
    assert updated["detail"]["changed"] == ["passthrough", "title"]
    assert (updated["detail"]["title"], updated["detail"]["status"]) == ("Renamed", "READY")
    [event] = seen["Asset Deleted"]
    detail = event["detail"]
    assert (detail["asset_id"], detail["status"], detail["passthrough"]) == (
        asset_id, "DELETED", "order-99",
    )  # fmt: skip
    assert "outputs" not in detail  # they are gone
    hooks = [json.loads(body) for _, body in receiver.requests[before:]]
    assert [(h["type"], h["data"]["asset_id"]) for h in hooks] == [
        ("Asset Updated", asset_id),
        ("Asset Deleted", asset_id),
    ]
