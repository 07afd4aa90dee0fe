"""Sign-in as the deployed page does it against Cognito's managed login, here against the
local stack's stand-in: authorization code with PKCE, the ID token on every API call,
a refresh when the API refuses it, sign-out through the logout endpoint; a redirect the
page did not ask for is refused. The drop zone works from the keyboard."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from lumiere_dev.stack import LocalStack

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.timeout(120)


def _api_auth_headers(page: Any, api_url: str) -> list[str | None]:
    seen: list[str | None] = []
    page.on(
        "request",
        lambda r: (
            seen.append(r.headers.get("authorization"))
            if r.url.startswith(f"{api_url}/assets") and r.method == "GET"
            else None
        ),
    )
    return seen


def _stored(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("JSON.parse(sessionStorage.getItem('lumiere.auth'))") or {})


def test_sign_in_with_the_code_flow_gets_an_id_token_the_api_accepts(
    page: Any, stack: LocalStack
) -> None:
    assert stack.user_pool is not None
    seen = _api_auth_headers(page, stack.api_url)
    statuses: list[int] = []
    page.on(
        "response",
        lambda r: (
            statuses.append(r.status)
            if r.url.startswith(f"{stack.api_url}/assets") and r.request.method == "GET"
            else None
        ),
    )
    authorize: list[str] = []
    page.on(
        "request",
        lambda r: authorize.append(r.url) if "/_local/oauth2/authorize?" in r.url else None,
    )
    page.goto(stack.web_url or "")
    page.wait_for_function("window.lumiere && window.lumiere.started")
    # signed out, the API refuses the list and the page says why, without polling on
    page.wait_for_selector("#list-error:not([hidden])")
    assert page.text_content("#list-error") == "Sign in to see your media."
    assert 401 in statuses
    assert set(seen) == {None}
    seen.clear()

    sign_in(page, stack, "lin")

    # the page asked as a public client with PKCE, and came back to a clean address
    [asked] = authorize
    query = parse_qs(urlsplit(asked).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["client_id"] == [stack.user_pool.web_client_id]
    assert query["scope"] == ["openid email profile"]
    assert len(query["state"][0]) >= 16
    assert page.url == f"{stack.web_url}/"
    assert page.text_content("#signed-in-as") == "Signed in as lin"
    page.wait_for_selector("#list-error", state="hidden")
    tokens = _stored(page)
    claims = stack.user_pool.verify(tokens["id_token"])
    assert (claims["cognito:username"], claims["aud"]) == ("lin", stack.user_pool.web_client_id)
    assert tokens["refresh_token"]
    assert tokens["id_token"] in seen  # the raw ID token, no "Bearer " scheme

    # a token the API refuses is replaced by one from the refresh token, once
    page.evaluate(
        "() => { const t = JSON.parse(sessionStorage.getItem('lumiere.auth'));"
        " t.id_token = t.id_token.slice(0, -8) + 'AAAAAAAA';"
        " sessionStorage.setItem('lumiere.auth', JSON.stringify(t)); }"
    )
    tampered = _stored(page)["id_token"]
    answered: list[tuple[str | None, int]] = []
    page.on(
        "response",
        lambda r: (
            answered.append((r.request.headers.get("authorization"), r.status))
            if r.url.startswith(f"{stack.api_url}/assets") and r.request.method == "GET"
            else None
        ),
    )
    page.reload()
    page.wait_for_function("window.lumiere && window.lumiere.started")
    page.wait_for_function("!!document.querySelector('#empty:not([hidden]), #assets tbody tr')")
    renewed = _stored(page)
    # the page before the reload may still have a list call in flight with the old good
    # token, so the answers are told apart by the token they carried, not by order alone
    after = [(token, status) for token, status in answered if token != tokens["id_token"]]
    assert after[:2] == [(tampered, 401), (renewed["id_token"], 200)]
    assert renewed["id_token"] != tokens["id_token"]
    assert renewed["refresh_token"] == tokens["refresh_token"]
    assert stack.user_pool.verify(renewed["id_token"])["cognito:username"] == "lin"

    # signing out forgets the tokens and passes the logout endpoint on the way back
    with page.expect_request(f"{stack.api_url}/_local/logout?*"):
        page.click("#sign-out")
    page.wait_for_url(f"{stack.web_url}/")
    page.wait_for_function("window.lumiere && window.lumiere.started")
    page.wait_for_selector("#signed-out:not([hidden])")
    assert _stored(page) == {}


def test_when_the_refresh_token_is_refused_too_the_page_asks_to_sign_in(
    page: Any, stack: LocalStack
) -> None:
    page.goto(stack.web_url or "")
    sign_in(page, stack, "kay")
    page.evaluate(
        "() => { const t = JSON.parse(sessionStorage.getItem('lumiere.auth'));"
        " t.id_token = t.id_token.slice(0, -8) + 'AAAAAAAA'; t.refresh_token = 'revoked';"
        " sessionStorage.setItem('lumiere.auth', JSON.stringify(t)); }"
    )
    page.reload()
    page.wait_for_selector("#list-error:not([hidden])")
    assert page.text_content("#list-error") == "Sign in to see your media."
    page.wait_for_selector("#signed-out:not([hidden])")
    assert page.locator("#signed-in").is_hidden()
    assert _stored(page) == {}


def test_signing_in_from_localhost_comes_back_to_localhost(page: Any, stack: LocalStack) -> None:
    """The pending sign-in lives in this origin's sessionStorage: the page asks to come
    back to the name it was opened under (both are the local client's callback URLs)."""
    local = (stack.web_url or "").replace("127.0.0.1", "localhost")
    page.goto(local)
    page.wait_for_function("window.lumiere && window.lumiere.started")
    page.click("#sign-in")
    page.wait_for_url(f"{stack.api_url}/_local/oauth2/authorize?*")
    page.fill("#username", "lee")
    page.click("#sign-in")
    page.wait_for_url(f"{local}/")
    page.wait_for_selector("#signed-in:not([hidden])")
    assert page.text_content("#signed-in-as") == "Signed in as lee"


def test_a_redirect_the_page_did_not_start_is_refused(page: Any, stack: LocalStack) -> None:
    """A code planted by another site (login CSRF) never reaches the token endpoint."""
    token_calls: list[str] = []
    page.on("request", lambda r: token_calls.append(r.url) if "/oauth2/token" in r.url else None)
    page.goto(f"{stack.web_url}/?code=planted&state=forged")
    page.wait_for_function("window.lumiere && window.lumiere.started")
    assert "does not match a sign-in started here" in (page.text_content("#auth-error") or "")
    assert page.url == f"{stack.web_url}/"  # the code is gone from the address
    assert not token_calls
    assert page.locator("#signed-out").is_visible()


def test_drop_zone_opens_the_file_chooser_from_the_keyboard(page: Any, stack: LocalStack) -> None:
    page.goto(stack.web_url or "")
    page.wait_for_function("window.lumiere && window.lumiere.started")
    # Count what the zone asks of the (hidden) file input instead of waiting for the
    # browser's chooser, whose headless interception proved racy.
    page.evaluate(
        """() => { const input = document.getElementById('file-input'); window.chooserOpened = 0;
            input.click = () => { window.chooserOpened += 1; }; }"""
    )
    assert page.evaluate("document.getElementById('file-input').multiple") is True
    page.keyboard.press("Tab")  # from the page's start: the sign-in button, ...
    for _ in range(10):
        if page.evaluate("document.activeElement.id") == "drop-zone":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "drop-zone"
    page.keyboard.press("Enter")
    page.keyboard.press("Space")
    assert page.evaluate("window.chooserOpened") == 2
