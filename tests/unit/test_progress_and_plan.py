import pytest
from lumiere.errors import LimitExceededError
from lumiere.media.audio import language_tag, plan_audio_tracks
from lumiere.media.ladder import load_preset, plan_ladder
from lumiere.media.probe import AudioStream, MediaInfo, MediaKind, VideoStream
from lumiere.media.progress import ProgressMeter
from lumiere.pipeline.plan import TaskBudget, group_rungs, overall_progress, plan_parts

PRESET = load_preset("default")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_throttled_monotonic_and_ends_at_the_end() -> None:
    reports: list[int] = []
    clock = Clock()
    meter = ProgressMeter(10.0, reports.append, min_interval=2.0, start=0, end=99, clock=clock)
    for t, line in [
        (0.0, "out_time_us=N/A"),
        (0.5, "out_time_us=1000000"),  # 10%: first report
        (1.0, "out_time_us=2000000"),  # throttled
        (3.0, "out_time_us=3000000"),  # 30%
        (3.1, "frame=90"),  # other keys are ignored
        (6.0, "out_time_us=2500000"),  # never backwards
        (9.0, "out_time_us=99000000"),  # past the end: clamped
        (9.1, "progress=end"),
    ]:
        clock.now = t
        meter.feed(line)
    assert reports == [9, 29, 99]


def test_progress_without_a_duration_only_reports_the_end() -> None:
    reports: list[int] = []
    meter = ProgressMeter(None, reports.append, min_interval=0.0, start=40, end=80)
    meter.feed("out_time_us=5000000")
    meter.feed("progress=end")
    assert reports == [80]


def test_overall_progress_weights_parts_by_their_work() -> None:
    parts = {"video": {"weight": 90.0}, "audio": {"weight": 5.0}, "poster": {"weight": 5.0}}
    assert overall_progress(parts, {}) == 0
    assert overall_progress(parts, {"video": 50}) == 45
    assert overall_progress(parts, {"video": 100, "audio": 100, "poster": 100}) == 100
    assert overall_progress(None, {"video": 50}) is None


def video_info(width: int = 1920, height: int = 1080, tracks: int = 1) -> MediaInfo:
    audio = tuple(AudioStream(1 + i, "aac", 2, 48000, language=lang)
                  for i, lang in enumerate(["eng", "fre", "xx1"][:tracks]))  # fmt: skip
    return MediaInfo(
        "mov", 60.0, 1, 1, video=(VideoStream(0, "h264", width, height, frame_rate=30.0),),
        audio=audio,
    )  # fmt: skip


def test_one_video_task_holds_every_rung_then_audio_then_previews() -> None:
    parts = plan_parts(video_info(), MediaKind.VIDEO, PRESET, video_tasks=1)
    assert [(p.name, p.kind) for p in parts] == [
        ("video-1080p-720p-540p-360p-240p", "video"),
        ("audio", "audio"),
        ("previews", "previews"),
    ]
    assert parts[0].weight > 10 * parts[1].weight > 0
    assert parts[0].extras == ("storyboard",)  # from the ladder's decode, not its own


def test_rungs_split_into_balanced_groups() -> None:
    parts = plan_parts(video_info(), MediaKind.VIDEO, PRESET, video_tasks=2)
    assert [p.rungs for p in parts if p.kind == "video"] == [
        ("1080p",),
        ("720p", "540p", "360p", "240p"),
    ]
    # More tasks than rungs: one rung each, never an empty task.
    per_rung = plan_parts(video_info(), MediaKind.VIDEO, PRESET, video_tasks=99)
    assert len([p for p in per_rung if p.kind == "video"]) == 5


def test_group_rungs_balances_by_pixel_rate() -> None:
    ladder = plan_ladder(video_info(3840, 2160), PRESET)
    groups = group_rungs(ladder, 3)
    loads = sorted(sum(r.pixel_rate for r in g) for g in groups)
    assert len(groups) == 3
    assert sorted(r.name for g in groups for r in g) == sorted(r.name for r in ladder)
    assert loads[-1] == max(r.pixel_rate for r in ladder)  # 2160p alone is the heaviest


