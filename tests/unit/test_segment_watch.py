"""Which files of a rendition directory are finished segments (media/segment_watch.py):
the names ffmpeg's HLS muxer writes with ``-hls_flags temp_file``, as a poll sees them."""

from lumiere.media.segment_watch import finished_segments, segment_number


def test_a_segment_being_written_is_not_finished() -> None:
    # GIVEN a listing taken while ffmpeg writes the third segment
    names = ["init.mp4", "seg_00000.m4s", "seg_00001.m4s", "seg_00002.m4s.tmp"]
    # THEN the renamed ones are finished, the .tmp is not, nor is the init segment
    assert finished_segments(names) == ["seg_00000.m4s", "seg_00001.m4s"]


def test_playlists_and_other_files_are_never_segments() -> None:
    names = ["index.m3u8", "index.m3u8.tmp", "iframes.m3u8", "track.json", "chunk_00000.json"]
    assert finished_segments(names) == []
    assert segment_number("seg_00001.m4s.tmp") is None
    assert segment_number("xseg_00001.m4s") is None
    assert segment_number("seg_1.m4s") is None  # not the pattern ffmpeg was given


def test_segments_already_taken_are_not_handed_out_again() -> None:
    names = ["seg_00000.m4s", "seg_00001.m4s", "seg_00002.m4s"]
    assert finished_segments(names, {"seg_00000.m4s", "seg_00001.m4s"}) == ["seg_00002.m4s"]


def test_finished_segments_come_in_timeline_order_past_five_digits() -> None:
    # %05d grows a sixth digit after 99999: order by number, not by name
    names = ["seg_100000.m4s", "seg_99999.m4s", "seg_00007.m4s"]
    assert finished_segments(names) == ["seg_00007.m4s", "seg_99999.m4s", "seg_100000.m4s"]
    assert segment_number("seg_100000.m4s") == 100000
