"""Property tests: whatever JSON ffprobe (that is, the uploaded file) produces, the probe
model either returns a MediaInfo or raises its own CorruptInputError; what it returns
round-trips through the catalogue and classifies without surprises."""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from lumiere.errors import CorruptInputError, NoStreamsError
from lumiere.media.probe import MediaInfo, MediaKind, classify, parse_probe

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["0/0", "30000/1001", "25/0", "-1/2", "N/A", "1e400", "nan", "90", "-90"])
)
anything = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    "codec_type", "codec_name", "width", "height", "avg_frame_rate", "r_frame_rate",
    "side_data_list", "tags", "disposition", "pix_fmt", "profile", "channels",
    "sample_rate", "channel_layout", "index", "bits_per_raw_sample", "color_transfer",
    "field_order",
]  # fmt: skip
stream = st.fixed_dictionaries(
    {"codec_type": st.sampled_from(["video", "audio", "subtitle", "data"]) | anything},
    optional={name: anything for name in FIELDS[1:]}
    | {
        "side_data_list": st.lists(
            st.fixed_dictionaries({}, optional={"rotation": anything}) | anything, max_size=3
        ),
        "tags": st.fixed_dictionaries({}, optional={"rotate": anything, "language": anything}),
        "width": st.integers(-10, 10_000) | anything,
        "height": st.integers(-10, 10_000) | anything,
    },
)
fmt = st.fixed_dictionaries(
    {},
    optional={k: anything for k in ("format_name", "duration", "size", "bit_rate")},
)
document = (
    st.fixed_dictionaries(
        {},
        optional={
            "format": fmt | anything,
            "streams": st.lists(stream | anything, max_size=5) | anything,
        },
    )
    | anything
)


def parse_or_corrupt(doc: Any) -> MediaInfo | None:
    try:
        return parse_probe(json.dumps(doc, allow_nan=True))
    except CorruptInputError:
        return None


@settings(max_examples=400, deadline=None)
@given(document)
def test_parse_returns_a_model_or_its_own_error(doc: Any) -> None:
    info = parse_or_corrupt(doc)
    if info is None:
        return
    assert isinstance(info, MediaInfo)
    for v in info.video:
        assert v.width > 0
        assert v.height > 0
        assert v.rotation in (0, 90, 180, 270)
        assert v.frame_rate is None or (v.frame_rate > 0 and math.isfinite(v.frame_rate))
    assert info.duration is None or (info.duration >= 0 and math.isfinite(info.duration))


@settings(max_examples=300, deadline=None)
@given(document)
def test_what_parses_round_trips_and_classifies(doc: Any) -> None:
    info = parse_or_corrupt(doc)
    if info is None:
        return
    assert MediaInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info
    try:
        assert isinstance(classify(info), MediaKind)
    except NoStreamsError:
        assert not info.video
        assert not info.audio


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_non_json_output_is_corrupt_not_a_crash(text: str) -> None:
    with contextlib.suppress(CorruptInputError):
        parse_probe(text)
