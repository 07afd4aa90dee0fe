"""Finding the published segment that holds a moment of a video (media/hls_seek.py)."""

import pytest
from lumiere.errors import InvalidRequestError
from lumiere.media.hls_seek import segment_at

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


def test_offsets_land_on_a_frame_even_at_the_very_end() -> None:
    middle = segment_at(OURS, 5.25)
    assert middle.offset_of(5.25, 25.0) == pytest.approx(1.25)
    last = segment_at(OURS, 10.5)  # the end itself: the last frame, 1/25 s before it
    assert last.offset_of(10.5, 25.0) == pytest.approx(2.5 - 1.5 / 25)
    assert last.offset_of(10.49, 25.0) == pytest.approx(2.5 - 1.5 / 25)
    assert last.offset_of(10.0, None) == pytest.approx(2.0)  # no rate known: 24 fps assumed
    assert segment_at(OURS, 0).offset_of(0, 30.0) == 0.0


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
