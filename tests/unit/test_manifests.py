import xml.etree.ElementTree as ET

import m3u8
from lumiere.media.dash import MPD_NS, build_mpd
from lumiere.media.hls import build_master_playlist
from lumiere.media.packaging import PackagedTrack, _extend_timeline


def video(name: str, peak: int, avg: int, w: int, h: int) -> PackagedTrack:
    return PackagedTrack(
        kind="video",
        dirname=f"v_{name}",
        codec="avc1.640028",
        timescale=15360,
        duration=10.0,
        segment_count=3,
        peak_bps=peak,
        average_bps=avg,
        timeline=[[0, 61440, 1], [122880, 30720, 0]],
        width=w,
        height=h,
        frame_rate=29.97,
        iframe_peak_bps=peak // 10,
        iframe_average_bps=avg // 10,
    )


def audio(lang: str, name: str, default: bool, peak: int = 140_000) -> PackagedTrack:
    return PackagedTrack(
        kind="audio",
        dirname=f"a_1_{lang}",
        codec="mp4a.40.2",
        timescale=48000,
        duration=10.0,
        segment_count=3,
        peak_bps=peak,
        average_bps=130_000,
        timeline=[[0, 192000, 2]],
        language=lang,
        name=name,
        default=default,
        channels=2,
        sample_rate=48000,
    )


LOW, HIGH = (
    video("360p", 900_000, 700_000, 640, 360),
    video("720p", 3_000_000, 2_000_000, 1280, 720),
)
EN, FR = audio("en", "English", True), audio("fr", "French", False, peak=150_000)


def test_master_has_audio_group_and_bandwidth_includes_the_largest_audio() -> None:
    text = build_master_playlist([LOW, HIGH], [FR, EN])
    lines = text.splitlines()
    assert lines[:5] == [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",DEFAULT=YES,'
        'AUTOSELECT=YES,CHANNELS="2",URI="a_1_en/index.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="French",LANGUAGE="fr",DEFAULT=NO,'
        'AUTOSELECT=YES,CHANNELS="2",URI="a_1_fr/index.m3u8"',
    ]
    assert lines[5] == (
        "#EXT-X-STREAM-INF:BANDWIDTH=3150000,AVERAGE-BANDWIDTH=2130000,"
        'CODECS="avc1.640028,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=29.970,AUDIO="aud"'
    )
    parsed = m3u8.loads(text)
    assert [p.uri for p in parsed.playlists] == ["v_720p/index.m3u8", "v_360p/index.m3u8"]
    assert [p.uri for p in parsed.iframe_playlists] == [
        "v_720p/iframes.m3u8",
        "v_360p/iframes.m3u8",
    ]
    assert parsed.iframe_playlists[0].iframe_stream_info.bandwidth == 300_000


def test_audio_only_master_points_at_the_default_track() -> None:
    text = build_master_playlist([], [FR, EN])
    parsed = m3u8.loads(text)
    assert [p.uri for p in parsed.playlists] == ["a_1_en/index.m3u8"]
    assert "RESOLUTION" not in text
    assert "I-FRAME" not in text
    assert 'CODECS="mp4a.40.2"' in text
    assert 'AUDIO="aud"' in text


def test_video_without_audio_has_no_group() -> None:
    text = build_master_playlist([LOW], [])
    assert "AUDIO=" not in text
    assert "EXT-X-MEDIA" not in text
    assert 'CODECS="avc1.640028"' in text


def test_undetermined_language_is_said_so() -> None:
    text = build_master_playlist([], [audio("und", "Audio 1", True)])
    assert 'NAME="Audio 1",LANGUAGE="und"' in text


def test_mpd_lists_the_same_segments_with_their_timeline() -> None:
    root = ET.fromstring(build_mpd([HIGH, LOW], [EN, FR], 4.0))  # noqa: S314 - our own XML
    ns = {"d": MPD_NS}
    assert root.get("type") == "static"
    assert root.get("mediaPresentationDuration") == "PT10.000S"
    sets = root.findall("d:Period/d:AdaptationSet", ns)
    assert [s.get("contentType") for s in sets] == ["video", "audio", "audio"]
    assert [s.get("lang") for s in sets[1:]] == ["en", "fr"]
    reps = sets[0].findall("d:Representation", ns)
    assert [r.get("id") for r in reps] == ["v_360p", "v_720p"]  # ascending bandwidth
    assert reps[1].get("frameRate") == "30000/1001"
    template = reps[1].find("d:SegmentTemplate", ns)
    assert template is not None
    assert template.get("media") == "v_720p/seg_$Number%05d$.m4s"
    assert template.get("initialization") == "v_720p/init.mp4"
    runs = [(s.get("t"), s.get("d"), s.get("r")) for s in template.iter(f"{{{MPD_NS}}}S")]
    assert runs == [("0", "61440", "1"), ("122880", "30720", None)]


def test_timeline_runs_merge_only_contiguous_equal_segments() -> None:
    runs: list[list[int]] = []
    for start, duration in [(0, 10), (10, 10), (20, 10), (30, 5), (40, 5)]:
        _extend_timeline(runs, start, duration)
    assert runs == [[0, 10, 2], [30, 5, 0], [40, 5, 0]]  # a gap starts a new run
