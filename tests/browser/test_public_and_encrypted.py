"""Access in the page: an HLS AES-128 asset plays with hls.js fetching the key from the
API with the signed-in user's token (xhrSetup adds it for API URLs only, never to the
CDN), and the asset page's visibility button makes an asset public, after which it plays
from plain URLs under /public/, and private again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lumiere_dev.samples import make_clip
from lumiere_dev.stack import LocalStack

from tests.browser.test_web_app import USER, open_asset

pytestmark = pytest.mark.timeout(300)


def test_an_encrypted_asset_plays_with_the_key_fetched_with_the_token(
    page: Any, stack: LocalStack, tmp_path: Path
) -> None:
    client = stack.api_client(USER)
    clip = make_clip(tmp_path / "secret.mp4", seconds=3, width=320, height=180)
    asset_id = client.upload_file(clip, content_type="video/mp4", encryption="aes-128").asset_id
    assert client.wait_until_final(asset_id, timeout=180)["status"] == "READY"
    requests_seen: list[tuple[str, str | None]] = []
    accepts: list[str | None] = []

    def seen(r: Any) -> None:
        requests_seen.append((r.url, r.headers.get("authorization")))
        if r.url.endswith(f"/{asset_id}/key"):
            accepts.append(r.headers.get("accept"))

    page.on("request", seen)
    key_answers: list[int] = []
    page.on(
        "response",
        lambda r: key_answers.append(r.status) if r.url.endswith(f"/{asset_id}/key") else None,
    )
    open_asset(page, stack, asset_id)
    page.wait_for_function("window.lumiere?.player?.ready === true")
    page.click("#play")
    page.wait_for_function(
        "window.lumiere.player.fatal || document.getElementById('video').currentTime >= 1.5",
        timeout=30_000,
    )
    state = page.evaluate("window.lumiere.player")
    assert state["fatal"] is False, state["errors"]
    assert 200 in key_answers
    key_requests = [auth for url, auth in requests_seen if url.endswith(f"/{asset_id}/key")]
    assert key_requests
    assert all(key_requests)  # every key request carried the token
    assert set(accepts) == {"application/octet-stream"}  # what API Gateway answers in bytes
    cdn = [(url, auth) for url, auth in requests_seen if url.startswith(stack.media_url)]
    assert cdn
    assert all(auth is None for _, auth in cdn)  # the token never goes to the CDN


def test_the_asset_page_makes_an_asset_public_and_plays_it_from_plain_urls(
    page: Any, stack: LocalStack, tmp_path: Path
) -> None:
    client = stack.api_client(USER)
    clip = make_clip(tmp_path / "open.mp4", seconds=3, width=320, height=180)
    asset_id = client.upload_file(clip, content_type="video/mp4").asset_id
    assert client.wait_until_final(asset_id, timeout=180)["status"] == "READY"
    media: list[tuple[str, int]] = []
    page.on(
        "response",
        lambda r: media.append((r.url, r.status)) if r.url.startswith(stack.media_url) else None,
    )
    open_asset(page, stack, asset_id)
    page.wait_for_function("window.lumiere?.player?.ready === true")
    assert page.get_attribute("#visibility", "aria-pressed") == "false"
    assert page.evaluate("window.lumiere.player.signed") is True

    page.click("#visibility")
    page.wait_for_selector('#visibility[aria-pressed="true"]')
    page.wait_for_function("window.lumiere?.player?.ready === true")
    assert page.evaluate("window.lumiere.player.signed") is False
    page.click("#play")
    page.wait_for_function(
        "window.lumiere.player.fatal || document.getElementById('video').currentTime >= 1.5",
        timeout=30_000,
    )
    assert page.evaluate("window.lumiere.player.fatal") is False
    # The new player may fetch its first segments before this line sees the switch, and
    # the old one's may still land after it: what tells them apart is the path.
    public = f"{stack.media_url}/public/assets/{asset_id}/"
    segments = [(u, s) for u, s in media if u.split("?")[0].endswith(".m4s")]
    plain = [(u, s) for u, s in segments if u.startswith(public)]
    assert plain, segments
    for url, status in plain:
        assert "Signature=" not in url
        assert status in (200, 206)
    assert client.get_asset(asset_id)["visibility"] == "public"

    page.click("#visibility")
    page.wait_for_selector('#visibility[aria-pressed="false"]')
    assert client.get_asset(asset_id)["visibility"] == "private"
