import pytest
from lumiere.errors import InvalidRequestError
from lumiere.media.ladder import h264_level, load_preset, plan_ladder, preset_names
from lumiere.media.probe import AudioStream, MediaInfo, VideoStream

PRESET = load_preset("default")


def source(
    width: int,
    height: int,
    fps: float | None = 25.0,
    rotation: int = 0,
    sar: str | None = None,
) -> MediaInfo:
    return MediaInfo(
        format_name="mov",
        duration=10.0,
        size=1,
        bit_rate=1,
        video=(
            VideoStream(
                0, "h264", width, height, frame_rate=fps, rotation=rotation, sample_aspect_ratio=sar
            ),
        ),
        audio=(AudioStream(1, "aac", 2, 48000),),
        stream_count=2,
    )


def shape(info: MediaInfo) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in plan_ladder(info, PRESET)]


def test_1080p_source_gets_five_rungs_down_to_240p() -> None:
    assert shape(source(1920, 1080)) == [
        ("1080p", 1920, 1080),
        ("720p", 1280, 720),
        ("540p", 960, 540),
        ("360p", 640, 360),
        ("240p", 426, 240),
    ]


def test_4k_source_adds_2160p_and_1440p() -> None:
    names = [n for n, _, _ in shape(source(3840, 2160))]
    assert names == ["2160p", "1440p", "1080p", "720p", "540p", "360p", "240p"]


def test_never_upscales_320x240() -> None:
    ladder = plan_ladder(source(320, 240), PRESET)
    assert all(r.width <= 320 and r.height <= 240 for r in ladder)
    assert [(r.name, r.width, r.height) for r in ladder] == [("240p", 320, 240)]


def test_tiny_source_gets_one_rendition_at_its_own_even_size() -> None:
    assert shape(source(175, 99)) == [("100p", 176, 100)]


def test_source_well_between_rungs_also_gets_a_native_rung() -> None:
    # 1000 lines is 39% above 720p: dropping to 720p would throw away detail.
    assert shape(source(1776, 1000))[:2] == [("1000p", 1776, 1000), ("720p", 1278, 720)]
    # 760 lines is within 15% of 720p: no near-duplicate rung.
    assert shape(source(1350, 760))[0] == ("720p", 1278, 720)


def test_portrait_phone_video_through_rotation_stays_portrait() -> None:
    assert shape(source(1920, 1080, rotation=90))[:3] == [
        ("1080p", 1080, 1920),
        ("720p", 720, 1280),
        ("540p", 540, 960),
    ]
    assert all(w < h for _, w, h in shape(source(1920, 1080, rotation=270)))


def test_anamorphic_pixels_are_made_square() -> None:
    # DVD PAL 16:9: 720x576 stored, 1024x576 shown; 576 is within 15% of 540p.
    top = plan_ladder(source(720, 576, sar="64:45"), PRESET)[0]
    assert (top.name, top.width, top.height) == ("540p", 960, 540)
    square = plan_ladder(source(720, 576), PRESET)[0]
    assert (square.width, square.height) == (676, 540)


def test_dimensions_are_even_and_aspect_is_kept() -> None:
    for r in plan_ladder(source(1440, 1080), PRESET):  # 4:3
        assert r.width % 2 == 0
        assert r.height % 2 == 0
        assert r.width / r.height == pytest.approx(4 / 3, rel=0.01)


def test_frame_rate_capped_at_60_and_halved_on_small_rungs() -> None:
    rates = {r.name: r.frame_rate for r in plan_ladder(source(1920, 1080, fps=120.0), PRESET)}
    assert rates == {"1080p": 60.0, "720p": 60.0, "540p": 60.0, "360p": 30.0, "240p": 30.0}
    ntsc = {r.frame_rate for r in plan_ladder(source(1280, 720, fps=59.94), PRESET)}
    assert ntsc == {59.94, 29.97}
    film = {r.frame_rate for r in plan_ladder(source(1280, 720, fps=23.976), PRESET)}
    assert film == {23.976}


def test_bitrate_caps_scale_with_pixels_and_frame_rate() -> None:
    at30 = {r.name: r.max_kbps for r in plan_ladder(source(1920, 1080, fps=30.0), PRESET)}
    at60 = {r.name: r.max_kbps for r in plan_ladder(source(1920, 1080, fps=60.0), PRESET)}
    assert at30["1080p"] == PRESET.reference_kbps
    assert list(at30.values()) == sorted(at30.values(), reverse=True)
    assert at60["1080p"] == pytest.approx(at30["1080p"] * 2**PRESET.bitrate_exponent, rel=0.01)
    assert at30["720p"] < at30["1080p"] * 1280 * 720 / (1920 * 1080) * 1.3


def test_h264_level_fits_the_rung() -> None:
    assert h264_level(1920, 1080, 30.0, 6000) == "4.0"
    assert h264_level(1920, 1080, 60.0, 10000) == "4.2"
    assert h264_level(3840, 2160, 30.0, 20000) == "5.1"
    assert h264_level(640, 360, 30.0, 1000) == "3.0"
    assert h264_level(1920, 1080, 30.0, 30000) == "4.1"  # bit rate, not size, decides


def test_audio_only_source_has_no_video_ladder() -> None:
    info = MediaInfo("wav", 3.0, 1, 1, audio=(AudioStream(0, "pcm_s16le", 2, 44100),))
    assert plan_ladder(info, PRESET) == []


def test_presets_are_data_and_can_extend_each_other() -> None:
    assert {"default", "download", "vp9", "voice"} <= set(preset_names())
    vp9, download, voice = load_preset("vp9"), load_preset("download"), load_preset("voice")
    assert vp9.video.codec == "vp9"
    assert vp9.rungs == PRESET.rungs
    assert download.download
    assert not PRESET.download
    assert voice.audio.denoise
    assert voice.audio.bitrate_kbps == 96
    assert voice.audio.loudness == PRESET.audio.loudness


@pytest.mark.parametrize("name", ["nope", "../etc/passwd", "default.json", ""])
def test_unknown_or_hostile_preset_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidRequestError):
        load_preset(name)