def test_audio_only_and_images() -> None:
    audio_only = MediaInfo("wav", 3.0, 1, 1, audio=(AudioStream(0, "pcm_s16le", 2, 44100),))
    assert [p.name for p in plan_parts(audio_only, MediaKind.AUDIO, PRESET, 1)] == ["audio"]
    assert [p.name for p in plan_parts(audio_only, MediaKind.IMAGE, PRESET, 1)] == ["image"]
    silent = MediaInfo("mov", 3.0, 1, 1, video=(VideoStream(0, "h264", 320, 240),))
    assert [p.kind for p in plan_parts(silent, MediaKind.VIDEO, PRESET, 1)] == ["video", "previews"]


def test_every_audio_track_is_a_labelled_rendition() -> None:
    tracks = plan_audio_tracks(video_info(tracks=3))
    assert [(t.language, t.name, t.default, t.dirname) for t in tracks] == [
        ("en", "English", True, "a_1_en"),
        ("fr", "French", False, "a_2_fr"),
        ("und", "Audio 3", False, "a_3_und"),
    ]
    assert language_tag("GER") == ("de", "German")
    assert language_tag("tlh") == ("tlh", None)  # unknown but well formed: kept
    assert language_tag("../x") == ("und", None)


def long_video(width: int, height: int, minutes: float) -> MediaInfo:
    return MediaInfo(
        "mov", minutes * 60, 1, 1,
        video=(VideoStream(0, "h264", width, height, frame_rate=30.0),),
        audio=(AudioStream(1, "aac", 2, 48000),),
    )  # fmt: skip


BUDGET = TaskBudget(seconds=720.0, pixel_rate=110e6)


def video_parts(info: MediaInfo, tasks: int = 1) -> list[tuple[str, ...]]:
    parts = plan_parts(info, MediaKind.VIDEO, PRESET, tasks, BUDGET)
    return [p.rungs for p in parts if p.kind == "video"]


def test_short_videos_keep_one_task() -> None:
    assert video_parts(long_video(1920, 1080, 0.5)) == [("1080p", "720p", "540p", "360p", "240p")]
    assert len(video_parts(long_video(1920, 1080, 10))) == 1  # ~630 s of work: fits


def test_longer_videos_are_split_so_each_task_finishes_in_time() -> None:
    groups = video_parts(long_video(1920, 1080, 13))  # ~820 s of work
    assert len(groups) == 2
    info = long_video(1920, 1080, 13)
    ladder = {r.name: r for r in plan_ladder(info, PRESET)}
    for group in groups:
        assert BUDGET.encode_seconds([ladder[n] for n in group], 13 * 60) <= BUDGET.seconds


def test_rungs_no_task_could_finish_are_left_out_not_timed_out() -> None:
    # a 10-minute 4K film: 2160p alone would need ~22 minutes, 1440p ~9
    groups = video_parts(long_video(3840, 2160, 10))
    assert "2160p" not in [n for g in groups for n in g]
    assert groups[0][0] == "1440p"  # the top rung now
    ladder = {r.name: r for r in plan_ladder(long_video(3840, 2160, 10), PRESET)}
    for group in groups:
        assert BUDGET.encode_seconds([ladder[n] for n in group], 600) <= BUDGET.seconds


def test_far_too_long_is_refused_with_a_reason() -> None:
    with pytest.raises(LimitExceededError) as e:
        video_parts(long_video(1920, 1080, 600))  # ten hours: not even 240p fits
    assert e.value.reason.value == "too_long"
    assert "minutes" in e.value.message


def test_analysis_is_a_part_of_its_own_when_asked_for() -> None:
    parts = plan_parts(video_info(), MediaKind.VIDEO, PRESET, 1, analysis=True)
    assert [p.kind for p in parts] == ["video", "audio", "previews", "analysis"]
    assert parts[0].weight > 10 * parts[-1].weight > 0  # a few percent of the ladder
    audio_only = MediaInfo("wav", 3.0, 1, 1, audio=(AudioStream(0, "pcm_s16le", 2, 44100),))
    assert [p.name for p in plan_parts(audio_only, MediaKind.AUDIO, PRESET, 1, analysis=True)] == [
        "audio",
        "analysis",
    ]
    image = plan_parts(audio_only, MediaKind.IMAGE, PRESET, 1, analysis=True)
    assert [p.name for p in image] == ["image", "analysis"]
    assert "analysis" not in [p.name for p in plan_parts(video_info(), MediaKind.VIDEO, PRESET, 1)]
