"""A task that fails every time (here: ffmpeg runs out of the Lambda's time on each
attempt) is retried maxReceiveCount times, then its asset shows FAILED and the message
waits in the dead-letter queue for a person, instead of looping."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from lumiere_dev.samples import make_clip
from lumiere_dev.stack import LocalStack

from tests.conftest import REPO


@pytest.mark.slow
def test_transcode_that_always_times_out(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "long.mp4", seconds=8, width=1280, height=720)
    # Leave ffmpeg one second of the function's 900 s: every encode times out.
    overrides = {"TOOL_TIMEOUT_MARGIN_SECONDS": "899.5", "POWERTOOLS_LOG_LEVEL": "CRITICAL"}
    with LocalStack(REPO / "template.yaml", stack_name="poison", overrides=overrides) as stack:
        client = stack.api_client()
        asset_id = client.upload_file(clip, content_type="video/mp4").asset_id
        asset = client.wait_until_final(asset_id, timeout=120, interval=0.2)
        assert asset["status"] == "FAILED"
        assert asset["error"]["reason"] == "processing_error"
        assert "3 times" in asset["error"]["message"]

        queue = stack.spec.queues["TranscodeQueue"]
        dlq = stack.spec.queues[queue.dlq_id or ""].url
        sqs = stack.client("sqs")
        deadline = time.monotonic() + 30
        dead: list[dict] = []
        while not dead and time.monotonic() < deadline:
            dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
        assert [json.loads(m["Body"])["asset_id"] for m in dead] == [asset_id]
        stack.wait_idle(timeout=30)
        # nothing left looping in the source queue, and the asset stays FAILED
        attrs = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
        assert attrs["ApproximateNumberOfMessages"] == "0"
        assert client.get_asset(asset_id)["status"] == "FAILED"
