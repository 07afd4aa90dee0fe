"""Authentication and tenancy through the local stack: the API refuses requests without a
valid ID token (401, as API Gateway's Cognito authorizer does), and one user's asset does
not exist for another (404 on every route, never 403, so ids cannot be probed)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests
from lumiere_dev.auth import DevUserPool, new_rsa_key
from lumiere_dev.client import ApiError, LumiereClient
from lumiere_dev.stack import LocalStack

from tests.conftest import Media
from tests.integration.helpers import process_upload


@pytest.fixture(scope="module")
def alice_asset(stack: LocalStack, media: Media) -> dict[str, Any]:
    alice = stack.api_client("alice")
    asset = process_upload(stack, alice, media.silent_clip, "video/mp4")
    assert asset["status"] == "READY", asset.get("error")
    return asset


def call(stack: LocalStack, method: str, path: str, token: str | None) -> requests.Response:
    headers = {"Authorization": token} if token is not None else {}
    return requests.request(
        method, f"{stack.api_url}{path}", headers=headers, timeout=30, allow_redirects=False
    )


def asset_routes(stack: LocalStack, asset: dict[str, Any]) -> list[tuple[str, str]]:
    """Every route that names an asset, with a request that is valid for its owner."""
    asset_id = asset["asset_id"]
    thumbnail = asset["outputs"]["thumbnail"]  # a correctly signed /img/ link
    return [
        ("GET", f"/assets/{asset_id}"),
        ("GET", f"/assets/{asset_id}/playback"),
        ("GET", f"/assets/{asset_id}/original"),
        ("GET", thumbnail),
        ("DELETE", f"/assets/{asset_id}"),  # last: for the owner it would delete
    ]


def test_every_asset_route_is_404_for_another_user(
    stack: LocalStack, alice_asset: dict[str, Any]
) -> None:
    bob = stack.token("bob")
    for method, path in asset_routes(stack, alice_asset):
        r = call(stack, method, path, bob)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
    # the owner still has it (bob's DELETE did nothing) and sees it on every route
    alice = stack.token("alice")
    for method, path in asset_routes(stack, alice_asset)[:-1]:
        assert call(stack, method, path, alice).status_code in (200, 302), (method, path)
    # and the asset is in alice's listing only
    bob_client = stack.api_client("bob")
    assert alice_asset["asset_id"] not in {a["asset_id"] for a in bob_client.list_assets()["items"]}
    alice_client = stack.api_client("alice")
    assert alice_asset["asset_id"] in {a["asset_id"] for a in alice_client.list_assets()["items"]}


def test_someone_elses_cursor_is_refused(stack: LocalStack, media: Media) -> None:
    carol = stack.api_client("carol")
    for _ in range(2):
        carol.request_upload("x.mp4", "video/mp4", 10)
    cursor = carol.list_assets(limit=1)["next_cursor"]
    assert cursor
    with pytest.raises(ApiError) as e:
        stack.api_client("dave").list_assets(cursor=cursor)
    assert e.value.status == 400


def forged_tokens(stack: LocalStack) -> dict[str, str]:
    pool = stack.user_pool
    assert pool is not None
    now = int(time.time())
    claims = jwt.decode(pool.issue("alice"), options={"verify_signature": False})
    other_key = new_rsa_key()
    header = {"kid": pool.kid}

    def signed(changes: dict[str, Any], key: Any = pool.key, alg: str = "RS256") -> str:
        return jwt.encode({**claims, **changes}, key, algorithm=alg, headers=header)

    return {
        "other key": signed({}, other_key),
        "expired": signed({"iat": now - 7200, "exp": now - 3600}),
        "other issuer": signed({"iss": DevUserPool().issuer}),
        "other audience": signed({"aud": "someone-elses-client"}),
        "access token": signed({"token_use": "access"}),
        "no signature": jwt.encode({**claims}, None, algorithm="none", headers=header),
        "garbage": "not.a.token",
        "empty": "",
    }


def test_requests_without_a_valid_token_are_401(
    stack: LocalStack, alice_asset: dict[str, Any]
) -> None:
    routes = [("GET", "/assets"), ("POST", "/uploads"), *asset_routes(stack, alice_asset)]
    for name, token in forged_tokens(stack).items():
        for method, path in routes:
            r = call(stack, method, path, token or None)
            assert r.status_code == 401, (name, method, path, r.status_code)
            assert r.json() == {"message": "Unauthorized"}
    # the asset survived all those DELETEs
    assert stack.api_client("alice").get_asset(alice_asset["asset_id"])["status"] == "READY"


def test_the_token_claims_reach_the_api_as_api_gateway_passes_them(
    stack: LocalStack, media: Media
) -> None:
    """The owner recorded is the token's `sub`, and a user keeps their `sub`."""
    erin: LumiereClient = stack.api_client("erin")
    asset_id = erin.request_upload("a.wav", "audio/wav", 10)["asset_id"]
    record = stack.client("dynamodb").get_item(
        TableName=stack.spec.tables["AssetsTable"].name, Key={"asset_id": {"S": asset_id}}
    )["Item"]
    assert stack.user_pool is not None
    assert record["owner"]["S"] == stack.user_pool.sub_of("erin")
    assert erin.get_asset(asset_id)["status"] == "CREATED"  # a second token, same sub


def test_cors_preflight_needs_no_token(stack: LocalStack) -> None:
    r = requests.options(
        f"{stack.api_url}/assets",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
