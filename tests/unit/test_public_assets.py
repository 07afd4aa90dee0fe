"""Public assets: the KeyValueStore adapter's exact calls (botocore's Stubber against the
real cloudfront-keyvaluestore and cloudfront service models: moto has no KeyValueStore),
the order of the two writes when visibility changes, and the public-path rule, which the
CloudFront Function in template.yaml and lumiere.pipeline.keys must apply alike (the
Function is run under node on the same cases)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import ANY, Stubber
from lumiere.cloud.public_assets import CloudFrontPublicAssets
from lumiere.errors import InvalidRequestError, QuotaExceededError, TransientError
from lumiere.pipeline.keys import parse_public_path
from lumiere.pipeline.models import AssetChange, UploadRequest, Visibility
from lumiere.pipeline.visibility import change_visibility

TEMPLATE = Path(__file__).parents[2] / "template.yaml"
KVS_ARN = "arn:aws:cloudfront::123456789012:key-value-store/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
ASSET = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


def stubbed() -> tuple[CloudFrontPublicAssets, Stubber, Stubber]:
    kvs = boto3.client(
        "cloudfront-keyvaluestore",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    cloudfront = boto3.client(
        "cloudfront", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    index = CloudFrontPublicAssets(
        KVS_ARN, "E2EXAMPLE", kvs_client=kvs, cloudfront_client=cloudfront
    )
    return index, Stubber(kvs), Stubber(cloudfront)


def describe(stub: Stubber, etag: str) -> None:
    stub.add_response(
        "describe_key_value_store",
        {
            "KvsARN": KVS_ARN,
            "ETag": etag,
            "Created": "2026-01-01T00:00:00Z",
            "ItemCount": 1,
            "TotalSizeInBytes": 40,
        },
        {"KvsARN": KVS_ARN},
    )


INVALIDATION = {
    "Location": "https://cloudfront.amazonaws.com/2020-05-31/distribution/E2EXAMPLE/invalidation/I1",
    "Invalidation": {
        "Id": "I1",
        "Status": "InProgress",
        "CreateTime": "2026-01-01T00:00:00Z",
        "InvalidationBatch": {"Paths": {"Quantity": 0}, "CallerReference": "r"},
    },
}


def written(etag: str) -> dict[str, Any]:
    return {"ItemCount": 1, "TotalSizeInBytes": 40, "ETag": etag}


def expect_put(stub: Stubber, if_match: str, new_etag: str) -> None:
    """PutKey of the asset's id, conditional on the store's ETag ``if_match``."""
    stub.add_response(
        "put_key",
        written(new_etag),
        {"KvsARN": KVS_ARN, "Key": ASSET, "Value": "public", "IfMatch": if_match},
    )


def test_publish_puts_the_id_with_the_stores_current_etag() -> None:
    index, kvs, _ = stubbed()
    describe(kvs, "E1")
    expect_put(kvs, "E1", "E2")
    with kvs:
        index.publish(ASSET)
    kvs.assert_no_pending_responses()


def test_withdraw_deletes_the_id_then_invalidates_the_assets_paths() -> None:
    index, kvs, cloudfront = stubbed()
    describe(kvs, "E7")
    kvs.add_response(
        "delete_key", written("E8"), {"KvsARN": KVS_ARN, "Key": ASSET, "IfMatch": "E7"}
    )
    cloudfront.add_response(
        "create_invalidation",
        INVALIDATION,
        {
            "DistributionId": "E2EXAMPLE",
            "InvalidationBatch": {
                "Paths": {
                    "Quantity": 2,
                    "Items": [f"/public/assets/{ASSET}/*", f"/assets/{ASSET}/*"],
                },
                "CallerReference": ANY,
            },
        },
    )
    with kvs, cloudfront:
        index.withdraw(ASSET)
    kvs.assert_no_pending_responses()
    cloudfront.assert_no_pending_responses()


def test_withdrawing_an_id_not_in_the_store_still_invalidates() -> None:
    index, kvs, cloudfront = stubbed()
    describe(kvs, "E1")
    kvs.add_client_error("delete_key", "ResourceNotFoundException", http_status_code=404)
    cloudfront.add_response("create_invalidation", INVALIDATION, None)
    with kvs, cloudfront:
        index.withdraw(ASSET)
    cloudfront.assert_no_pending_responses()


def test_a_moved_etag_is_read_again() -> None:
    index, kvs, _ = stubbed()
    describe(kvs, "E1")
    kvs.add_client_error("put_key", "ConflictException", http_status_code=409)
    describe(kvs, "E2")
    expect_put(kvs, "E2", "E3")
    with kvs:
        index.publish(ASSET)
    kvs.assert_no_pending_responses()


def test_busy_service_is_transient_and_refusals_are_not() -> None:
    index, kvs, _ = stubbed()
    for _ in range(3):  # a conflict every time: given up, retried by the caller later
        describe(kvs, "E1")
        kvs.add_client_error("put_key", "ConflictException", http_status_code=409)
    describe(kvs, "E1")
    kvs.add_client_error("put_key", "InternalServerException", http_status_code=500)
    kvs.add_client_error("describe_key_value_store", "AccessDeniedException", http_status_code=403)
    with kvs:
        with pytest.raises(TransientError):
            index.publish(ASSET)
        with pytest.raises(TransientError):
            index.publish(ASSET)
        with pytest.raises(Exception, match="AccessDenied") as e:
            index.publish(ASSET)
        assert not isinstance(e.value, TransientError)


def test_is_public_reads_the_key() -> None:
    index, kvs, _ = stubbed()
    kvs.add_response(
        "get_key",
        {"Key": ASSET, "Value": "public", "ItemCount": 1, "TotalSizeInBytes": 40},
        {"KvsARN": KVS_ARN, "Key": ASSET},
    )
    kvs.add_client_error("get_key", "ResourceNotFoundException", http_status_code=404)
    with kvs:
        assert index.is_public(ASSET)
        assert not index.is_public(OTHER)


# ---------------------------------------------------------------- visibility changes


class Recorder:
    """A catalogue and an index that write to one shared log."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []

    def set_visibility(self, asset_id: str, visibility: str, now: str) -> dict[str, Any]:
        self.log.append(("catalogue", visibility))
        return {"asset_id": asset_id, "visibility": visibility}

    def publish(self, asset_id: str) -> None:
        self.log.append(("index", "publish"))

    def withdraw(self, asset_id: str) -> None:
        self.log.append(("index", "withdraw"))

    def is_public(self, asset_id: str) -> bool:
        return False


