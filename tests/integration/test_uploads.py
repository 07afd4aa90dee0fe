"""Constrained uploads through the local stack: the presigned POST's policy pins the key,
the type, the size range and a short expiry; a large file goes up in parts (owner-checked
routes, the total checked against the declared size) and is processed like any other."""

from __future__ import annotations

import base64
import json
import os
import struct
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from lumiere_dev.client import ApiError, LumiereClient
from lumiere_dev.stack import LocalStack

from tests.conftest import Media
from tests.integration.helpers import deliver, receive, transcode_all

MIB = 1024 * 1024


def test_presigned_post_policy_pins_key_type_size_and_expiry(
    stack: LocalStack, client: LumiereClient
) -> None:
    before = time.time()
    ticket = client.request_upload("holiday.mov", "video/quicktime", 123_456)
    fields = ticket["upload"]["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    bucket = stack.spec.buckets["UploadsBucket"].name
    # the exact key: no starts-with that would let the client pick another
    assert {"key": ticket["key"]} in conditions
    assert ticket["key"] == f"uploads/{ticket['asset_id']}/holiday.mov"
    assert {"bucket": bucket} in conditions
    assert not [c for c in conditions if isinstance(c, list) and c[0] == "starts-with"]
    # the type it was asked for (a video type for a video upload), pinned exactly
    assert {"Content-Type": "video/quicktime"} in conditions
    assert fields["Content-Type"] == "video/quicktime"
    # 1 byte up to the declared size
    assert ["content-length-range", 1, 123_456] in conditions
    # a short expiry: UPLOAD_URL_TTL_SECONDS (900) from now
    expires = datetime.strptime(policy["expiration"].replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")
    lifetime = expires.timestamp() - before
    assert ticket["expires_in"] == 900
    assert 900 - 5 <= lifetime <= 900 + 5


def sparse_video(media: Media, dest: Path, total: int) -> Path:
    """A real clip followed by an ISO BMFF `free` box that pads the file to ``total``
    bytes: a valid MP4 that readers skip past, written sparse (the padding takes no disk
    and no time to make)."""
    clip = media.clip.read_bytes()
    padding = total - len(clip)
    with dest.open("wb") as fh:
        fh.write(clip)
        fh.write(struct.pack(">I4s", padding, b"free"))
        fh.truncate(total)
    assert os.stat(dest).st_size == total
    return dest


def test_large_multipart_upload_completes_and_is_processed(
    stack: LocalStack, client: LumiereClient, media: Media, tmp_path: Path
) -> None:
    path = sparse_video(media, tmp_path / "big.mp4", 105 * MIB)
    parts: list[int] = []
    uploaded = client.upload_file_multipart(
        path, content_type="video/mp4", on_part=lambda n, _: parts.append(n)
    )
    assert len(parts) == 7  # 16 MiB parts
    s3 = stack.client("s3")
    head = s3.head_object(Bucket=stack.spec.buckets["UploadsBucket"].name, Key=uploaded.key)
    assert head["ContentLength"] == path.stat().st_size
    assert head["ContentType"] == "video/mp4"
    assert deliver(stack, "IngestFunction", receive(stack, "IngestQueue")) == {
        "batchItemFailures": []
    }
    transcode_all(stack)
    asset = client.get_asset(uploaded.asset_id)
    assert asset["status"] == "READY", asset.get("error")
    assert asset["probe"]["size"] == 105 * MIB
    assert asset["probe"]["duration"] == pytest.approx(3.0, abs=0.1)
    assert asset["outputs"]["hls"]["renditions"]


def start(client: LumiereClient, size: int) -> dict[str, Any]:
    r = client.api.post(
        f"{client.api_url}/uploads/multipart",
        json={"filename": "x.mp4", "content_type": "video/mp4", "size": size},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def part_url(client: LumiereClient, asset_id: str, n: int = 1) -> str:
    r = client.api.post(
        f"{client.api_url}/uploads/{asset_id}/parts", json={"part_numbers": [n]}, timeout=10
    )
    assert r.status_code == 200, r.text
    return str(r.json()["parts"][0]["url"])


def test_more_than_declared_is_refused_and_aborted(
    stack: LocalStack, client: LumiereClient
) -> None:
    ticket = start(client, 6 * MIB)
    assert ticket["part_count"] == 1
    put = requests.put(part_url(client, ticket["asset_id"]), data=b"\0" * (7 * MIB), timeout=60)
    assert put.status_code == 200
    r = client.api.post(
        f"{client.api_url}/uploads/{ticket['asset_id']}/complete",
        json={"parts": [{"part_number": 1, "etag": put.headers["ETag"]}]},
        timeout=30,
    )
    assert r.status_code == 413
    assert r.json()["error"]["reason"] == "too_large"
    uploads = stack.client("s3").list_multipart_uploads(
        Bucket=stack.spec.buckets["UploadsBucket"].name, Prefix=ticket["key"]
    )
    assert uploads.get("Uploads", []) == []  # aborted: the parts are gone


def test_bad_part_requests_are_400(client: LumiereClient) -> None:
    ticket = start(client, 40 * MIB)  # three 16 MiB parts
    url = f"{client.api_url}/uploads/{ticket['asset_id']}/parts"
    for numbers in ([], [0], [4], ["1"], list(range(1, 102)), None):
        r = client.api.post(url, json={"part_numbers": numbers}, timeout=10)
        assert r.status_code == 400, numbers
    complete = f"{client.api_url}/uploads/{ticket['asset_id']}/complete"
    wrong = client.api.post(
        complete, json={"parts": [{"part_number": 1, "etag": '"feed"'}]}, timeout=10
    )
    assert wrong.status_code == 400  # not what S3 holds


def test_multipart_routes_are_the_owners_only_and_abort_cleans_up(
    stack: LocalStack, client: LumiereClient
) -> None:
    ticket = start(client, 20 * MIB)
    asset_id = ticket["asset_id"]
    requests.put(part_url(client, asset_id), data=b"\0" * (5 * MIB), timeout=60)
    intruder = stack.api_client("intruder")
    for method, path, body in (
        ("POST", f"/uploads/{asset_id}/parts", {"part_numbers": [1]}),
        ("POST", f"/uploads/{asset_id}/complete", {"parts": [{"part_number": 1, "etag": "x"}]}),
        ("DELETE", f"/uploads/{asset_id}", None),
    ):
        r = intruder.api.request(method, f"{client.api_url}{path}", json=body, timeout=10)
        assert r.status_code == 404, (method, path, r.status_code)
    r = client.api.delete(f"{client.api_url}/uploads/{asset_id}", timeout=10)
    assert r.status_code == 204
    uploads = stack.client("s3").list_multipart_uploads(
        Bucket=stack.spec.buckets["UploadsBucket"].name, Prefix=ticket["key"]
    )
    assert uploads.get("Uploads", []) == []
    with pytest.raises(ApiError) as e:
        client.get_asset(asset_id)
    assert e.value.status == 404


def test_deleting_an_asset_mid_upload_frees_its_parts(
    stack: LocalStack, client: LumiereClient
) -> None:
    ticket = start(client, 20 * MIB)
    requests.put(part_url(client, ticket["asset_id"]), data=b"\0" * (5 * MIB), timeout=60)
    assert client.delete_asset(ticket["asset_id"]) == 204
    uploads = stack.client("s3").list_multipart_uploads(
        Bucket=stack.spec.buckets["UploadsBucket"].name, Prefix=ticket["key"]
    )
    assert uploads.get("Uploads", []) == []  # parts are not objects: deleting keys misses them
