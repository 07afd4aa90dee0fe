"""Which rendition a video frame is cut from, and that its playlist cannot point the
API at another asset's objects (api/image_sources.py)."""

import pytest
from lumiere.api.image_sources import _within, check_time_applies, pick_rendition
from lumiere.errors import InvalidRequestError
from lumiere.media.transform_spec import parse_transform

RUNGS = [
    {"name": "720p", "width": 1280, "height": 720},
    {"name": "1080p", "width": 1920, "height": 1080},
    {"name": "360p", "width": 640, "height": 360},
]
ASSET = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("options", "expected"),
    [("w_320", "360p"), ("w_640,h_360", "360p"), ("w_641", "720p"), ("h_800", "1080p"),
     ("w_1280,h_1280", "1080p"), ("w_4000", "1080p"),
     # the part kept must fill the box: half the frame at 640 wide needs the 720p frame
     ("w_640,crop_0x0x0.5x1", "720p"), ("w_320,crop_0.25x0.25x0.5x0.5", "360p"),
     # turned a quarter, a 360 px tall box needs a frame 360 px wide
     ("h_360,rot_90", "360p"), ("h_641,rot_270", "720p"), ("w_361,rot_90", "720p")],
)  # fmt: skip
def test_the_smallest_rendition_that_fills_the_box_is_decoded(options: str, expected: str) -> None:
    assert pick_rendition(RUNGS, parse_transform(options))["name"] == expected


def test_playlist_uris_stay_inside_the_asset() -> None:
    folder = f"assets/{ASSET}/hls/v720p"
    assert _within(ASSET, folder, "seg_00001.m4s") == f"{folder}/seg_00001.m4s"
    assert _within(ASSET, folder, "../audio/init.mp4") == f"assets/{ASSET}/hls/audio/init.mp4"
    for uri in ("../../../other/hls/v720p/seg_00001.m4s", "/etc/passwd", "s3://b/k", "https://x/y"):
        with pytest.raises(ValueError, match="outside asset"):
            _within(ASSET, folder, uri)


def test_a_time_applies_to_videos_only() -> None:
    check_time_applies({"kind": "video"}, parse_transform("w_1,t_3"))
    check_time_applies({"kind": "image"}, parse_transform("w_1"))
    for kind in ("image", "audio"):
        with pytest.raises(InvalidRequestError, match=f"this asset is {kind}"):
            check_time_applies({"kind": kind}, parse_transform("w_1,t_3"))
