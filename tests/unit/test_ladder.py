import pytest
from lumiere.errors import InvalidRequestError
from lumiere.media.ladder import load_preset, plan_ladder
from lumiere.media.probe import AudioStream, MediaInfo, VideoStream

PRESET = load_preset("default")


def source(width: int, height: int, fps: float | None = 25.0, rotation: int = 0) -> MediaInfo:
    return MediaInfo(
        format_name="mov",
        duration=10.0,
        size=1,
        bit_rate=1,
        video=(VideoStream(0, "h264", width, height, frame_rate=fps, rotation=rotation),),
        audio=(AudioStream(1, "aac", 2, 48000),),
        stream_count=2,
    )


def test_top_two_rungs_the_source_fills() -> None:
    ladder = plan_ladder(source(1920, 1080), PRESET)
    assert [(r.name, r.width, r.height) for r in ladder] == [
        ("1080p", 1920, 1080),
        ("720p", 1280, 720),
    ]
    assert ladder[0].audio is not None


def test_never_upscales() -> None:
    ladder = plan_ladder(source(640, 360), PRESET)
    assert [r.name for r in ladder] == ["360p", "240p"]
    assert all(r.height <= 360 for r in ladder)


def test_tiny_source_gets_one_rendition_at_its_own_even_size() -> None:
    ladder = plan_ladder(source(175, 99), PRESET)
    assert [(r.width, r.height) for r in ladder] == [(176, 100)]


def test_portrait_through_rotation_keeps_orientation_and_rung_names() -> None:
    ladder = plan_ladder(source(1920, 1080, rotation=90), PRESET)
    assert [(r.name, r.width, r.height) for r in ladder] == [
        ("1080p", 1080, 1920),
        ("720p", 720, 1280),
    ]


def test_dimensions_are_even_and_aspect_is_kept() -> None:
    for r in plan_ladder(source(1440, 1080), PRESET):  # 4:3
        assert r.width % 2 == 0
        assert r.height % 2 == 0
        assert r.width / r.height == pytest.approx(4 / 3, rel=0.01)


def test_frame_rate_capped_at_preset_maximum() -> None:
    assert {r.frame_rate for r in plan_ladder(source(1280, 720, fps=120.0), PRESET)} == {60.0}
    assert {r.frame_rate for r in plan_ladder(source(1280, 720, fps=23.976), PRESET)} == {23.976}


def test_audio_only_source_has_no_video_ladder() -> None:
    info = MediaInfo("wav", 3.0, 1, 1, audio=(AudioStream(0, "pcm_s16le", 2, 44100),))
    assert plan_ladder(info, PRESET) == []


def test_video_without_audio_has_no_audio_in_renditions() -> None:
    info = MediaInfo("mov", 3.0, 1, 1, video=(VideoStream(0, "h264", 640, 360),))
    assert all(r.audio is None for r in plan_ladder(info, PRESET))


@pytest.mark.parametrize("name", ["nope", "../etc/passwd", "default.json"])
def test_unknown_or_hostile_preset_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidRequestError):
        load_preset(name)
