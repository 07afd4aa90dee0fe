"""Fan-out/fan-in of transcode parts: whatever the order, concurrency or crashes, the
manifests are written once every part is there, and nothing is left of a failed asset."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

import pytest
import requests
from lumiere.errors import PermanentError, ReasonCode
from lumiere.handlers import runtime
from lumiere.pipeline import fan_in
from lumiere.pipeline import parts as producers
from lumiere.pipeline.clock import utc_now
from lumiere.pipeline.status import AssetStatus
from lumiere_dev.client import LumiereClient
from lumiere_dev.stack import LocalStack

from tests.conftest import Media
from tests.integration.helpers import deliver, receive


def queued_parts(stack: LocalStack, client: LumiereClient, media: Media) -> tuple[str, dict]:
    """Upload the clip and ingest it; returns its id and its three part messages by name."""
    asset_id = client.upload_file(media.clip, content_type="video/mp4").asset_id
    deliver(stack, "IngestFunction", receive(stack, "IngestQueue"))
    tasks: list[dict[str, Any]] = []
    while len(tasks) < 3:
        tasks += receive(stack, "TranscodeQueue")
    return asset_id, {json.loads(t["Body"])["part"]: t for t in tasks}


def media_keys(stack: LocalStack, asset_id: str) -> list[str]:
    s3 = stack.client("s3")
    bucket = stack.spec.buckets["MediaBucket"].name
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"assets/{asset_id}/")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_concurrent_parts_finish_once(
    stack: LocalStack, client: LumiereClient, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset_id, parts = queued_parts(stack, client, media)
    readies: Counter[str] = Counter()
    real = fan_in.record_ready

    def counting(catalogue: Any, settings: Any, aid: str, outputs: dict) -> None:
        real(catalogue, settings, aid, outputs)
        readies[aid] += 1

    monkeypatch.setattr(fan_in, "record_ready", counting)
    results: list[dict] = []
    threads = [
        threading.Thread(
            target=lambda m=m: results.append(deliver(stack, "TranscodeFunction", [m]))
        )
        for m in parts.values()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert results == [{"batchItemFailures": []}] * 3
    asset = client.get_asset(asset_id)
    assert asset["status"] == "READY"
    assert readies == Counter({asset_id: 1})
    master = requests.get(asset["outputs"]["hls"]["url"], timeout=10)
    assert master.status_code == 200
    assert "a_1_und/index.m3u8" in master.text  # the audio part, whoever finished last


def test_progress_is_weighted_across_parts(
    stack: LocalStack, client: LumiereClient, media: Media
) -> None:
    asset_id, parts = queued_parts(stack, client, media)
    video = next(m for name, m in parts.items() if name.startswith("video-"))
    deliver(stack, "TranscodeFunction", [video])
    asset = client.get_asset(asset_id)
    assert asset["status"] == "PROCESSING"
    # the video part is most of the work: done, it is most of the progress, not all
    assert 80 <= asset["progress"] < 100
    # no master yet (signed, so the CDN's answer is about the object, not the signature)
    access = stack.playback_signer().access(f"assets/{asset_id}/", int(time.time()) + 60)
    master = access.url(f"{stack.media_url}/assets/{asset_id}/hls/master.m3u8")
    assert requests.get(master, timeout=10).status_code == 404


def test_fan_in_survives_a_crash_after_the_last_part(
    stack: LocalStack, client: LumiereClient, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset_id, parts = queued_parts(stack, client, media)
    for name in ("previews", "audio"):
        deliver(stack, "TranscodeFunction", [parts[name]])
    real = fan_in.publish_manifests
    crashes = []

    def crash_once(asset: dict, settings: Any) -> dict:
        if not crashes:
            crashes.append(1)
            raise RuntimeError("worker lost between the last part and the manifests")
        return real(asset, settings)

    monkeypatch.setattr(fan_in, "publish_manifests", crash_once)
    video = next(m for name, m in parts.items() if name.startswith("video-"))
    response = deliver(stack, "TranscodeFunction", [video])
    assert response == {"batchItemFailures": [{"itemIdentifier": video["MessageId"]}]}
    stuck = client.get_asset(asset_id)
    assert stuck["status"] == "PROCESSING"
    # WHEN SQS redelivers the message, the finished part is not encoded again but the
    # fan-in it owed is done
    monkeypatch.setattr(producers, "PRODUCERS", {})  # any re-encode would KeyError
    assert deliver(stack, "TranscodeFunction", [video]) == {"batchItemFailures": []}
    assert client.get_asset(asset_id)["status"] == "READY"


def test_a_failing_part_fails_the_asset_and_leaves_nothing_published(
    stack: LocalStack, client: LumiereClient, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset_id, parts = queued_parts(stack, client, media)
    video = next(m for name, m in parts.items() if name.startswith("video-"))
    real_video = producers.PRODUCERS["video"]

    def video_then_someone_fails(job: Any, published: list[str]) -> dict:
        out = real_video(job, published)
        assert published  # its renditions are in the bucket now...
        # ...when another part fails the asset, before this one can record completion
        runtime.catalogue().transition(
            asset_id, AssetStatus.FAILED, utc_now(), error={"reason": "corrupt", "message": "x"}
        )
        return out

    monkeypatch.setitem(producers.PRODUCERS, "video", video_then_someone_fails)
    assert deliver(stack, "TranscodeFunction", [video]) == {"batchItemFailures": []}
    assert media_keys(stack, asset_id) == []  # it took its own files back

    # and a part that fails for good marks the asset FAILED with the reason
    _, more = queued_parts(stack, client, media)
    other_id = json.loads(more["previews"]["Body"])["asset_id"]

    def broken(job: Any, published: list[str]) -> dict:
        raise PermanentError("No frame could be taken.", reason=ReasonCode.CORRUPT)

    monkeypatch.setitem(producers.PRODUCERS, "previews", broken)
    deliver(stack, "TranscodeFunction", [more["audio"]])
    assert media_keys(stack, other_id)  # audio published
    deliver(stack, "TranscodeFunction", [more["previews"]])
    failed = client.get_asset(other_id)
    assert (failed["status"], failed["error"]["reason"]) == ("FAILED", "corrupt")
    assert media_keys(stack, other_id) == []
    # the remaining part, delivered late, does no work and publishes nothing
    monkeypatch.setitem(producers.PRODUCERS, "video", broken)
    late = next(m for name, m in more.items() if name.startswith("video-"))
    assert deliver(stack, "TranscodeFunction", [late]) == {"batchItemFailures": []}
    assert media_keys(stack, other_id) == []
