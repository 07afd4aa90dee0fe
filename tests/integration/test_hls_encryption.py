"""HLS AES-128 through the local stack: an upload that asks for encryption gets segments
that are not MP4 without the key, media playlists that name the key on the API, a key
only its owner receives (404 for anyone else), no DASH manifest, and a stream that plays
once decrypted (ffprobe, both from the decrypted files and through the API's key)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import m3u8
import pytest
import requests
from lumiere.media.hls_crypto import decrypt_segment
from lumiere.media.tools import find_binaries, run_tool
from lumiere_dev.client import ApiError, LumiereClient, ffmpeg_cookies
from lumiere_dev.samples import make_clip
from lumiere_dev.stack import LocalStack

from tests.conftest import REPO, Media
from tests.integration.helpers import process_upload

MP4_BOXES = (b"ftyp", b"styp", b"moof", b"sidx")


@pytest.fixture(scope="module")
def owner(stack: LocalStack) -> LumiereClient:
    return stack.api_client("encrypter")


@pytest.fixture(scope="module")
def asset(stack: LocalStack, owner: LumiereClient, media: Media) -> dict[str, Any]:
    made = process_upload(stack, owner, media.silent_clip, "video/mp4", encryption="aes-128")
    assert made["status"] == "READY", made.get("error")
    return made


def signed_get(play: dict[str, Any], url: str) -> requests.Response:
    r = requests.get(f"{url.split('?')[0]}?{play['signed_query']}", timeout=10)
    assert r.status_code == 200, url
    return r


def rendition(owner: LumiereClient, asset: dict[str, Any]) -> tuple[dict[str, Any], str, Any]:
    play = owner.playback(asset["asset_id"])
    master_url = play["hls"].split("?")[0]
    master = m3u8.loads(signed_get(play, master_url).text, uri=master_url)
    url = urljoin(master_url, master.playlists[0].uri)
    return play, url, signed_get(play, url).text


def test_playlists_name_the_key_after_the_clear_map_and_dash_is_left_out(
    stack: LocalStack, owner: LumiereClient, asset: dict[str, Any]
) -> None:
    asset_id = asset["asset_id"]
    assert asset["encryption"] == "aes-128"
    assert asset["outputs"]["encryption"]["method"] == "AES-128"
    assert "dash" not in asset["outputs"]
    play, _, text = rendition(owner, asset)
    assert "dash" not in play
    lines = text.splitlines()
    at = lines.index('#EXT-X-MAP:URI="init.mp4"')
    assert lines[at + 1] == f'#EXT-X-KEY:METHOD=AES-128,URI="{stack.api_url}/assets/{asset_id}/key"'
    assert sum(line.startswith("#EXT-X-KEY") for line in lines) == 1
    master = signed_get(play, play["hls"]).text
    assert "I-FRAME" not in master
    s3, bucket = stack.client("s3"), stack.spec.buckets["MediaBucket"].name
    published = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"assets/{asset_id}/")["Contents"]
    ]
    assert not [k for k in published if k.endswith((".mpd", "iframes.m3u8", "download.mp4"))]


def test_segments_are_not_mp4_without_the_key_and_are_with_it(
    owner: LumiereClient, asset: dict[str, Any], tmp_path: Path
) -> None:
    play, url, text = rendition(owner, asset)
    playlist = m3u8.loads(text, uri=url)
    key = owner.content_key(asset["asset_id"])
    assert len(key) == 16
    init = signed_get(play, urljoin(url, playlist.segment_map[0].uri)).content
    assert init[4:8] == b"ftyp"  # the map is clear
    master_url = play["hls"].split("?")[0]
    master = m3u8.loads(signed_get(play, master_url).text, uri=master_url)
    declared = next(
        p.stream_info.bandwidth for p in master.playlists if urljoin(master_url, p.uri) == url
    )
    peak = 0.0
    whole = tmp_path / "decrypted.mp4"
    sealed_file = tmp_path / "sealed.mp4"
    with whole.open("wb") as clear_out, sealed_file.open("wb") as sealed_out:
        clear_out.write(init)
        sealed_out.write(init)
        for sequence, segment in enumerate(playlist.segments):
            sealed = signed_get(play, urljoin(url, segment.uri)).content
            assert sealed[4:8] not in MP4_BOXES
            assert len(sealed) % 16 == 0
            peak = max(peak, len(sealed) * 8 / segment.duration)
            clear = decrypt_segment(sealed, key, sequence)
            assert clear[4:8] in MP4_BOXES
            clear_out.write(clear)
            sealed_out.write(sealed)
    assert peak <= declared  # BANDWIDTH counts the padding (RFC 8216 4.3.4.2)
    ffprobe = str(find_binaries().ffprobe)
    probe = [ffprobe, "-v", "error", "-count_frames", "-show_streams", "-of", "json"]
    [video] = json.loads(run_tool([*probe, str(whole)], timeout=60))["streams"]
    assert (video["codec_name"], int(video["nb_read_frames"])) == ("h264", 50)
    # without the key the same bytes give no frames
    done = subprocess.run(
        [*probe, str(sealed_file)], capture_output=True, text=True, timeout=60, check=False
    )
    streams = json.loads(done.stdout or "{}").get("streams") or [{}]
    assert done.returncode != 0 or int(streams[0].get("nb_read_frames") or 0) < 50


def test_a_player_with_the_token_plays_the_encrypted_stream(
    stack: LocalStack, owner: LumiereClient, asset: dict[str, Any]
) -> None:
    """ffprobe as a player: signed cookies for the CDN, the token for the key."""
    play = owner.playback(asset["asset_id"])
    argv = [
        str(find_binaries().ffprobe), "-v", "error", "-protocol_whitelist", "http,tcp,crypto",
        "-cookies", ffmpeg_cookies(play["cookies"]),
        # API Gateway answers the key as bytes to this Accept only (template.yaml)
        "-headers", f"Authorization: {owner.api.headers['Authorization']}\r\n"
                    "Accept: application/octet-stream\r\n",
        "-select_streams", "v:0", "-count_frames", "-show_streams", "-of", "json",
        play["hls"].split("?")[0],
    ]  # fmt: skip
    [video] = json.loads(run_tool(argv, timeout=120))["streams"]
    assert int(video["nb_read_frames"]) == 50


def test_only_the_owner_gets_the_key_and_it_is_never_in_the_bucket(
    stack: LocalStack, owner: LumiereClient, asset: dict[str, Any], media: Media
) -> None:
    asset_id = asset["asset_id"]
    key = owner.content_key(asset_id)
    with pytest.raises(ApiError) as e:
        stack.api_client("stranger").content_key(asset_id)
    assert e.value.status == 404
    assert requests.get(f"{stack.api_url}/assets/{asset_id}/key", timeout=10).status_code == 401
    r = owner.api.get(f"{stack.api_url}/assets/{asset_id}/key", timeout=10)
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert "no-store" in r.headers["Cache-Control"]
    # an asset that is not encrypted has no key
    clear = process_upload(stack, owner, media.silent_clip, "video/mp4")
    assert clear["encryption"] == "none"
    with pytest.raises(ApiError) as e:
        owner.content_key(clear["asset_id"])
    assert e.value.status == 404
    # the key is nowhere in MediaBucket, and the catalogue holds it wrapped only
    s3, bucket = stack.client("s3"), stack.spec.buckets["MediaBucket"].name
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=f"assets/{asset_id}/")["Contents"]:
        assert key not in s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read(), obj["Key"]
    table = stack.spec.tables["AssetsTable"].name
    item = stack.client("dynamodb").get_item(TableName=table, Key={"asset_id": {"S": asset_id}})
    assert key not in json.dumps(item["Item"]).encode()
    assert key.hex() not in json.dumps(item["Item"])


def test_a_public_encrypted_assets_key_goes_to_any_signed_in_user(
    stack: LocalStack, owner: LumiereClient, media: Media
) -> None:
    asset = process_upload(
        stack, owner, media.silent_clip, "video/mp4", encryption="aes-128", visibility="public"
    )
    asset_id = asset["asset_id"]
    key = owner.content_key(asset_id)
    stranger = stack.api_client("passer-by")
    assert stranger.content_key(asset_id) == key
    assert requests.get(f"{stack.api_url}/assets/{asset_id}/key", timeout=10).status_code == 401
    owner.set_visibility(asset_id, "private")
    with pytest.raises(ApiError) as e:
        stranger.content_key(asset_id)
    assert e.value.status == 404
    # deleting the asset drops its wrapped key from the record (the tombstone stays)
    assert owner.delete_asset(asset_id) == 204
    table = stack.spec.tables["AssetsTable"].name
    item = stack.client("dynamodb").get_item(TableName=table, Key={"asset_id": {"S": asset_id}})
    assert item["Item"]["status"]["S"] == "DELETED"
    assert "content_key" not in item["Item"]


@pytest.fixture(scope="module")
def chunking_stack() -> Any:
    """A second stack that cuts anything over 4 s into 4 s chunks, so the fan-in
    stitches (and keys) the playlist of segments that chunk parts sealed."""
    with LocalStack(
        REPO / "template.yaml",
        run_functions=False,
        web_port=None,
        parameters={"AnalysisBackend": "off", "ChunkThresholdSeconds": "4", "ChunkSeconds": "4"},
    ) as s:
        yield s


def test_chunked_renditions_are_sealed_by_their_chunks_and_keyed_when_stitched(
    chunking_stack: LocalStack, tmp_path: Path
) -> None:
    clip = make_clip(tmp_path / "ten.mp4", seconds=10, width=320, height=180, audio=False)
    owner = chunking_stack.api_client("chunker")
    asset = process_upload(chunking_stack, owner, clip, "video/mp4", encryption="aes-128")
    assert asset["status"] == "READY", asset.get("error")
    parts = chunking_stack.client("dynamodb").get_item(
        TableName=chunking_stack.spec.tables["AssetsTable"].name,
        Key={"asset_id": {"S": asset["asset_id"]}},
    )["Item"]["parts_done"]["SS"]
    assert len([p for p in parts if p.startswith("video")]) >= 2  # it was chunked
    play, url, text = rendition(owner, asset)
    assert text.count("#EXT-X-KEY:METHOD=AES-128") == 1
    key = owner.content_key(asset["asset_id"])
    playlist = m3u8.loads(text, uri=url)
    assert len(playlist.segments) >= 3
    for sequence, segment in enumerate(playlist.segments):
        sealed = signed_get(play, urljoin(url, segment.uri)).content
        assert sealed[4:8] not in MP4_BOXES
        assert decrypt_segment(sealed, key, sequence)[4:8] in MP4_BOXES
