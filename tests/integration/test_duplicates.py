"""At-least-once delivery: every S3 event of a 20-upload batch delivered three times,
shuffled, yields exactly 20 assets, each probed once and encoded once."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest
from lumiere.pipeline import ingest as ingest_module
from lumiere.pipeline import job as job_module
from lumiere_dev.stack import LocalStack

from tests.conftest import Media
from tests.integration.helpers import deliver, drain, receive

UPLOADS = 20


def collect(stack: LocalStack, queue_id: str, want: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for _ in range(30):
        found += receive(stack, queue_id)
        if len(found) >= want:
            break
    return found


@pytest.mark.slow
def test_triple_shuffled_delivery_processes_each_upload_once(
    stack: LocalStack, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    drain(stack, "IngestQueue")
    drain(stack, "TranscodeQueue")
    runs: Counter[str] = Counter()

    def counting(real):
        def run(argv: list[str], **kw: Any) -> Any:
            runs[argv[0].rsplit("/", 1)[-1]] += 1
            return real(argv, **kw)

        return run

    monkeypatch.setattr(ingest_module, "run_tool", counting(ingest_module.run_tool))
    monkeypatch.setattr(job_module, "run_tool_streaming", counting(job_module.run_tool_streaming))
    client = stack.api_client()
    table = stack.client("dynamodb")
    table_name = stack.spec.tables["AssetsTable"].name
    before = table.scan(TableName=table_name, Select="COUNT")["Count"]
    ids = [
        client.upload_file(media.silent_clip, content_type="video/mp4").asset_id
        for _ in range(UPLOADS)
    ]

    # GIVEN the 20 notifications, each delivered three times in shuffled batches of 5
    events = [m for m in collect(stack, "IngestQueue", UPLOADS) if "Records" in m["Body"]]
    assert len(events) == UPLOADS
    deliveries = events * 3
    random.Random(2026).shuffle(deliveries)
    for i in range(0, len(deliveries), 5):
        assert deliver(stack, "IngestFunction", deliveries[i : i + 5]) == {"batchItemFailures": []}

    # WHEN every resulting task is also delivered three times, shuffled
    tasks = collect(stack, "TranscodeQueue", 2 * UPLOADS)
    # two parts per upload (the video rung, the previews), not two per delivery
    assert len(tasks) == 2 * UPLOADS
    task_deliveries = tasks * 3
    random.Random(7).shuffle(task_deliveries)
    for task in task_deliveries:
        assert deliver(stack, "TranscodeFunction", [task]) == {"batchItemFailures": []}

    # THEN exactly 20 assets, all READY, each probed once and encoded once
    assert table.scan(TableName=table_name, Select="COUNT")["Count"] - before == UPLOADS
    assert {client.get_asset(a)["status"] for a in ids} == {"READY"}
    assert {json.loads(t["Body"])["asset_id"] for t in tasks} == set(ids)
    # one ffprobe per upload; per asset one video group (the 320x180 rung and the
    # storyboard), one poster and one animated preview
    assert runs == Counter({"ffprobe": UPLOADS, "ffmpeg": 3 * UPLOADS})
