"""HLS AES-128: segment encryption with the media sequence number as IV, the exact
playlist lines (the key after the clear EXT-X-MAP), sealing a rendition directory, the
master without I-frame playlists, and per-asset keys wrapped by KMS (moto)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from lumiere.cloud.content_keys import ContentKeys
from lumiere.config import Settings
from lumiere.errors import InvalidRequestError, PermanentError
from lumiere.media.hls import build_master_playlist
from lumiere.media.hls_crypto import (
    PlaylistMismatch,
    add_key_tag,
    decrypt_segment,
    encrypt_segment,
    encrypted_size,
    sequence_iv,
)
from lumiere.media.packaging import PackagedTrack, SegmentRecord, as_sealed, media_playlist
from lumiere.pipeline.encryption import seal_track
from lumiere.pipeline.models import UploadRequest
from moto import mock_aws

KEY = bytes(range(16))
URI = "https://api.example.com/Prod/assets/0123456789abcdef0123456789abcdef/key"


def test_a_segment_decrypts_to_its_clear_bytes_with_its_sequence_iv() -> None:
    clear = b"\x00\x00\x00\x18styp" + os.urandom(1000)
    sealed = encrypt_segment(clear, KEY, 7)
    assert len(sealed) == encrypted_size(len(clear)) == 1024
    assert sealed[4:8] != b"styp"
    assert decrypt_segment(sealed, KEY, 7) == clear
    # RFC 8216 5.2: the IV is the media sequence number, big-endian, in 16 bytes
    assert sequence_iv(7) == b"\x00" * 15 + b"\x07"
    raw = Cipher(algorithms.AES(KEY), modes.CBC(sequence_iv(7))).decryptor()
    plain = raw.update(sealed) + raw.finalize()
    assert plain[: len(clear)] == clear
    assert plain[len(clear) :] == bytes([16]) * 16  # PKCS7: 1008 bytes get a whole block
    # another sequence number (IV) or key does not give the clear bytes back
    for key, sequence in ((KEY, 8), (bytes(16), 7)):
        with contextlib.suppress(ValueError):  # the padding may not even check out
            assert decrypt_segment(sealed, key, sequence) != clear


def test_a_block_aligned_segment_gets_a_whole_block_of_padding() -> None:
    assert encrypted_size(32) == 48
    assert decrypt_segment(encrypt_segment(bytes(32), KEY, 0), KEY, 0) == bytes(32)
    with pytest.raises(ValueError, match="16 bytes"):
        encrypt_segment(b"x", b"short", 0)


SEGMENTS = [
    SegmentRecord(uri=f"seg_{i:05d}.m4s", duration=4.0, start=i * 4, length=4, bytes=10,
                  first_sample_end=5)
    for i in range(3)
]  # fmt: skip


def test_the_key_tag_follows_the_clear_map() -> None:
    keyed = add_key_tag(media_playlist(SEGMENTS), URI)
    assert keyed.splitlines() == [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-TARGETDURATION:4",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-MAP:URI="init.mp4"',
        f'#EXT-X-KEY:METHOD=AES-128,URI="{URI}"',
        "#EXTINF:4.000000,",
        "seg_00000.m4s",
        "#EXTINF:4.000000,",
        "seg_00001.m4s",
        "#EXTINF:4.000000,",
        "seg_00002.m4s",
        "#EXT-X-ENDLIST",
    ]


def test_a_playlist_whose_positions_are_not_the_segment_numbers_is_refused() -> None:
    """The implicit IV is the position; a segment named otherwise was encrypted with
    another IV and would not decrypt."""
    shuffled = media_playlist([SEGMENTS[1], SEGMENTS[0], SEGMENTS[2]])
    with pytest.raises(PlaylistMismatch):
        add_key_tag(shuffled, URI)
    late_start = media_playlist(SEGMENTS).replace("MEDIA-SEQUENCE:0", "MEDIA-SEQUENCE:1")
    with pytest.raises(PlaylistMismatch):
        add_key_tag(late_start, URI)
    with pytest.raises(PlaylistMismatch):
        add_key_tag(add_key_tag(media_playlist(SEGMENTS), URI), URI)  # keyed twice
    with pytest.raises(PlaylistMismatch):
        add_key_tag(media_playlist(SEGMENTS).replace('#EXT-X-MAP:URI="init.mp4"\n', ""), URI)


def test_sealing_a_rendition_encrypts_segments_keys_the_playlist_and_drops_iframes(
    tmp_path: Path,
) -> None:
    init = b"\x00\x00\x00\x10ftypiso6" + b"\x00" * 4
    clear = {f"seg_{i:05d}.m4s": b"\x00\x00\x00\x10styp" + os.urandom(300 + i) for i in range(3)}
    (tmp_path / "init.mp4").write_bytes(init)
    for name, data in clear.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "index.m3u8").write_text(media_playlist(SEGMENTS))
    (tmp_path / "iframes.m3u8").write_text("#EXTM3U\n")
    seal_track(tmp_path, KEY, URI)
    assert (tmp_path / "init.mp4").read_bytes() == init  # the map stays clear
    for i, (name, data) in enumerate(clear.items()):
        sealed = (tmp_path / name).read_bytes()
        assert sealed != data
        assert decrypt_segment(sealed, KEY, i) == data
    assert f'#EXT-X-KEY:METHOD=AES-128,URI="{URI}"' in (tmp_path / "index.m3u8").read_text()
    assert not (tmp_path / "iframes.m3u8").exists()
    # a chunk's directory has segments but no playlist (the fan-in writes it)
    chunk = tmp_path / "chunk"
    chunk.mkdir()
    (chunk / "seg_00045.m4s").write_bytes(b"x" * 40)
    seal_track(chunk, KEY, URI)
    assert decrypt_segment((chunk / "seg_00045.m4s").read_bytes(), KEY, 45) == b"x" * 40
    # a playlist that does not follow the numbering fails the part, not the viewer
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "index.m3u8").write_text(media_playlist(SEGMENTS[1:]))
    with pytest.raises(PermanentError, match="media sequence"):
        seal_track(bad, KEY, URI)


def test_sealed_segments_are_measured_at_their_published_size() -> None:
    sealed = as_sealed(SEGMENTS)
    assert [s.bytes for s in sealed] == [16] * 3  # 10 clear bytes pad to one block
    assert [(s.uri, s.start, s.length, s.first_sample_end) for s in sealed] == [
        (s.uri, s.start, s.length, s.first_sample_end) for s in SEGMENTS
    ]


def test_the_master_can_leave_the_iframe_playlists_out() -> None:
    video = PackagedTrack(
        kind="video", dirname="v720p", codec="avc1.64001f", timescale=12800, duration=8.0,
        segment_count=2, peak_bps=2_000_000, average_bps=1_500_000, width=1280, height=720,
        frame_rate=25.0, iframe_peak_bps=300_000, iframe_average_bps=200_000,
    )  # fmt: skip
    assert "#EXT-X-I-FRAME-STREAM-INF" in build_master_playlist([video], [])
    clear_lines = build_master_playlist([video], []).splitlines()
    keyed_lines = build_master_playlist([video], [], iframes=False).splitlines()
    assert keyed_lines == [x for x in clear_lines if not x.startswith("#EXT-X-I-FRAME")]


@pytest.fixture
def kms_alias() -> Iterator[str]:
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/test-content-keys", TargetKeyId=key_id)
        yield "alias/test-content-keys"


def test_content_keys_are_wrapped_by_kms_and_bound_to_their_asset(kms_alias: str) -> None:
    keys = ContentKeys(kms_alias, kms_client=boto3.client("kms", region_name="us-east-1"))
    clear, wrapped = keys.new_key("a" * 32)
    assert len(clear) == 16
    assert clear not in wrapped.encode()
    assert keys.unwrap("a" * 32, wrapped) == clear
    assert keys.new_key("a" * 32)[0] != clear  # a new key each time
    with pytest.raises(Exception, match="InvalidCiphertext"):
        keys.unwrap("b" * 32, wrapped)  # another asset's record cannot use it


def test_encryption_settings_and_requests() -> None:
    settings = Settings.from_env({"HLS_ENCRYPTION": "AES-128", "API_URL": "https://x/Prod/"})
    assert (settings.hls_encryption, settings.api_url) == ("aes-128", "https://x/Prod")
    assert Settings.from_env({}).hls_encryption == "none"
    with pytest.raises(ValueError, match="HLS_ENCRYPTION"):
        Settings.from_env({"HLS_ENCRYPTION": "aes-256"})
    with pytest.raises(ValueError, match="ffmpeg"):
        Settings.from_env({"HLS_ENCRYPTION": "aes-128", "TRANSCODE_ENGINE": "mediaconvert"})
    body = {"filename": "a.mp4", "content_type": "video/mp4", "size": 1}
    assert UploadRequest.from_json(body).encryption is None  # the deployment's default
    assert UploadRequest.from_json({**body, "encryption": "aes-128"}).encryption == "aes-128"
    for bad in ("AES-128", "sample-aes", True):
        with pytest.raises(InvalidRequestError):
            UploadRequest.from_json({**body, "encryption": bad})
