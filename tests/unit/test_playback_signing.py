"""CloudFront signing (the API's side) against the local CDN's verifier (CloudFront's
side): what one signs the other accepts, and only for the resource, time and key it was
made for. Pure: no network, no AWS."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from lumiere.api.identity import caller_id
from lumiere.cloud.playback_signing import PlaybackSigner, cloudfront_b64
from lumiere_dev.auth import new_rsa_key, private_pem, public_pem
from lumiere_dev.cdn import request_cookies
from lumiere_dev.cloudfront_auth import (
    Denied,
    check_policy,
    cloudfront_b64decode,
    load_public_keys,
    pattern_matches,
    verify,
)

BASE = "https://d111.cloudfront.net"
KEY = new_rsa_key()
SIGNER = PlaybackSigner(BASE, "K2JCJMDEHXQW5F", private_pem(KEY))
TRUSTED = load_public_keys({"K2JCJMDEHXQW5F": public_pem(KEY)})
NOW = 1_800_000_000


def check(path: str, query: str = "", cookies: dict[str, str] | None = None, **kw: object) -> None:
    verify(
        scheme_host=BASE,
        path=path,
        query=query,
        cookies=cookies or {},
        client_ip=str(kw.get("ip", "203.0.113.9")),
        public_keys=TRUSTED,
        now=float(kw.get("now", NOW)),  # type: ignore[arg-type]
    )


def test_the_policy_is_cloudfronts_custom_policy_for_the_prefix() -> None:
    access = SIGNER.access("assets/abc/", NOW + 600)
    policy = json.loads(cloudfront_b64decode(access.policy))
    assert policy == {
        "Statement": [
            {
                "Resource": f"{BASE}/assets/abc/*",
                "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 600}},
            }
        ]
    }
    # botocore's own signed URL for the same policy carries the same three parameters
    botocore_url = SIGNER._signer.generate_presigned_url(
        f"{BASE}/assets/abc/hls/master.m3u8", policy=cloudfront_b64decode(access.policy).decode()
    )
    assert botocore_url == access.url(f"{BASE}/assets/abc/hls/master.m3u8")
    assert not {"+", "=", "/"} & set(access.policy + access.signature)  # URL-safe alphabet


def test_a_prefix_signature_opens_everything_under_it_and_nothing_else() -> None:
    query = SIGNER.access("assets/abc/", NOW + 600).query
    for path in ("/assets/abc/hls/master.m3u8", "/assets/abc/hls/v_720p/seg_00001.m4s"):
        check(path, query)
    for path in ("/assets/abd/hls/master.m3u8", "/assets/abc", "/uploads/abc/x.mp4"):
        with pytest.raises(Denied, match="another resource"):
            check(path, query)


def test_expiry_is_exclusive() -> None:
    query = SIGNER.access("assets/abc/", NOW + 600).query
    check("/assets/abc/x.m4s", query, now=NOW + 599)
    for now in (NOW + 600, NOW + 601):
        with pytest.raises(Denied, match="expired"):
            check("/assets/abc/x.m4s", query, now=now)


def test_signed_cookies_work_and_the_query_wins() -> None:
    access = SIGNER.access("assets/abc/", NOW + 600)
    cookies = {c["name"]: str(c["value"]) for c in access.cookies()}
    check("/assets/abc/x.m4s", cookies=cookies)
    assert {c["path"] for c in access.cookies()} == {"/assets/abc/"}
    # a broken query is not rescued by good cookies (CloudFront reads the query first)
    with pytest.raises(Denied):
        check("/assets/abc/x.m4s", "Policy=x&Signature=y&Key-Pair-Id=z", cookies=cookies)


def test_canned_policy_urls_from_botocore_verify_for_their_url_only() -> None:
    url = SIGNER._signer.generate_presigned_url(
        f"{BASE}/assets/abc/poster.jpg", date_less_than=datetime.fromtimestamp(NOW + 60, UTC)
    )
    query = url.split("?", 1)[1]
    check("/assets/abc/poster.jpg", query)
    with pytest.raises(Denied):
        check("/assets/abc/other.jpg", query)


def test_forgeries_are_denied() -> None:
    access = SIGNER.access("assets/abc/", NOW + 600)
    wider = json.dumps(
        {"Statement": [{"Resource": f"{BASE}/*",
                        "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 600}}}]},
        separators=(",", ":"),
    ).encode()  # fmt: skip
    forged = {
        # a wider policy under the original signature
        "swapped policy": f"Policy={cloudfront_b64(wider)}&Signature={access.signature}"
        f"&Key-Pair-Id={access.key_pair_id}",
        "unknown key": access.query.replace(access.key_pair_id, "KOTHER"),
        "no signature": f"Policy={access.policy}&Key-Pair-Id={access.key_pair_id}",
        "policy and expires": f"{access.query}&Expires={NOW + 600}",
        "bad base64": f"Policy=%%%&Signature={access.signature}&Key-Pair-Id={access.key_pair_id}",
    }
    for name, query in forged.items():
        with pytest.raises(Denied):  # noqa: PT012 - the name says which forgery got through
            check("/assets/abc/x.m4s", query)
            pytest.fail(f"{name} was accepted")
    with pytest.raises(Denied, match="not signed"):
        check("/assets/abc/x.m4s")


def test_policy_conditions_not_before_and_source_ip() -> None:
    def policy(condition: dict[str, object]) -> bytes:
        statement = {"Resource": f"{BASE}/a/*", "Condition": condition}
        return json.dumps({"Statement": [statement]}).encode()

    until = {"DateLessThan": {"AWS:EpochTime": NOW + 60}}
    later = policy({**until, "DateGreaterThan": {"AWS:EpochTime": NOW + 30}})
    with pytest.raises(Denied, match="not valid yet"):
        check_policy(later, f"{BASE}/a/x", "198.51.100.1", NOW)
    check_policy(later, f"{BASE}/a/x", "198.51.100.1", NOW + 31)
    office = policy({**until, "IpAddress": {"AWS:SourceIp": "198.51.100.0/24"}})
    check_policy(office, f"{BASE}/a/x", "198.51.100.77", NOW)
    with pytest.raises(Denied, match="allowed address"):
        check_policy(office, f"{BASE}/a/x", "203.0.113.1", NOW)
    with pytest.raises(Denied, match="no DateLessThan"):
        check_policy(policy({}), f"{BASE}/a/x", "198.51.100.1", NOW)


@pytest.mark.parametrize(
    ("pattern", "url", "matches"),
    [
        ("https://d/a/*", "https://d/a/b/c.m4s", True),
        ("https://d/a/*", "https://d/ab", False),
        ("https://d/a/?.jpg", "https://d/a/1.jpg", True),
        ("https://d/a/?.jpg", "https://d/a/12.jpg", False),
        ("https://d/a.b/*", "https://d/aXb/c", False),  # "." is literal, not a regex dot
        ("http*://d/a/*", "https://d/a/x", True),
    ],
)
def test_resource_wildcards(pattern: str, url: str, matches: bool) -> None:
    assert pattern_matches(pattern, url) is matches


def test_cookie_header_parsing_keeps_the_first_of_a_name() -> None:
    header = "CloudFront-Policy=aaa; other=1; CloudFront-Policy=bbb"
    assert request_cookies(header) == {"CloudFront-Policy": "aaa", "other": "1"}
    assert request_cookies(None) == {}


def test_cloudfront_base64_round_trips() -> None:
    data = bytes(range(256))
    assert cloudfront_b64decode(cloudfront_b64(data)) == data
    assert base64.b64encode(data) != cloudfront_b64(data).encode()


def test_caller_id_is_the_sub_claim_and_fails_closed() -> None:
    from chalice import UnauthorizedError

    context = {"authorizer": {"claims": {"sub": "u-1", "cognito:username": "ada"}}}
    assert caller_id(context) == "u-1"
    for missing in (None, {}, {"authorizer": {}}, {"authorizer": {"claims": {"sub": ""}}}):
        with pytest.raises(UnauthorizedError):
            caller_id(missing)


def test_time_is_real_in_the_default_clock() -> None:
    # verify() without ``now`` uses the wall clock: a signature valid for a minute passes
    query = SIGNER.access("assets/abc/", int(time.time()) + 60).query
    verify(scheme_host=BASE, path="/assets/abc/x", query=query, cookies={},
           client_ip="127.0.0.1", public_keys=TRUSTED)  # fmt: skip
