"""The web app's delivery: served by the local stack with a generated config.json, and
published to SiteBucket the way a deployment does; the local stand-in for Cognito's
managed login over HTTP. (The page itself is tested in a real browser in tests/browser.)"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.stub import Stubber
from lumiere_dev.cli import build_parser
from lumiere_dev.oauth import s256
from lumiere_dev.site import DeployedStack, missing_player_origin, publish_site, site_files
from lumiere_dev.stack import LocalStack
from lumiere_dev.web_server import WEB_DIR, AuthConfig, SiteConfig, ensure_vendored

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
    assert stack.user_pool is not None
    assert config == {
        "api_url": stack.api_url,
        "media_url": stack.media_url,
        "auth": {
            "authorize_url": f"{stack.api_url}/_local/oauth2/authorize",
            "token_url": f"{stack.api_url}/_local/oauth2/token",
            "logout_url": f"{stack.api_url}/_local/logout",
            "client_id": stack.user_pool.web_client_id,
            "redirect_uri": f"{base}/",
            "scopes": "openid email profile",
        },
    }
    # the site distribution's CSP, with the local API, CDN and S3 in place of AWS's
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp
    for origin in (stack.api_url, stack.media_url, stack.endpoint_url):
        assert origin in csp
    assert "${" not in csp
    # modules must come as JavaScript or the browser refuses them
    module = requests.get(f"{base}/js/main.js", timeout=10)
    assert module.headers["Content-Type"].startswith("text/javascript")
    player = requests.get(f"{base}/vendor/hls.min.js", timeout=10)
    assert player.status_code == 200
    assert player.content == (WEB_DIR / "vendor" / "hls.min.js").read_bytes()


def test_publish_site_puts_the_page_and_config_in_site_bucket(stack: LocalStack) -> None:
    s3 = stack.client("s3")
    bucket = stack.spec.buckets["SiteBucket"].name
    auth = AuthConfig.for_cognito_domain(
        "https://lumiere-1.auth.us-east-1.amazoncognito.com", "client-1", "https://d1.test/"
    )
    config = SiteConfig(api_url="https://api.example.test/Prod", auth=auth)
    keys = publish_site(s3, bucket, config)
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    expected = {p.relative_to(WEB_DIR).as_posix() for p in site_files()} | {"config.json"}
    assert listed == set(keys) == expected
    assert {"index.html", "js/main.js", "vendor/hls.min.js", "vendor/thumbhash.js"} <= listed
    stored = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    assert stored["api_url"] == "https://api.example.test/Prod"
    assert (
        stored["auth"]["token_url"]
        == "https://lumiere-1.auth.us-east-1.amazoncognito.com/oauth2/token"
    )
    head = s3.head_object(Bucket=bucket, Key="js/api.js")
    assert head["ContentType"] == "text/javascript; charset=utf-8"
    assert s3.head_object(Bucket=bucket, Key="index.html")["CacheControl"] == "no-cache"


OUTPUTS = {
    "ApiUrl": "https://a1.execute-api.eu-west-1.amazonaws.com/Prod",
    "MediaUrl": "https://dmedia.cloudfront.net",
    "SiteUrl": "https://dsite.cloudfront.net/",
    "SignInDomainUrl": "https://prod-123.auth.eu-west-1.amazoncognito.com",
    "WebAppClientId": "webclient1",
}


def test_publish_site_writes_the_sign_in_from_the_stack_outputs(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = stack.spec.buckets["SiteBucket"].name
    cloudformation = boto3.client(
        "cloudformation",
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # never sent: the stubber answers
    )
    described = {
        "StackName": "prod",
        "CreationTime": "2026-01-01T00:00:00Z",
        "StackStatus": "UPDATE_COMPLETE",
        "Outputs": [
            {"OutputKey": k, "OutputValue": v}
            for k, v in {**OUTPUTS, "SiteBucketName": bucket}.items()
        ],
        "Parameters": [{"ParameterKey": "PlayerOrigins", "ParameterValue": "https://x.test"}],
    }
    s3 = stack.client("s3")
    monkeypatch.setattr(
        boto3, "client", lambda service, **_: cloudformation if service == "cloudformation" else s3
    )
    args = build_parser().parse_args(["publish-site", "--stack-name", "prod"])
    with Stubber(cloudformation) as stub:
        stub.add_response("describe_stacks", {"Stacks": [described]}, {"StackName": "prod"})
        assert args.func(args) == 0
    stored = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    domain = OUTPUTS["SignInDomainUrl"]
    assert stored == {
        "api_url": OUTPUTS["ApiUrl"],
        "media_url": OUTPUTS["MediaUrl"],
        "auth": {
            "authorize_url": f"{domain}/oauth2/authorize",
            "token_url": f"{domain}/oauth2/token",
            "logout_url": f"{domain}/logout",
            "client_id": "webclient1",
            "redirect_uri": "https://dsite.cloudfront.net/",  # WebAppClient's callback URL
            "scopes": "openid email profile",
        },
    }
    # the media CDN would refuse the page: publish-site says what to deploy
    assert "PlayerOrigins=https://dsite.cloudfront.net" in capsys.readouterr().err
    allowed = DeployedStack(
        OUTPUTS, {"PlayerOrigins": "https://x.test,https://dsite.cloudfront.net"}
    )
    assert missing_player_origin(allowed) is None


def _sign_in_form(stack: LocalStack, verifier: str, **changes: str) -> dict[str, str]:
    auth = requests.get(f"{stack.web_url}/config.json", timeout=10).json()["auth"]
    return {
        "response_type": "code",
        "client_id": auth["client_id"],
        "redirect_uri": auth["redirect_uri"],
        "scope": auth["scopes"],
        "state": "st4te",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        **changes,
    }


def _code_for(stack: LocalStack, verifier: str, username: str = "ada") -> str:
    """What the browser does on the sign-in page: the form, then the redirect's code."""
    form = _sign_in_form(stack, verifier)
    page = requests.get(f"{stack.api_url}/_local/oauth2/authorize", params=form, timeout=10)
    assert page.status_code == 200
    assert 'name="username"' in page.text
    assert "script" not in page.headers["Content-Security-Policy"]  # default-src 'none'
    answer = requests.post(
        f"{stack.api_url}/_local/oauth2/authorize",
        data={**form, "username": username},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == form["redirect_uri"]
    query = parse_qs(back.query)
    assert query["state"] == ["st4te"]
    return query["code"][0]


def _redeem(stack: LocalStack, code: str, verifier: str, **changes: str) -> requests.Response:
    form = _sign_in_form(stack, verifier)
    return requests.post(
        f"{stack.api_url}/_local/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": form["client_id"],
            "code": code,
            "redirect_uri": form["redirect_uri"],
            "code_verifier": verifier,
            **changes,
        },
        headers={"Origin": stack.web_url or ""},
        timeout=10,
    )


