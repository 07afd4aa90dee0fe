"""Going back to the automatic poster finds the key the engine gave it, whichever engine
(api/poster_choice.py); the catalogue write is recorded, not made."""

from __future__ import annotations

from typing import Any

import pytest
from lumiere.api.poster_choice import choose_poster, with_poster_time
from lumiere.config import Settings
from lumiere.errors import InvalidRequestError
from lumiere.media.transform_spec import parse_transform

ASSET = "0123456789abcdef0123456789abcdef"
MEDIACONVERT_POSTER = f"assets/{ASSET}/poster.0000000.jpg"  # a frame capture's name


class RecordingCatalogue:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def set_poster(self, *args: Any) -> dict[str, Any]:
        self.calls.append(args)
        return {"asset_id": args[0]}


def test_back_to_automatic_is_the_engines_own_poster() -> None:
    catalogue = RecordingCatalogue()
    video = {"asset_id": ASSET, "kind": "video", "outputs": {"poster": MEDIACONVERT_POSTER}}
    choose_poster(video, None, Settings(), catalogue, None)  # type: ignore[arg-type]
    # after a choice the record points elsewhere and keeps the automatic key aside
    chosen = {**video, "outputs": {"poster": f"assets/{ASSET}/poster_t3.jpg"},
              "auto_poster": MEDIACONVERT_POSTER, "poster_time": 3.0}  # fmt: skip
    choose_poster(chosen, None, Settings(), catalogue, None)  # type: ignore[arg-type]
    assert [c[1:4] for c in catalogue.calls] == [
        (MEDIACONVERT_POSTER, None, MEDIACONVERT_POSTER),
        (MEDIACONVERT_POSTER, None, MEDIACONVERT_POSTER),
    ]


def test_only_a_video_has_a_poster_moment() -> None:
    with pytest.raises(InvalidRequestError, match="this asset is audio"):
        choose_poster({"asset_id": ASSET, "kind": "audio"}, 1.0, Settings(), None, None)  # type: ignore[arg-type]


def test_an_untimed_link_of_a_video_with_a_chosen_moment_is_that_moment() -> None:
    spec = parse_transform("w_320,h_320")
    chosen = {"kind": "video", "poster_time": 12.5}
    assert with_poster_time(chosen, spec).time == 12.5
    assert with_poster_time(chosen, parse_transform("w_1,t_3")).time == 3.0  # asked: kept
    assert with_poster_time({"kind": "video"}, spec).time is None
    assert with_poster_time({"kind": "image", "poster_time": 1}, spec).time is None
