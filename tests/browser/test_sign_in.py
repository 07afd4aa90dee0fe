"""Sign-in: with a development token endpoint named in config.json (the local stack names
its stand-in user pool's), signing in fetches an ID token and every API call carries it
as API Gateway's Cognito authorizer reads it; without one the page stays anonymous.
The drop zone works from the keyboard."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from lumiere_dev.stack import LocalStack
from lumiere_dev.web_server import SiteConfig, WebServer

pytestmark = pytest.mark.timeout(120)


class TokenIssuer:
    """Stands in for the local stack's development token endpoint (the auth issue)."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []
        asked = self.asked

        class Handler(BaseHTTPRequestHandler):
            def _cors(self) -> None:
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "Content-Type")

            def do_OPTIONS(self) -> None:
                self.send_response(204)
                self._cors()
                self.end_headers()

            def do_POST(self) -> None:
                asked.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                # the shape of Cognito's AuthenticationResult, as the local stack answers
                token = f"dev-token-for-{asked[-1]['username']}"
                body = json.dumps({"IdToken": token, "TokenType": "Bearer"}).encode()
                self.send_response(200)
                self._cors()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/dev/token"


@pytest.fixture(scope="module")
def site_with_tokens(stack: LocalStack) -> Iterator[tuple[str, TokenIssuer]]:
    issuer = TokenIssuer()
    threading.Thread(target=issuer.server.serve_forever, daemon=True).start()
    config = SiteConfig(api_url=stack.api_url, media_url=stack.media_url, dev_token_url=issuer.url)
    web = WebServer(config, "127.0.0.1", 0)
    web.start()
    try:
        yield web.url, issuer
    finally:
        web.stop()
        issuer.server.shutdown()
        issuer.server.server_close()


def _api_auth_headers(page: Any, api_url: str) -> list[str | None]:
    seen: list[str | None] = []
    page.on(
        "request",
        lambda r: (
            seen.append(r.headers.get("authorization"))
            if r.url.startswith(api_url) and r.method == "GET"
            else None
        ),
    )
    return seen


def test_signing_in_gets_a_token_that_every_api_call_carries(
    page: Any, stack: LocalStack, site_with_tokens: tuple[str, TokenIssuer]
) -> None:
    url, issuer = site_with_tokens
    seen = _api_auth_headers(page, stack.api_url)
    page.goto(url)
    page.wait_for_function("window.lumiere && window.lumiere.started")
    page.wait_for_function("document.querySelector('#assets tbody') !== null")
    page.wait_for_timeout(300)
    assert seen
    assert set(seen) == {None}  # anonymous before signing in
    seen.clear()
    page.fill("#sign-in-name", "ada")
    page.press("#sign-in-name", "Enter")
    page.wait_for_selector("#signed-in:not([hidden])")
    assert page.text_content("#signed-in-as") == "Signed in as ada"
    assert page.locator("#sign-in").is_hidden()
    # The API refuses this stand-in's tokens, so the page may have signed in again once
    # per refused call (renewal); always as the same name.
    assert issuer.asked
    assert all(a == {"username": "ada"} for a in issuer.asked)
    page.wait_for_function("document.querySelector('#assets tbody') !== null")
    page.reload()  # the token outlives a reload
    page.wait_for_function("window.lumiere && window.lumiere.started")
    page.wait_for_timeout(300)
    assert seen
    assert set(seen) == {"dev-token-for-ada"}  # the raw ID token, no "Bearer " scheme
    # signing out drops it
    page.click("#sign-out")
    seen.clear()
    page.reload()
    page.wait_for_function("window.lumiere && window.lumiere.started")
    page.wait_for_timeout(300)
    assert set(seen) == {None}


@pytest.fixture(scope="module")
def site_without_tokens(stack: LocalStack) -> Iterator[str]:
    """The page as a deployment serves it before a sign-in is wired (no dev_token_url)."""
    web = WebServer(SiteConfig(api_url=stack.api_url, media_url=stack.media_url), "127.0.0.1", 0)
    web.start()
    try:
        yield web.url
    finally:
        web.stop()


def test_local_stack_sign_in_gets_an_id_token_the_api_accepts(page: Any, stack: LocalStack) -> None:
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
    page.goto(stack.web_url or "")
    page.wait_for_function("window.lumiere && window.lumiere.started")
    # signed out, the API refuses the list and the page says why, without polling on
    page.wait_for_selector("#list-error:not([hidden])")
    assert page.text_content("#list-error") == "Sign in to see your media."
    assert 401 in statuses
    page.fill("#sign-in-name", "lin")
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#signed-in:not([hidden])")
    assert page.text_content("#signed-in-as") == "Signed in as lin"
    page.wait_for_selector("#list-error", state="hidden")
    token = page.evaluate("JSON.parse(localStorage.getItem('lumiere.auth')).token")
    assert stack.user_pool is not None
    assert stack.user_pool.verify(token)["cognito:username"] == "lin"
    assert token in seen
    # a token the API no longer accepts (the stack's key is new each run) is renewed once
    page.evaluate(
        "() => { const a = JSON.parse(localStorage.getItem('lumiere.auth'));"
        " a.token = a.token.slice(0, -8) + 'AAAAAAAA';"
        " localStorage.setItem('lumiere.auth', JSON.stringify(a)); }"
    )
    seen.clear()
    statuses.clear()
    page.reload()
    page.wait_for_function("window.lumiere && window.lumiere.started")
    page.wait_for_function("!!document.querySelector('#empty:not([hidden]), #assets tbody tr')")
    assert page.locator("#list-error").is_hidden()
    renewed = page.evaluate("JSON.parse(localStorage.getItem('lumiere.auth')).token")
    assert renewed != token
    assert stack.user_pool.verify(renewed)["cognito:username"] == "lin"
    assert statuses[:2] == [401, 200]


def test_without_a_token_endpoint_signing_in_stays_anonymous(
    page: Any, stack: LocalStack, site_without_tokens: str
) -> None:
    seen = _api_auth_headers(page, stack.api_url)
    page.goto(site_without_tokens)
    page.wait_for_function("window.lumiere && window.lumiere.started")
    page.fill("#sign-in-name", "grace")
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#signed-in:not([hidden])")
    assert "no token" in (page.text_content("#signed-in-as") or "")
    page.wait_for_timeout(300)
    assert seen
    assert set(seen) == {None}


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
    page.keyboard.press("Tab")  # from the page's start: the sign-in name, its button, ...
    for _ in range(10):
        if page.evaluate("document.activeElement.id") == "drop-zone":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "drop-zone"
    page.keyboard.press("Enter")
    page.keyboard.press("Space")
    assert page.evaluate("window.chooserOpened") == 2
