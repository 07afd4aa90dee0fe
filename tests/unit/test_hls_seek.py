"""Finding the published segment that holds a moment of a video (media/hls_seek.py)."""

import math

import pytest
from lumiere.errors import InvalidRequestError
from lumiere.media.hls_seek import segment_at, segments_between

# Our packager's shape: fMP4 with a clear init section, 4 s segments, a short last one.
OURS = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.000000,
seg_00000.m4s
#EXTINF:4.000000,
seg_00001.m4s
#EXTINF:2.500000,
seg_00002.m4s
#EXT-X-ENDLIST
"""


@pytest.mark.parametrize(
    ("time", "uri", "start"),
    [(0.0, "seg_00000.m4s", 0.0), (3.999, "seg_00000.m4s", 0.0), (4.0, "seg_00001.m4s", 4.0),
     (9.0, "seg_00002.m4s", 8.0), (10.5, "seg_00002.m4s", 8.0)],
)  # fmt: skip
def test_the_segment_is_found_by_adding_up_durations(time: float, uri: str, start: float) -> None:
    segment = segment_at(OURS, time)
    assert (segment.uri, segment.start, segment.init_uri) == (uri, start, "init.mp4")
    assert segment.sequence == int(uri[4:9])
    assert segment.encryption is None


def test_past_the_end_is_refused_with_the_length() -> None:
    with pytest.raises(InvalidRequestError, match=r"lasts 10\.5 s"):
        segment_at(OURS, 10.501)


def first_frame_from(offset: float, fps: float) -> int:
    """What ffmpeg's exact seek returns: the first frame at or after the offset."""
    return math.ceil(round(offset * fps, 6))


@pytest.mark.parametrize(
    ("time", "frame"),
    [(5.25, 31), (5.24, 31), (5.239, 30), (4.0, 0), (4.01, 0), (4.039, 0), (4.04, 1),
     (10.5, 61), (10.49, 61), (10.44, 61), (10.439, 60)],
)  # fmt: skip
def test_the_frame_found_is_the_one_a_player_shows_at_that_time(time: float, frame: int) -> None:
    # 25 fps: frame n of a segment is on screen from start + n/25 until the next one;
    # the last segment (8 .. 10.5 s) has frames 0..61, and 10.5, its end, shows 61.
    # Times are to the millisecond, as t_ takes them.
    segment = segment_at(OURS, time)
    assert first_frame_from(segment.offset_of(time, 25.0), 25.0) == frame


def test_offsets_never_leave_the_segment() -> None:
    assert segment_at(OURS, 0).offset_of(0, 30.0) == 0.0
    last = segment_at(OURS, 10.5)
    assert last.offset_of(10.5, None) == pytest.approx(2.5 - 1.5 / 24)  # no rate: 24 fps


def test_encrypted_segments_carry_their_method_sequence_and_iv() -> None:
    keyed = OURS.replace(
        '#EXT-X-MAP:URI="init.mp4"\n',
        '#EXT-X-MAP:URI="init.mp4"\n#EXT-X-KEY:METHOD=AES-128,URI="/assets/a/key"\n',
    ).replace("#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-MEDIA-SEQUENCE:7")
    segment = segment_at(keyed, 4.5)
    assert (segment.encryption, segment.sequence, segment.iv) == ("AES-128", 8, None)
    with_iv = keyed.replace('key"', 'key",IV=0x000102030405060708090A0B0C0D0E0F')
    assert segment_at(with_iv, 4.5).iv == bytes(range(16))
    with pytest.raises(ValueError, match="SAMPLE-AES"):
        segment_at(keyed.replace("AES-128", "SAMPLE-AES"), 4.5)


def test_transport_stream_segments_have_no_init_section() -> None:
    ts = (
        "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\na.ts\n#EXTINF:6.0,\nb.ts\n#EXT-X-ENDLIST\n"
    )
    segment = segment_at(ts, 7.0)
    assert (segment.uri, segment.init_uri, segment.start) == ("b.ts", None, 6.0)


def test_a_playlist_without_segments_is_an_error() -> None:
    with pytest.raises(ValueError, match="no segments"):
        segment_at("#EXTM3U\n#EXT-X-ENDLIST\n", 0.0)


def test_a_stretch_takes_every_segment_it_plays_through() -> None:
    def uris(start: float, end: float) -> list[str]:
        return [s.uri for s in segments_between(OURS, start, end)]

    assert uris(1.0, 3.0) == ["seg_00000.m4s"]
    assert uris(3.5, 5.5) == ["seg_00000.m4s", "seg_00001.m4s"]
    assert uris(3.5, 8.0) == ["seg_00000.m4s", "seg_00001.m4s"]  # 8 s is where #2 begins
    assert uris(0.0, 10.0) == ["seg_00000.m4s", "seg_00001.m4s", "seg_00002.m4s"]
    assert uris(9.0, 30.0) == ["seg_00002.m4s"]  # past the end: to the end
    assert [s.start for s in segments_between(OURS, 3.5, 9.0)] == [0.0, 4.0, 8.0]
    with pytest.raises(InvalidRequestError, match=r"lasts 10\.5 s"):
        segments_between(OURS, 11.0, 12.0)
