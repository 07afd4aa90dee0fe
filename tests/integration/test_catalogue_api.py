"""GET /assets and DELETE /assets/{id} against the local stack's API and moto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from lumiere_dev.client import ApiError, LumiereClient
from lumiere_dev.stack import LocalStack

from tests.conftest import REPO, Media
from tests.integration.helpers import deliver, receive, transcode_all


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(REPO / "template.yaml", run_functions=False, stack_name="catalogue") as s:
        yield s


@pytest.fixture(scope="module")
def client(stack: LocalStack) -> LumiereClient:
    return stack.api_client()


def process_all(stack: LocalStack) -> None:
    while messages := receive(stack, "IngestQueue", wait=1):
        deliver(stack, "IngestFunction", messages)
    transcode_all(stack)  # every part, the analysis too


def test_list_paginates_newest_first_and_filters(
    stack: LocalStack, client: LumiereClient, media: Media
) -> None:
    ready = [client.upload_file(media.tone, content_type="audio/wav").asset_id for _ in range(3)]
    failed = client.upload_file(media.not_media, content_type="video/mp4").asset_id
    pending = client.request_upload("later.mp4", "video/mp4", 10)["asset_id"]
    process_all(stack)

    seen, cursor, pages = [], None, 0
    while True:
        page = client.list_assets(limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= 2
        seen += [item["asset_id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen[:5] == [pending, failed, *reversed(ready)]  # newest first
    assert len(seen) == len(set(seen))
    assert pages >= 3

    only_ready = client.list_assets(status="READY", kind="audio", limit=100)["items"]
    assert {i["asset_id"] for i in only_ready} >= set(ready)
    assert all(i["status"] == "READY" and i["kind"] == "audio" for i in only_ready)
    assert all(i["hls_url"].split("?")[0].endswith("/hls/master.m3u8") for i in only_ready)
    [f] = [i for i in client.list_assets(status="FAILED")["items"] if i["asset_id"] == failed]
    assert f["error"]["reason"] == "unsupported_format"


@pytest.mark.parametrize(
    "params",
    [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"status": "DONE"}, {"kind": "pdf"},
     {"cursor": "!!notbase64"}, {"cursor": "eyJhIjogMX0"}],
)  # fmt: skip
def test_bad_list_parameters_are_400(stack: LocalStack, params: dict[str, str]) -> None:
    r = requests.get(
        f"{stack.api_url}/assets",
        params=params,
        headers={"Authorization": stack.token()},
        timeout=10,
    )
    assert r.status_code == 400
    assert r.json()["error"]["reason"] == "invalid_request"


def test_delete_removes_original_outputs_and_metadata_idempotently(
    stack: LocalStack, client: LumiereClient, media: Media
) -> None:
    asset_id = client.upload_file(media.silent_clip, content_type="video/mp4").asset_id
    process_all(stack)
    assert client.get_asset(asset_id)["status"] == "READY"
    s3 = stack.client("s3")
    uploads = stack.spec.buckets["UploadsBucket"].name
    media_bucket = stack.spec.functions["TranscodeFunction"].environment["MEDIA_BUCKET"]
    assert s3.list_objects_v2(Bucket=media_bucket, Prefix=f"assets/{asset_id}/")["KeyCount"] > 0

    assert client.delete_asset(asset_id) == 204
    assert client.delete_asset(asset_id) == 204  # idempotent
    with pytest.raises(ApiError) as e:
        client.get_asset(asset_id)
    assert e.value.status == 404
    versions = s3.list_object_versions(Bucket=uploads, Prefix=f"uploads/{asset_id}/")
    assert versions.get("Versions", []) == []
    assert versions.get("DeleteMarkers", []) == []
    assert s3.list_objects_v2(Bucket=media_bucket, Prefix=f"assets/{asset_id}/")["KeyCount"] == 0
    assert asset_id not in {i["asset_id"] for i in client.list_assets(limit=100)["items"]}
    record = stack.client("dynamodb").get_item(
        TableName=stack.spec.tables["AssetsTable"].name, Key={"asset_id": {"S": asset_id}}
    )["Item"]
    assert record["status"]["S"] == "DELETED"
    assert "probe" not in record
    assert "outputs" not in record
    assert int(record["expires_at"]["N"]) > 0


def test_late_event_cannot_revive_a_deleted_asset(
    stack: LocalStack, client: LumiereClient, media: Media
) -> None:
    asset_id = client.upload_file(media.tone, content_type="audio/wav").asset_id
    notifications = receive(stack, "IngestQueue")
    client.delete_asset(asset_id)
    deliver(stack, "IngestFunction", notifications)
    assert receive(stack, "TranscodeQueue", wait=1) == []
    assert receive(stack, "AnalysisQueue", wait=0) == []
    with pytest.raises(ApiError):
        client.get_asset(asset_id)


def test_unknown_asset_delete_is_404(client: LumiereClient) -> None:
    with pytest.raises(ApiError) as e:
        client.delete_asset("0" * 32)
    assert e.value.status == 404
