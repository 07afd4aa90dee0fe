"""Public assets through the local stack. The local CDN plays the distribution's /public/
behaviours and their viewer-request Function with the stand-in of the KeyValueStore the
API writes: a public asset plays from plain URLs, a private one needs a signature (and
its public path is 404 whatever it carries), and making an asset private again stops
unsigned access at once. Ownership is unchanged: public assets are still 404 to other
users on every API route."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urljoin

import m3u8
import pytest
import requests
from lumiere.media.tools import find_binaries, run_tool
from lumiere_dev.client import ApiError, LumiereClient
from lumiere_dev.stack import LocalStack

from tests.conftest import Media
from tests.integration.helpers import process_upload


@pytest.fixture(scope="module")
def owner(stack: LocalStack) -> LumiereClient:
    return stack.api_client("publisher")


@pytest.fixture(scope="module")
def assets(stack: LocalStack, owner: LumiereClient, media: Media) -> dict[str, dict[str, Any]]:
    made = {}
    for name, visibility in (("public", "public"), ("private", None)):
        asset = process_upload(stack, owner, media.silent_clip, "video/mp4", visibility=visibility)
        assert asset["status"] == "READY", asset.get("error")
        made[name] = asset
    return made


def status(url: str, **kwargs: Any) -> int:
    return requests.get(url, timeout=10, **kwargs).status_code


def public_master(stack: LocalStack, asset_id: str) -> str:
    return f"{stack.media_url}/public/assets/{asset_id}/hls/master.m3u8"


def test_a_public_asset_plays_from_plain_urls(
    stack: LocalStack, owner: LumiereClient, assets: dict[str, dict[str, Any]]
) -> None:
    asset_id = assets["public"]["asset_id"]
    assert assets["public"]["visibility"] == "public"
    play = owner.playback(asset_id)
    assert play["visibility"] == "public"
    assert play["hls"] == public_master(stack, asset_id)
    assert not {"signed_query", "cookies", "expires_at"} & set(play)
    # fetched with no signature: the master, a media playlist, its init and a segment
    master = m3u8.loads(requests.get(play["hls"], timeout=10).text, uri=play["hls"])
    media_url = urljoin(play["hls"], master.playlists[0].uri)
    playlist = m3u8.loads(requests.get(media_url, timeout=10).text, uri=media_url)
    for uri in (playlist.segment_map[0].uri, playlist.segments[0].uri):
        r = requests.get(urljoin(media_url, uri), timeout=10)
        assert r.status_code == 200, uri
        assert r.content[4:8] in (b"ftyp", b"styp", b"moof"), uri
    assert status(play["poster"]) == 200
    # the views link the same plain URLs
    shown = owner.get_asset(asset_id)["outputs"]
    assert shown["hls"]["url"] == play["hls"]
    [listed] = [a for a in owner.list_assets()["items"] if a["asset_id"] == asset_id]
    assert (listed["visibility"], listed["hls_url"]) == ("public", play["hls"])


def test_ffprobe_plays_the_public_ladder_unsigned(
    owner: LumiereClient, assets: dict[str, dict[str, Any]]
) -> None:
    play = owner.playback(assets["public"]["asset_id"])
    argv = [
        str(find_binaries().ffprobe), "-v", "error", "-protocol_whitelist", "http,tcp",
        "-select_streams", "v:0", "-count_frames", "-show_streams", "-of", "json", play["hls"],
    ]  # fmt: skip
    [video, *_] = json.loads(run_tool(argv, timeout=120))["streams"]
    assert int(video["nb_read_frames"]) == 50  # 2 s at 25 fps, every segment read


def test_a_private_asset_needs_a_signature_and_has_no_public_path(
    stack: LocalStack, owner: LumiereClient, assets: dict[str, dict[str, Any]]
) -> None:
    asset_id = assets["private"]["asset_id"]
    play = owner.playback(asset_id)
    assert play["visibility"] == "private"
    plain = f"{stack.media_url}/assets/{asset_id}/hls/master.m3u8"
    assert play["hls"] == f"{plain}?{play['signed_query']}"
    assert status(plain) == 403
    assert status(play["hls"]) == 200
    # the public path opens nothing of a private asset, signed or not
    assert status(public_master(stack, asset_id)) == 404
    assert status(f"{public_master(stack, asset_id)}?{play['signed_query']}") == 404


def test_the_public_path_cannot_climb_to_another_asset(
    stack: LocalStack, assets: dict[str, dict[str, Any]]
) -> None:
    public, private = assets["public"]["asset_id"], assets["private"]["asset_id"]
    base = f"/public/assets/{public}"
    assert raw_get(stack, f"{base}/hls/master.m3u8") == 200
    for path in (
        f"/../{private}/hls/master.m3u8",
        f"/%2e%2e/{private}/hls/master.m3u8",
        f"/hls/../../{private}/hls/master.m3u8",
        "//hls/master.m3u8",
        "/./hls/master.m3u8",
    ):
        assert raw_get(stack, base + path) == 404, path


def raw_get(stack: LocalStack, path: str) -> int:
    """The path sent exactly as written (requests/urllib3 would remove dot segments)."""
    connection = http.client.HTTPConnection(stack.host, stack.cdn_port, timeout=10)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def test_going_private_stops_unsigned_access_and_public_again_restores_it(
    stack: LocalStack, owner: LumiereClient, media: Media
) -> None:
    asset = process_upload(stack, owner, media.silent_clip, "video/mp4")
    asset_id = asset["asset_id"]
    assert asset["visibility"] == "private"
    assert status(public_master(stack, asset_id)) == 404

    view = owner.set_visibility(asset_id, "public")
    assert view["visibility"] == "public"
    assert view["outputs"]["hls"]["url"] == public_master(stack, asset_id)
    assert status(public_master(stack, asset_id)) == 200

    view = owner.set_visibility(asset_id, "private")
    assert view["visibility"] == "private"
    assert status(public_master(stack, asset_id)) == 404  # the URL handed out before
    play = owner.playback(asset_id)
    assert play["visibility"] == "private"
    assert status(play["hls"]) == 200  # signed playback is unaffected
    assert owner.set_visibility(asset_id, "private")["visibility"] == "private"  # idempotent

    # deleting a public asset takes it out of the store too
    owner.set_visibility(asset_id, "public")
    index = stack.public_assets()
    assert index is not None
    assert index.is_public(asset_id)
    assert owner.delete_asset(asset_id) == 204
    assert not index.is_public(asset_id)
    assert status(public_master(stack, asset_id)) == 404


def test_public_assets_are_still_404_to_other_users_on_the_api(
    stack: LocalStack, owner: LumiereClient, assets: dict[str, dict[str, Any]]
) -> None:
    asset_id = assets["public"]["asset_id"]
    other = stack.api_client("stranger")
    for call in (
        lambda: other.get_asset(asset_id),
        lambda: other.playback(asset_id),
        lambda: other.set_visibility(asset_id, "private"),
        lambda: other.delete_asset(asset_id),
    ):
        with pytest.raises(ApiError) as e:
            call()
        assert e.value.status == 404
    assert asset_id not in {a["asset_id"] for a in other.list_assets()["items"]}
    # nothing the stranger tried changed it
    assert owner.get_asset(asset_id)["visibility"] == "public"
    assert status(public_master(stack, asset_id)) == 200


def test_visibility_requests_are_validated(
    stack: LocalStack, owner: LumiereClient, assets: dict[str, dict[str, Any]]
) -> None:
    asset_id = assets["private"]["asset_id"]
    for body in ({"visibility": "everyone"}, {"visibility": "public", "status": "READY"}, []):
        r = owner.api.patch(f"{stack.api_url}/assets/{asset_id}", json=body, timeout=10)
        assert r.status_code == 400, body
        assert r.json()["error"]["reason"] == "invalid_request"
    with pytest.raises(ApiError) as e:
        owner.request_upload("a.mp4", "video/mp4", 10, visibility="unlisted")
    assert e.value.status == 400
    assert owner.get_asset(asset_id)["visibility"] == "private"


def test_a_public_assets_signed_image_links_need_no_token(
    stack: LocalStack, owner: LumiereClient, media: Media
) -> None:
    asset = process_upload(stack, owner, media.silent_clip, "video/mp4", visibility="public")
    asset_id = asset["asset_id"]
    link = asset["outputs"]["public_thumbnail"]
    assert link == f"/public{asset['outputs']['thumbnail']}"  # the same signature
    # no Authorization header: what an <img> element on any page sends
    answer = requests.get(stack.api_url + link, timeout=30, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    target = answer.headers["Location"]
    assert target.startswith(f"{stack.media_url}/public/assets/{asset_id}/img/")
    assert "Signature=" not in target  # a plain URL, so the redirect may be kept a day
    assert answer.headers["Cache-Control"] == "public, max-age=86400"
    picture = requests.get(target, timeout=10)
    assert (picture.status_code, picture.headers["Content-Type"]) == (200, "image/jpeg")
    # the signature still guards which pictures exist
    assert status(stack.api_url + link.replace("w_320", "w_321")) == 403
    assert status(stack.api_url + link.split("?")[0]) == 403
    # private (or gone private): as if there were no such image, token or not
    owner.set_visibility(asset_id, "private")
    assert status(stack.api_url + link) == 404
    assert status(stack.api_url + link, headers={"Authorization": stack.token("publisher")}) == 404
    assert "public_thumbnail" not in owner.get_asset(asset_id)["outputs"]
    assert (
        status(
            stack.api_url + asset["outputs"]["thumbnail"],
            headers={"Authorization": stack.token("publisher")},
            allow_redirects=False,
        )
        == 302
    )  # fmt: skip  (the owner's link still works)
    assert status(stack.api_url + "/public/img/" + "0" * 32 + "/" + link.split("/", 4)[4]) == 403