def test_the_code_flow_gives_an_id_token_the_api_accepts(stack: LocalStack) -> None:
    verifier = secrets.token_urlsafe(48)
    answer = _redeem(stack, _code_for(stack, verifier), verifier)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == stack.web_url
    assert answer.headers["Cache-Control"] == "no-store"
    tokens = answer.json()
    assert stack.user_pool is not None
    assert stack.user_pool.verify(tokens["id_token"])["cognito:username"] == "ada"
    # the raw ID token is what the API takes (API Gateway's Cognito authorizer reads it so)
    listed = requests.get(
        f"{stack.api_url}/assets", headers={"Authorization": tokens["id_token"]}, timeout=10
    )
    assert listed.status_code == 200
    refused = requests.get(
        f"{stack.api_url}/assets", headers={"Authorization": tokens["access_token"]}, timeout=10
    )
    assert refused.status_code == 401


@pytest.mark.parametrize(
    "mistake",
    [
        {"code_verifier": secrets.token_urlsafe(48)},  # PKCE: not the challenge's verifier
        {"redirect_uri": "http://127.0.0.1:1/"},  # not the authorization's redirect URI
    ],
)
def test_the_token_endpoint_refuses_a_mismatch(stack: LocalStack, mistake: dict[str, str]) -> None:
    verifier = secrets.token_urlsafe(48)
    answer = _redeem(stack, _code_for(stack, verifier), verifier, **mistake)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_a_code_is_good_once(stack: LocalStack) -> None:
    verifier = secrets.token_urlsafe(48)
    code = _code_for(stack, verifier)
    assert _redeem(stack, code, verifier).status_code == 200
    again = _redeem(stack, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(
    stack: LocalStack,
) -> None:
    form = _sign_in_form(stack, "v" * 43, redirect_uri="http://evil.example/")
    for answer in (
        requests.get(
            f"{stack.api_url}/_local/oauth2/authorize",
            params=form,
            allow_redirects=False,
            timeout=10,
        ),
        requests.post(
            f"{stack.api_url}/_local/oauth2/authorize",
            data={**form, "username": "mallory"},
            allow_redirects=False,
            timeout=10,
        ),
    ):
        assert answer.status_code == 400
        assert "Location" not in answer.headers
        assert "redirect_mismatch" in answer.text


def test_logout_returns_to_the_page(stack: LocalStack) -> None:
    auth = requests.get(f"{stack.web_url}/config.json", timeout=10).json()["auth"]
    answer = requests.get(
        auth["logout_url"],
        params={"client_id": auth["client_id"], "logout_uri": auth["redirect_uri"]},
        allow_redirects=False,
        timeout=10,
    )
    assert (answer.status_code, answer.headers["Location"]) == (302, auth["redirect_uri"])


def test_the_cli_token_endpoint_still_answers(stack: LocalStack) -> None:
    answer = requests.post(f"{stack.api_url}/_local/token", json={"username": "ada"}, timeout=10)
    assert stack.user_pool is not None
    assert stack.user_pool.verify(answer.json()["IdToken"])["cognito:username"] == "ada"


@pytest.mark.parametrize("path", ["/_local/token", "/_local/oauth2/token"])
def test_other_pages_get_no_cors_grant_for_the_token_endpoints(
    stack: LocalStack, path: str
) -> None:
    """Any site open in the developer's browser could otherwise mint tokens for the local
    API; only the local web app's origin is granted."""
    url = f"{stack.api_url}{path}"
    evil = {"Origin": "http://evil.example"}
    preflight = requests.options(
        url, headers={**evil, "Access-Control-Request-Method": "POST"}, timeout=10
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    answer = requests.post(url, json={"username": "ada"}, headers=evil, timeout=10)
    assert "Access-Control-Allow-Origin" not in answer.headers
