import json

import pytest
from lumiere.errors import (
    CorruptInputError,
    LimitExceededError,
    NoStreamsError,
    ReasonCode,
    UnsupportedMediaError,
)
from lumiere.media.probe import (
    Limits,
    MediaInfo,
    MediaKind,
    build_ffprobe_args,
    check_limits,
    classify,
    explain_probe_failure,
    parse_probe,
)

LIMITS = Limits(max_bytes=1000, max_duration_seconds=60, max_pixels=1920 * 1080, max_streams=4)


def probe_json(streams: list[dict], **fmt: object) -> str:
    base = {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "12.5", "size": "900"}
    return json.dumps({"format": {**base, **fmt}, "streams": streams})


PHONE_VIDEO = {
    "index": 0,
    "codec_type": "video",
    "codec_name": "h264",
    "profile": "High",
    "width": 1920,
    "height": 1080,
    "pix_fmt": "yuv420p",
    "avg_frame_rate": "30000/1001",
    "r_frame_rate": "30/1",
    "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}],
}
STEREO = {
    "index": 1,
    "codec_type": "audio",
    "codec_name": "aac",
    "channels": 2,
    "channel_layout": "stereo",
    "sample_rate": "48000",
    "tags": {"language": "fra"},
}


def test_parse_reads_rotation_rate_and_audio() -> None:
    info = parse_probe(probe_json([PHONE_VIDEO, STEREO], bit_rate="5000000"))
    video = info.primary_video
    assert video is not None
    assert video.rotation == 90
    assert video.display_size == (1080, 1920)
    assert video.frame_rate == pytest.approx(29.97, abs=0.001)
    assert info.primary_audio is not None
    assert info.primary_audio.language == "fra"
    assert info.primary_audio.sample_rate == 48000
    assert (info.duration, info.size, info.bit_rate) == (12.5, 900, 5000000)
    assert info.stream_count == 2


def test_cover_art_is_not_video() -> None:
    cover = {
        "index": 1,
        "codec_type": "video",
        "codec_name": "mjpeg",
        "width": 600,
        "height": 600,
        "disposition": {"attached_pic": 1},
    }
    info = parse_probe(probe_json([STEREO, cover], format_name="mp3"))
    assert info.video == ()
    assert classify(info) is MediaKind.AUDIO
    # ...but it is remembered, for the audio part to copy it out
    assert (info.cover_art_index, info.cover_art_codec) == (cover["index"], "mjpeg")
    assert MediaInfo.from_dict(info.to_dict()) == info


@pytest.mark.parametrize(
    ("format_name", "streams", "kind"),
    [
        ("mov,mp4,m4a,3gp,3g2,mj2", [PHONE_VIDEO, STEREO], MediaKind.VIDEO),
        ("png_pipe", [{**PHONE_VIDEO, "codec_name": "png", "side_data_list": []}], MediaKind.IMAGE),
        ("wav", [STEREO], MediaKind.AUDIO),
    ],
)
def test_classify_by_content(format_name: str, streams: list[dict], kind: MediaKind) -> None:
    assert classify(parse_probe(probe_json(streams, format_name=format_name))) is kind


def test_no_streams_is_a_permanent_failure_with_reason() -> None:
    with pytest.raises(NoStreamsError) as e:
        classify(parse_probe(probe_json([{"index": 0, "codec_type": "data"}])))
    assert e.value.reason is ReasonCode.NO_STREAMS


def test_round_trip_through_dict() -> None:
    info = parse_probe(probe_json([PHONE_VIDEO, STEREO]))
    assert MediaInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"size": "1001"}, ReasonCode.TOO_LARGE),
        ({"duration": "61"}, ReasonCode.TOO_LONG),
    ],
)
def test_limits(overrides: dict, reason: ReasonCode) -> None:
    info = parse_probe(probe_json([STEREO], **overrides))
    with pytest.raises(LimitExceededError) as e:
        check_limits(info, MediaKind.AUDIO, LIMITS)
    assert e.value.reason is reason


def test_pixel_limit_counts_every_video_stream() -> None:
    big = {**PHONE_VIDEO, "index": 2, "width": 4000, "height": 3000}
    info = parse_probe(probe_json([PHONE_VIDEO, big]))
    with pytest.raises(LimitExceededError) as e:
        check_limits(info, MediaKind.VIDEO, LIMITS)
    assert e.value.reason is ReasonCode.TOO_MANY_PIXELS
    assert "4000x3000" in e.value.message


def test_media_without_duration_is_corrupt_but_images_need_none() -> None:
    info = parse_probe(probe_json([STEREO], duration="N/A"))
    with pytest.raises(CorruptInputError):
        check_limits(info, MediaKind.AUDIO, LIMITS)
    check_limits(info, MediaKind.IMAGE, LIMITS)


def test_within_limits_passes() -> None:
    check_limits(parse_probe(probe_json([PHONE_VIDEO, STEREO])), MediaKind.VIDEO, LIMITS)


