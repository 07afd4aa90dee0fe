"""Signed playback through the local stack: the local CDN enforces CloudFront's rules
with the template's trusted public key, so what the API signs is checked end to end.
Unsigned, expired, tampered or other-path-signed requests get 403; the signed policy
covers the asset's whole prefix, so a player plays the ladder with the signed cookies
(ffprobe here) or by carrying the signed query to every request."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import m3u8
import pytest
import requests
from lumiere.cloud.playback_signing import PlaybackSigner
from lumiere.media.tools import find_binaries, run_tool
from lumiere_dev.auth import new_rsa_key, private_pem
from lumiere_dev.client import LumiereClient, cookie_jar, ffmpeg_cookies
from lumiere_dev.stack import LocalStack

from tests.conftest import Media
from tests.integration.helpers import process_upload


@pytest.fixture(scope="module")
def assets(stack: LocalStack, media: Media) -> dict[str, dict[str, Any]]:
    client = stack.api_client("viewer")
    made = {}
    for name, path in (("clip", media.clip), ("other", media.silent_clip)):
        asset = process_upload(stack, client, path, "video/mp4")
        assert asset["status"] == "READY", asset.get("error")
        made[name] = asset
    return made


@pytest.fixture(scope="module")
def viewer(stack: LocalStack) -> LumiereClient:
    return stack.api_client("viewer")


def status(url: str, **kwargs: Any) -> int:
    return requests.get(url, timeout=10, **kwargs).status_code


def master_url(stack: LocalStack, asset: dict[str, Any]) -> str:
    return f"{stack.media_url}/assets/{asset['asset_id']}/hls/master.m3u8"


def test_playback_is_signed_for_the_asset_prefix_and_short_lived(
    stack: LocalStack, viewer: LumiereClient, assets: dict[str, dict[str, Any]]
) -> None:
    asset_id = assets["clip"]["asset_id"]
    play = viewer.playback(asset_id)
    assert play["resource"] == f"{stack.media_url}/assets/{asset_id}/*"
    ttl = play["expires_at"] - time.time()
    assert 0 < ttl <= 900 + 60  # PlaybackTtlSeconds, rounded up to the minute
    assert play["hls"] == f"{master_url(stack, assets['clip'])}?{play['signed_query']}"
    assert {c["name"] for c in play["cookies"]} == {
        "CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id",
    }  # fmt: skip
    assert {c["path"] for c in play["cookies"]} == {f"/assets/{asset_id}/"}
    assert all(c["http_only"] for c in play["cookies"])
    # the URLs GET /assets/{id} shows are signed the same way
    shown = viewer.get_asset(asset_id)["outputs"]
    assert status(shown["poster"]["url"]) == 200
    assert status(shown["hls"]["url"]) == 200


def test_unsigned_tampered_and_other_path_requests_are_403(
    stack: LocalStack, viewer: LumiereClient, assets: dict[str, dict[str, Any]]
) -> None:
    play = viewer.playback(assets["clip"]["asset_id"])
    query = play["signed_query"]
    mine, theirs = master_url(stack, assets["clip"]), master_url(stack, assets["other"])
    assert status(f"{mine}?{query}") == 200
    assert status(mine) == 403  # unsigned
    assert status(f"{theirs}?{query}") == 403  # signed for another asset's prefix
    fields = dict(part.split("=", 1) for part in query.split("&"))
    tampered_sig = {**fields, "Signature": fields["Signature"][:-8] + "AAAAAAAA"}
    unknown_key = {**fields, "Key-Pair-Id": "K-NOT-IN-THE-KEY-GROUP"}
    no_key = {k: v for k, v in fields.items() if k != "Key-Pair-Id"}
    for broken in (tampered_sig, unknown_key, no_key):
        assert status(mine, params=broken) == 403, broken
    # cookies for one asset open nothing of another
    jar = cookie_jar(play["cookies"])
    assert status(mine, cookies=jar) == 200
    assert status(theirs, cookies=jar) == 403


def test_expired_and_untrusted_signatures_are_403(
    stack: LocalStack, assets: dict[str, dict[str, Any]]
) -> None:
    asset_id = assets["clip"]["asset_id"]
    url = master_url(stack, assets["clip"])
    signer = stack.playback_signer()
    prefix = f"assets/{asset_id}/"
    assert status(signer.access(prefix, int(time.time()) + 60).url(url)) == 200
    assert status(signer.access(prefix, int(time.time()) - 1).url(url)) == 403  # expired
    # the right key id, but signed with a key that is not the trusted one
    impostor = PlaybackSigner(stack.media_url, signer.key_pair_id, private_pem(new_rsa_key()))
    assert status(impostor.access(prefix, int(time.time()) + 60).url(url)) == 403
    # botocore's canned policy (one exact URL) works for that URL only
    canned = signer._signer.generate_presigned_url(
        url, date_less_than=datetime.fromtimestamp(time.time() + 60, UTC)
    )
    assert status(canned) == 200
    assert status(canned.replace("master.m3u8", "manifest.mpd")) == 403


def test_signed_cookies_play_the_ladder_with_ffprobe(
    stack: LocalStack, viewer: LumiereClient, assets: dict[str, dict[str, Any]]
) -> None:
    play = viewer.playback(assets["clip"]["asset_id"])
    master = master_url(stack, assets["clip"])
    ffprobe = str(find_binaries().ffprobe)
    argv = [
        ffprobe, "-v", "error", "-protocol_whitelist", "http,tcp",
        "-cookies", ffmpeg_cookies(play["cookies"]),
        "-select_streams", "v:0", "-count_frames", "-show_streams", "-of", "json", master,
    ]  # fmt: skip
    [video, *_] = json.loads(run_tool(argv, timeout=120))["streams"]
    assert video["codec_name"] == "h264"
    assert int(video["nb_read_frames"]) == 75  # 3 s at 25 fps, every segment read
    # without the cookies the same command is refused at the first request
    cookie_at = argv.index("-cookies")
    done = subprocess.run(
        argv[:cookie_at] + argv[cookie_at + 2 :],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "403" in done.stderr


def test_the_signed_query_carried_to_every_request_plays_too(
    stack: LocalStack, viewer: LumiereClient, assets: dict[str, dict[str, Any]]
) -> None:
    """What hls.js does with an xhrSetup that appends the query (and Shaka with a
    request filter): the wildcard policy is valid for every relative URI."""
    play = viewer.playback(assets["clip"]["asset_id"])
    query = play["signed_query"]

    def get(url: str) -> requests.Response:
        r = requests.get(f"{url.split('?')[0]}?{query}", timeout=10)
        assert r.status_code == 200, url
        return r

    master_text = get(play["hls"]).text
    master = m3u8.loads(master_text, uri=play["hls"].split("?")[0])
    fetched = 0
    for variant in [*master.playlists, *master.media]:
        if not variant.uri:
            continue
        url = urljoin(play["hls"].split("?")[0], variant.uri)
        playlist = m3u8.loads(get(url).text, uri=url)
        for uri in [playlist.segment_map[0].uri, *(s.uri for s in playlist.segments)]:
            assert requests.get(urljoin(url, uri), timeout=10).status_code == 403  # bare
            get(urljoin(url, uri))
            fetched += 1
    assert fetched >= 4