def test_the_store_never_lists_an_asset_the_catalogue_calls_private() -> None:
    r = Recorder()
    private = {"asset_id": ASSET, "visibility": "private"}
    public = change_visibility(private, Visibility.PUBLIC, r, r)  # type: ignore[arg-type]
    assert r.log == [("catalogue", "public"), ("index", "publish")]
    r.log.clear()
    change_visibility(public, Visibility.PRIVATE, r, r)  # type: ignore[arg-type]
    assert r.log == [("index", "withdraw"), ("catalogue", "private")]
    r.log.clear()
    # already private (so already withdrawn): no second invalidation
    change_visibility(private, Visibility.PRIVATE, r, r)  # type: ignore[arg-type]
    assert r.log == []
    # public again repairs a half-done earlier request (the index write is repeated)
    change_visibility(public, Visibility.PUBLIC, r, r)  # type: ignore[arg-type]
    assert r.log == [("catalogue", "public"), ("index", "publish")]


def test_without_a_public_path_assets_cannot_be_made_public() -> None:
    r = Recorder()
    with pytest.raises(InvalidRequestError, match="visibility must be private"):
        change_visibility({"asset_id": ASSET}, Visibility.PUBLIC, r, None)  # type: ignore[arg-type]
    assert r.log == []


def test_visibility_in_requests() -> None:
    body = {"filename": "a.mp4", "content_type": "video/mp4", "size": 1}
    assert UploadRequest.from_json(body).visibility is Visibility.PRIVATE
    assert UploadRequest.from_json({**body, "visibility": "public"}).visibility is Visibility.PUBLIC
    for bad in ("PUBLIC", "unlisted", True, 1):
        with pytest.raises(InvalidRequestError):
            UploadRequest.from_json({**body, "visibility": bad})
    change = AssetChange.from_json({"visibility": "public"})
    assert (change.visibility, change.sets_poster) == (Visibility.PUBLIC, False)
    for bad_body in ({}, {"visibility": "public", "owner": "me"}, ["public"], None):
        with pytest.raises(InvalidRequestError):
            AssetChange.from_json(bad_body)


def test_poster_time_in_requests() -> None:
    change = AssetChange.from_json({"poster_time": 12.34567})
    assert (change.visibility, change.poster_time, change.sets_poster) == (None, 12.346, True)
    reset = AssetChange.from_json({"poster_time": None, "visibility": "private"})
    assert (reset.visibility, reset.poster_time, reset.sets_poster) == (
        Visibility.PRIVATE, None, True,
    )  # fmt: skip
    assert AssetChange.from_json({"poster_time": 0}).poster_time == 0.0
    for bad in (-1, "12", True, [1], 1e9):
        with pytest.raises(InvalidRequestError, match="poster_time"):
            AssetChange.from_json({"poster_time": bad})


# ---------------------------------------------------------------- the public-path rule

