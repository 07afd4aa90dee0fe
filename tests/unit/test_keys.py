import pytest
from lumiere.errors import InvalidRequestError
from lumiere.pipeline.keys import (
    UploadKey,
    clean_filename,
    master_playlist_key,
    parse_upload_key,
    poster_key,
)

AID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("raw", "filename"),
    [
        (f"uploads/{AID}/My+holiday+%C3%A9t%C3%A9+%282026%29.mp4", "My holiday été (2026).mp4"),
        (f"uploads%2F{AID}%2Fclip.mp4", "clip.mp4"),  # moto encodes "/" too
        (f"uploads/{AID}/a%2Bb.mp4", "a+b.mp4"),  # a literal plus arrives as %2B
    ],
)
def test_event_keys_are_decoded_once(raw: str, filename: str) -> None:
    assert parse_upload_key(raw, url_encoded=True) == UploadKey(AID, filename)


@pytest.mark.parametrize(
    "key",
    [
        "uploads/short/clip.mp4",
        f"uploads/{AID}/",
        f"uploads/{AID}/nested/clip.mp4",
        f"assets/{AID}/clip.mp4",
        f"uploads/{AID.upper()}/clip.mp4",
    ],
)
def test_keys_outside_the_upload_layout_are_not_ours(key: str) -> None:
    assert parse_upload_key(key, url_encoded=False) is None


def test_upload_key_round_trip() -> None:
    key = UploadKey(AID, "a b+c.mov")
    assert parse_upload_key(key.key, url_encoded=False) == key


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\clip.mov", "clip.mov"),
        ("  .hidden.mp4 ", "hidden.mp4"),
        ("tab\there\x00.mp4", "tabhere.mp4"),
        ("cafe\u0301.mp4", "café.mp4"),
    ],
)
def test_clean_filename(given: str, kept: str) -> None:
    assert clean_filename(given) == kept


def test_clean_filename_keeps_extension_when_truncating() -> None:
    name = clean_filename("x" * 500 + ".mp4")
    assert len(name) == 200
    assert name.endswith(".mp4")


@pytest.mark.parametrize("bad", ["", "   ", "/", "..", "\x00\x01"])
def test_clean_filename_refuses_empty_names(bad: str) -> None:
    with pytest.raises(InvalidRequestError):
        clean_filename(bad)


def test_output_keys_live_under_the_asset() -> None:
    assert master_playlist_key(AID) == f"assets/{AID}/hls/master.m3u8"
    assert poster_key(AID) == f"assets/{AID}/poster.jpg"
