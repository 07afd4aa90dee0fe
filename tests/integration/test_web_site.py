"""The web app's delivery: served by the local stack with a generated config.json, and
published to SiteBucket the way a deployment does. (The page itself is tested in a real
browser in tests/browser.)"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests
from lumiere_dev.site import publish_site, site_files
from lumiere_dev.stack import LocalStack
from lumiere_dev.web_server import WEB_DIR, SiteConfig, ensure_vendored

from tests.conftest import REPO


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    if not ensure_vendored(WEB_DIR):
        pytest.skip("web/vendor/ could not be filled (scripts/vendor-web needs npm)")
    with LocalStack(REPO / "template.yaml", stack_name="site", run_functions=False) as s:
        yield s


def test_every_module_and_file_the_page_names_exists() -> None:
    html = (WEB_DIR / "index.html").read_text()
    for ref in re.findall(r'(?:src|href)="([^"#:]+)"', html):
        assert (WEB_DIR / ref).is_file(), ref
    for module in (WEB_DIR / "js").glob("*.js"):
        for ref in re.findall(r'from "(\.{1,2}/[^"]+)"', module.read_text()):
            assert (module.parent / ref).resolve().is_file(), f"{module.name}: {ref}"


def test_local_stack_serves_the_page_and_a_config_naming_itself(stack: LocalStack) -> None:
    base = stack.web_url
    page = requests.get(f"{base}/", timeout=10)
    assert page.status_code == 200
    assert '<script type="module" src="js/main.js">' in page.text
    config = requests.get(f"{base}/config.json", timeout=10).json()
    assert config == {
        "api_url": stack.api_url,
        "media_url": stack.media_url,
        "dev_token_url": f"{stack.api_url}/_local/token",
    }
    # modules must come as JavaScript or the browser refuses them
    module = requests.get(f"{base}/js/main.js", timeout=10)
    assert module.headers["Content-Type"].startswith("text/javascript")
    player = requests.get(f"{base}/vendor/hls.min.js", timeout=10)
    assert player.status_code == 200
    assert player.content == (WEB_DIR / "vendor" / "hls.min.js").read_bytes()


def test_publish_site_puts_the_page_and_config_in_site_bucket(stack: LocalStack) -> None:
    s3 = stack.client("s3")
    bucket = stack.spec.buckets["SiteBucket"].name
    config = SiteConfig(api_url="https://api.example.test/Prod")
    keys = publish_site(s3, bucket, config)
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    expected = {p.relative_to(WEB_DIR).as_posix() for p in site_files()} | {"config.json"}
    assert listed == set(keys) == expected
    assert {"index.html", "js/main.js", "vendor/hls.min.js", "vendor/thumbhash.js"} <= listed
    stored = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    assert stored["api_url"] == "https://api.example.test/Prod"
    head = s3.head_object(Bucket=bucket, Key="js/api.js")
    assert head["ContentType"] == "text/javascript; charset=utf-8"
    assert s3.head_object(Bucket=bucket, Key="index.html")["CacheControl"] == "no-cache"


def test_the_page_signs_in_at_the_token_endpoint_named_in_its_config(stack: LocalStack) -> None:
    config = requests.get(f"{stack.web_url}/config.json", timeout=10).json()
    origin = stack.web_url
    preflight = requests.options(
        config["dev_token_url"],
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )
    assert preflight.headers.get("Access-Control-Allow-Origin") == origin
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
    answer = requests.post(
        config["dev_token_url"], json={"username": "ada"}, headers={"Origin": origin}, timeout=10
    )
    assert answer.headers.get("Access-Control-Allow-Origin") == origin
    token = answer.json()["IdToken"]
    assert stack.user_pool is not None
    assert stack.user_pool.verify(token)["cognito:username"] == "ada"
    # the raw token is what the API takes (API Gateway's Cognito authorizer reads it so)
    listed = requests.get(
        f"{config['api_url']}/assets", headers={"Authorization": token}, timeout=10
    )
    assert listed.status_code == 200


def test_other_pages_get_no_cors_grant_for_the_token_endpoint(stack: LocalStack) -> None:
    """Any site open in the developer's browser could otherwise mint tokens for the local
    API; only the local web app's origin is granted."""
    url = f"{stack.api_url}/_local/token"
    evil = {"Origin": "http://evil.example"}
    preflight = requests.options(
        url, headers={**evil, "Access-Control-Request-Method": "POST"}, timeout=10
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    answer = requests.post(url, json={"username": "ada"}, headers=evil, timeout=10)
    assert "Access-Control-Allow-Origin" not in answer.headers