PATH_CASES: list[tuple[str, str | None]] = [
    (f"/public/assets/{ASSET}/hls/master.m3u8", f"/assets/{ASSET}/hls/master.m3u8"),
    (f"/public/assets/{ASSET}/hls/720p/seg_00001.m4s", f"/assets/{ASSET}/hls/720p/seg_00001.m4s"),
    (f"/public/assets/{ASSET}/poster.jpg", f"/assets/{ASSET}/poster.jpg"),
    (
        f"/public/assets/{ASSET}/img/f_webp,fit_cover,h_320,q_80,sc_1,w_320.webp",
        f"/assets/{ASSET}/img/f_webp,fit_cover,h_320,q_80,sc_1,w_320.webp",
    ),
    (f"/public/assets/{ASSET}/hls/captions/en-GB.vtt", f"/assets/{ASSET}/hls/captions/en-GB.vtt"),
    (f"/public/assets/{ASSET}/../{OTHER}/hls/master.m3u8", None),
    (f"/public/assets/{ASSET}/hls/../../{OTHER}/poster.jpg", None),
    (f"/public/assets/{ASSET}/./poster.jpg", None),
    (f"/public/assets/{ASSET}/%2e%2e/{OTHER}/poster.jpg", None),
    (f"/public/assets/{ASSET}//poster.jpg", None),
    (f"/public/assets/{ASSET}/hls/", None),
    (f"/public/assets/{ASSET}/.hidden", None),
    (f"/public/assets/{ASSET.upper()}/poster.jpg", None),
    (f"/public/assets/{ASSET[:-1]}/poster.jpg", None),
    (f"/assets/{ASSET}/poster.jpg", None),
    (f"/public/uploads/{ASSET}/clip.mp4", None),
    ("/public/", None),
]


@pytest.mark.parametrize(("path", "rewritten"), PATH_CASES)
def test_public_path_rule(path: str, rewritten: str | None) -> None:
    found = parse_public_path(path)
    assert (None if found is None else "/" + found[1]) == rewritten
    if found is not None:
        assert found[0] == ASSET


def function_code() -> str:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: {suffix: node.value})
    template = yaml.load(TEMPLATE.read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass
    return str(template["Resources"]["PublicAssetsFunction"]["Properties"]["FunctionCode"])


# cloudfront-js-2.0's `cloudfront` module, enough for the Function: a store whose
# exists() answers from a list of public ids (and throws for "unreadable").
NODE_HARNESS = """
const fakeStore = {
  exists: async (key) => {
    if (PUBLIC_IDS.includes('unreadable')) throw new Error('store down');
    return PUBLIC_IDS.includes(key);
  },
};
const cf = {
  kvs: (...args) => {
    if (args.length !== 0) throw new Error('the associated store is cf.kvs()');
    return fakeStore;
  },
};
"""


def run_function(cases: list[str], public_ids: list[str]) -> list[dict[str, Any]]:
    code = function_code().replace("import cf from 'cloudfront';", NODE_HARNESS)
    driver = f"""
const PUBLIC_IDS = {json.dumps(public_ids)};
{code}
(async () => {{
  const out = [];
  for (const uri of {json.dumps(cases)}) {{
    out.push(await handler({{ request: {{ uri, method: 'GET', headers: {{}} }} }}));
  }}
  console.log(JSON.stringify(out));
}})();
"""
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, "--input-type=module", "-e", driver],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return list(json.loads(done.stdout))


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_cloudfront_function_applies_the_same_rule() -> None:
    paths = [path for path, _ in PATH_CASES]
    for result, (path, rewritten) in zip(run_function(paths, [ASSET]), PATH_CASES, strict=True):
        if rewritten is None:
            assert result == {"statusCode": 404, "statusDescription": "Not Found"}, path
        else:
            assert result["uri"] == rewritten, path
    # not in the store (private, or made private again), or the store unreadable: 404
    good = PATH_CASES[0][0]
    for ids in ([], [OTHER], ["unreadable", ASSET]):
        assert run_function([good], ids) == [{"statusCode": 404, "statusDescription": "Not Found"}]


def test_a_full_store_is_a_quota_error_and_the_asset_stays_private() -> None:
    index, kvs, _ = stubbed()
    describe(kvs, "E1")
    kvs.add_client_error("put_key", "ServiceQuotaExceededException", http_status_code=402)
    with kvs, pytest.raises(QuotaExceededError, match="Make others private"):
        index.publish(ASSET)

    class FullIndex(Recorder):
        def publish(self, asset_id: str) -> None:
            self.log.append(("index", "publish"))
            raise QuotaExceededError("full")

    r = FullIndex()
    with pytest.raises(QuotaExceededError):
        change_visibility({"asset_id": ASSET}, Visibility.PUBLIC, r, r)  # type: ignore[arg-type]
    # said private again: no public URL that would answer 404
    assert r.log == [("catalogue", "public"), ("index", "publish"), ("catalogue", "private")]
