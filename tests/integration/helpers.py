"""Deliver queue messages to handlers the way Lambda does, for tests that drive steps."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from lumiere.media.conformance import check_dash, check_hls
from lumiere.media.tools import find_binaries
from lumiere_dev.client import LumiereClient
from lumiere_dev.runner import LocalLambdaContext, import_handler, to_lambda_record
from lumiere_dev.stack import LocalStack


def receive(stack: LocalStack, queue_id: str, *, wait: int = 2) -> list[dict[str, Any]]:
    queue = stack.spec.queues[queue_id]
    return (
        stack.client("sqs")
        .receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        .get("Messages", [])
    )


def deliver(stack: LocalStack, function_id: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Invoke a function with these messages as one SQS batch; returns its response."""
    fn = stack.spec.functions[function_id]
    queue = stack.spec.queues[fn.sqs_events[0].queue_id]
    event = {"Records": [to_lambda_record(m, queue, stack.spec.context.region) for m in messages]}
    context = LocalLambdaContext(
        function_name=function_id,
        memory_limit_in_mb=fn.memory,
        timeout_seconds=fn.timeout,
        region=stack.spec.context.region,
        account_id=stack.spec.context.account_id,
    )
    return dict(import_handler(fn.handler)(event, context))


def drain(stack: LocalStack, queue_id: str) -> None:
    """Delete whatever an earlier test left (PurgeQueue is limited to once a minute)."""
    sqs = stack.client("sqs")
    url = stack.spec.queues[queue_id].url
    while messages := receive(stack, queue_id, wait=0):
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


# The queues of an asset's parts and the function that consumes each.
PART_QUEUES = {"TranscodeQueue": "TranscodeFunction", "AnalysisQueue": "AnalysisFunction"}


def transcode_all(stack: LocalStack) -> list[dict[str, Any]]:
    """Deliver every queued part (transcode and analysis), one per invocation (BatchSize
    1), until the queues are empty; returns the messages delivered."""
    delivered: list[dict[str, Any]] = []
    busy = True
    while busy:
        busy = False
        for queue_id, function_id in PART_QUEUES.items():
            for message in receive(stack, queue_id, wait=0 if delivered else 1):
                assert deliver(stack, function_id, [message]) == {"batchItemFailures": []}
                delivered.append(message)
                busy = True
    return delivered


def process_upload(
    stack: LocalStack, client: LumiereClient, path: Path, content_type: str, **upload: Any
) -> dict[str, Any]:
    """Upload a file, deliver its S3 event to ingest and every part to transcode; the
    asset as the API then shows it."""
    asset_id = client.upload_file(path, content_type=content_type, **upload).asset_id
    assert deliver(stack, "IngestFunction", receive(stack, "IngestQueue")) == {
        "batchItemFailures": []
    }
    transcode_all(stack)
    return client.get_asset(asset_id)


def fetch_package(stack: LocalStack, asset_id: str, dest: Path) -> Path:
    """Download an asset's published stream package (HLS + DASH) into ``dest``."""
    s3 = stack.client("s3")
    bucket = stack.spec.buckets["MediaBucket"].name
    prefix = f"assets/{asset_id}/hls/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            path = dest / obj["Key"][len(prefix) :]
            path.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(path))
    return dest


def assert_package_valid(root: Path) -> None:
    """The conformance checks pass, ffmpeg decodes every HLS rendition to the end, and
    reads the DASH manifest's every representation to the end.

    The MPD's representations are the same CMAF files the HLS renditions name (init and
    segments), so the DASH read copies packets instead of decoding the same frames a
    second time: it still follows the manifest's timeline and segment addresses through
    every file."""
    problems = check_hls(root) + check_dash(root)
    assert problems == [], "\n".join(f"{p.where}: {p.rule}: {p.message}" for p in problems)
    playlists = sorted(root.glob("*/index.m3u8"))
    assert playlists
    ffmpeg = str(find_binaries().ffmpeg)
    # every HLS rendition, and the DASH manifest with all its representations
    for playlist in [*playlists, root / "manifest.mpd"]:
        # ffmpeg's DASH reader refuses a .vtt sidecar (a caption track) by its extension
        # unless told the package's files are all trusted, which ours are.
        trust = ["-allowed_extensions", "ALL"] if playlist.suffix == ".mpd" else []
        codecs = ["-c", "copy"] if playlist.suffix == ".mpd" else ["-c:s", "copy"]
        read = ["-i", str(playlist), "-map", "0", *codecs, "-f", "null", "-"]
        done = subprocess.run(
            [ffmpeg, "-v", "error", "-xerror", *trust, *read],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{playlist.relative_to(root)}: {done.stderr[-500:]}"
        assert done.stderr == "", f"{playlist.relative_to(root)}: {done.stderr[-500:]}"