@pytest.mark.parametrize(
    ("stderr", "kind", "needle"),
    [
        ("x.mp4: Invalid data found when processing input", UnsupportedMediaError, "not a video"),
        ("[hls @ 0x1] Format not on whitelist 'mov'", UnsupportedMediaError, "playlists"),
        ("[mov @ 0x1] stream 0, offset 0x30: partial file", CorruptInputError, "truncated"),
    ],
)
def test_probe_failures_become_sentences(stderr: str, kind: type, needle: str) -> None:
    error = explain_probe_failure(stderr)
    assert isinstance(error, kind)
    assert needle in error.message


def test_ffprobe_args_whitelist_protocols_and_demuxers_before_the_input() -> None:
    args = build_ffprobe_args("/opt/bin/ffprobe", "https://bucket.s3/x?sig=1")
    assert args[0] == "/opt/bin/ffprobe"
    assert args[-1] == "https://bucket.s3/x?sig=1"
    protocols = args[args.index("-protocol_whitelist") + 1].split(",")
    assert "file" not in protocols
    assert set(protocols) == {"http", "https", "tcp", "tls"}
    demuxers = args[args.index("-format_whitelist") + 1].split(",")
    for dangerous in ("hls", "concat", "image2", "sdp", "ffmetadata", "tty"):
        assert dangerous not in demuxers
    assert "mov" in demuxers


def test_missing_moov_is_corrupt_only_for_real_mp4_bytes() -> None:
    stderr = "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] moov atom not found"
    damaged = explain_probe_failure(stderr, b"\x00\x00\x00\x20ftypisom")
    assert isinstance(damaged, CorruptInputError)
    assert "moov" in damaged.message
    assert isinstance(explain_probe_failure(stderr, b"Meeting notes"), UnsupportedMediaError)


def test_decoder_outside_the_allow_list_is_named() -> None:
    error = explain_probe_failure("[h264 @ 0x1] Codec (h264) not on whitelist 'aac'")
    assert isinstance(error, UnsupportedMediaError)
    assert "h264 codec" in error.message


def test_ffprobe_args_carry_the_decoder_allow_list() -> None:
    args = build_ffprobe_args("ffprobe", "http://127.0.0.1:1/x")
    decoders = args[args.index("-codec_whitelist") + 1].split(",")
    assert {"h264", "aac", "png"} <= set(decoders)
    assert args.index("-codec_whitelist") < args.index("http://127.0.0.1:1/x")


HDR_10BIT = {
    **PHONE_VIDEO,
    "codec_name": "hevc",
    "level": 153,
    "pix_fmt": "yuv420p10le",
    "color_primaries": "bt2020",
    "color_transfer": "smpte2084",
    "color_space": "bt2020nc",
    "field_order": "progressive",
    "sample_aspect_ratio": "1:1",
    "display_aspect_ratio": "16:9",
    "avg_frame_rate": "25/1",
    "r_frame_rate": "25/1",
}


def test_hdr_bit_depth_level_and_aspect() -> None:
    v = parse_probe(probe_json([HDR_10BIT])).primary_video
    assert v is not None
    assert (v.bit_depth, v.level, v.hdr_format, v.is_hdr) == (10, 153, "PQ", True)
    assert (v.sample_aspect_ratio, v.display_aspect_ratio) == ("1:1", "16:9")
    assert not v.is_interlaced
    assert not v.is_vfr


@pytest.mark.parametrize(
    ("overrides", "check"),
    [
        ({"color_transfer": "arib-std-b67"}, lambda v: v.hdr_format == "HLG"),
        ({"color_transfer": "bt709"}, lambda v: not v.is_hdr),
        ({"field_order": "tt"}, lambda v: v.is_interlaced),
        ({"avg_frame_rate": "2997/125", "r_frame_rate": "30/1"}, lambda v: v.is_vfr),
        ({"pix_fmt": "yuv420p", "bits_per_raw_sample": "12"}, lambda v: v.bit_depth == 12),
        ({"pix_fmt": "yuv420p"}, lambda v: v.bit_depth == 8),
    ],
)
def test_video_flags(overrides: dict, check) -> None:
    v = parse_probe(probe_json([{**HDR_10BIT, **overrides}])).primary_video
    assert v is not None
    assert check(v)


def test_subtitles_and_audio_bit_rate() -> None:
    sub = {"index": 2, "codec_type": "subtitle", "codec_name": "subrip",
           "tags": {"language": "fra", "title": "Français"}}  # fmt: skip
    info = parse_probe(probe_json([PHONE_VIDEO, {**STEREO, "bit_rate": "128000"}, sub]))
    [s] = info.subtitles
    assert (s.codec, s.language, s.title) == ("subrip", "fra", "Français")
    assert info.primary_audio is not None
    assert info.primary_audio.bit_rate == 128000
    assert MediaInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info


def test_records_written_by_the_spine_still_load() -> None:
    old = {"format_name": "mov", "duration": 1.0, "size": 1, "bit_rate": 1, "stream_count": 1,
           "video": [{"index": 0, "codec": "h264", "width": 2, "height": 2, "profile": None,
                      "pix_fmt": None, "frame_rate": 25, "rotation": 0}], "audio": []}  # fmt: skip
    info = MediaInfo.from_dict(old)
    assert info.primary_video is not None
    assert info.primary_video.bit_depth is None
    assert info.subtitles == ()
