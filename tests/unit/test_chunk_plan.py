"""The chunked plan: whole-frame chunks on the segment grid, one part per (group x chunk),
and the task budget measured against a chunk instead of the whole film."""

from fractions import Fraction

import pytest
from lumiere.config import Settings
from lumiere.errors import LimitExceededError
from lumiere.media.commands import FrameSpan
from lumiere.media.ladder import load_preset, plan_ladder
from lumiere.media.probe import AudioStream, MediaInfo, MediaKind, VideoStream
from lumiere.pipeline.plan import (
    STORYBOARD,
    ChunkPolicy,
    Part,
    TaskBudget,
    exact_frame_rate,
    plan_chunks,
    plan_parts,
)

PRESET = load_preset("default")
POLICY = ChunkPolicy(threshold_seconds=900, chunk_seconds=120, segment_seconds=4)
BUDGET = TaskBudget(seconds=720.0, pixel_rate=110e6)


def film(minutes: float, rate: float = 30.0, *, vfr: bool = False, size=(1920, 1080)) -> MediaInfo:
    video = VideoStream(
        0, "h264", *size, frame_rate=rate, avg_frame_rate=rate,
        real_frame_rate=rate * (1.5 if vfr else 1.0),
    )  # fmt: skip
    return MediaInfo(
        "mov", minutes * 60, 1, 1, video=(video,), audio=(AudioStream(1, "aac", 2, 48000),)
    )


@pytest.mark.parametrize(
    ("rate", "exact"),
    [
        (29.97002997, Fraction(30000, 1001)),
        (29.97, Fraction(30000, 1001)),
        (23.976, Fraction(24000, 1001)),
        (59.94, Fraction(60000, 1001)),
        (25.0, Fraction(25)),
        (30.0, Fraction(30)),
        (12.5, Fraction(25, 2)),
    ],
)
def test_probed_rates_map_to_their_exact_fractions(rate: float, exact: Fraction) -> None:
    assert exact_frame_rate(rate) == exact


def test_25_fps_chunks_are_exact_and_the_last_runs_to_the_end() -> None:
    chunks = plan_chunks(1000.0, Fraction(25), POLICY)
    assert len(chunks) == 9  # 8 x 120 s, then 40 s
    assert [c.first_frame for c in chunks] == [k * 3000 for k in range(9)]
    assert all(c.frame_count == 3000 for c in chunks[:-1])
    assert chunks[-1].frame_count is None
    assert chunks[-1].end is None
    assert chunks[3].start == 360
    assert chunks[3].end == 480
    assert all(c.segments == 30 for c in chunks)


def test_ntsc_chunks_are_whole_frames_and_keep_whole_segments() -> None:
    """120 s at 30000/1001 is 3596.4 frames: 3596 per chunk (119.986 s). Each chunk's
    start is a frame boundary; each full chunk still ends within a frame of 120 s, so
    it holds exactly 30 segments on its own 4 s grid."""
    fps = Fraction(30000, 1001)
    chunks = plan_chunks(3600.0, fps, POLICY)
    assert chunks[1].first_frame == 3596
    assert chunks[1].start == Fraction(3596 * 1001, 30000)
    for c in chunks[:-1]:
        assert c.frame_count == 3596
        last_frame = (c.frame_count - 1) / fps
        # the keyframe for segment 29 (at >= 116 s) exists; none for a 31st (>= 120 s)
        assert 116 <= last_frame < 120
    # rounding N moves each chunk's length by at most half a frame (here 0.4 frame short),
    # so starts drift from the 120 s grid by that much per chunk: segments stay on each
    # chunk's own grid, and the DASH timeline and playlists list their true times
    assert all(abs(c.start - 120 * c.index) <= c.index / (2 * fps) for c in chunks)
    assert chunks[-1].start < 120 * chunks[-1].index


def test_a_last_piece_shorter_than_a_segment_joins_the_chunk_before() -> None:
    exact = plan_chunks(480.0, Fraction(25), POLICY)
    assert len(exact) == 4
    sliver = plan_chunks(482.0, Fraction(25), POLICY)  # 2 s past four chunks
    assert len(sliver) == 4
    assert sliver[-1].frame_count is None
    longer = plan_chunks(485.0, Fraction(25), POLICY)  # 5 s: a chunk of its own
    assert len(longer) == 5


def test_only_long_constant_rate_video_is_chunked() -> None:
    def chunked(info: MediaInfo) -> bool:
        parts = plan_parts(info, MediaKind.VIDEO, PRESET, 1, BUDGET, chunking=POLICY)
        return any(p.chunk is not None for p in parts)

    assert not chunked(film(15))  # at the threshold: whole
    assert chunked(film(15.1))
    assert not chunked(film(60, vfr=True))  # no frame count maps to a time
    assert not chunked(film(60, rate=0.0))
    no_policy = plan_parts(film(60), MediaKind.VIDEO, PRESET, 1, BUDGET)
    assert all(p.chunk is None for p in no_policy)


def test_chunked_plan_has_a_part_per_group_and_chunk_and_round_trips() -> None:
    parts = plan_parts(film(20), MediaKind.VIDEO, PRESET, 2, BUDGET, chunking=POLICY)
    video = [p for p in parts if p.kind == "video"]
    groups = {p.rungs for p in video}
    assert len(groups) == 2
    assert len(video) == 2 * 10
    assert {p.name for p in video} == {
        "video-" + "-".join(g) + f"-c{k:03d}" for g in groups for k in range(10)
    }
    # the storyboard needs the whole timeline: the previews part makes it
    previews = next(p for p in parts if p.kind == "previews")
    assert previews.extras == (STORYBOARD,)
    assert all(STORYBOARD not in p.extras for p in video)
    assert [p.name for p in parts if p.kind not in ("video", "previews")] == ["audio"]
    for p in video:
        assert Part.from_dict(p.to_dict()) == p
    # each chunk's weight is its share of its group's cost
    by_group = [p for p in video if p.rungs == video[0].rungs]
    assert by_group[0].weight == pytest.approx(by_group[-1].weight, rel=0.02)


def test_chunking_lifts_the_one_task_limits() -> None:
    """Whole, a 10-minute 4K film loses its 2160p rung and a 10-hour film is refused;
    in 2-minute chunks each task has 2 minutes of work, so both keep the full ladder."""
    four_k = film(10, size=(3840, 2160))
    whole = plan_parts(four_k, MediaKind.VIDEO, PRESET, 1, BUDGET)
    assert "2160p" not in {r for p in whole for r in p.rungs}
    four_k_long = film(16, size=(3840, 2160))
    chunked = plan_parts(four_k_long, MediaKind.VIDEO, PRESET, 1, BUDGET, chunking=POLICY)
    assert "2160p" in {r for p in chunked for r in p.rungs}
    ladder = {r.name: r for r in plan_ladder(four_k_long, PRESET)}
    for p in chunked:
        if p.chunk is not None:
            assert BUDGET.encode_seconds([ladder[n] for n in p.rungs], 120) <= BUDGET.seconds

    ten_hours = film(600)
    with pytest.raises(LimitExceededError):
        plan_parts(ten_hours, MediaKind.VIDEO, PRESET, 1, BUDGET)
    parts = plan_parts(ten_hours, MediaKind.VIDEO, PRESET, 1, BUDGET, chunking=POLICY)
    assert {r for p in parts for r in p.rungs} == {"1080p", "720p", "540p", "360p", "240p"}
    assert len([p for p in parts if p.kind == "video"]) == 300


def test_chunk_length_must_be_whole_segments() -> None:
    with pytest.raises(ValueError, match="whole number of segments"):
        ChunkPolicy(threshold_seconds=900, chunk_seconds=10, segment_seconds=4)
    with pytest.raises(ValueError, match="multiple of SEGMENT_SECONDS"):
        Settings.from_env({"CHUNK_SECONDS": "90", "SEGMENT_SECONDS": "4"})
    settings = Settings.from_env({"CHUNK_SECONDS": "60", "CHUNK_THRESHOLD_SECONDS": "300"})
    assert (settings.chunk_seconds, settings.chunk_threshold_seconds) == (60.0, 300.0)


def test_a_chunk_is_trimmed_on_half_frame_bounds_of_the_source_timestamps() -> None:
    fps = Fraction(30000, 1001)
    span = FrameSpan(first=3596, count=3596, fps=fps, origin=1.4)
    half = 1001 / 60000
    bounds = span.trim()
    assert bounds["start"] == pytest.approx(1.4 + 3596 * 1001 / 30000 - half, abs=1e-9)
    assert bounds["end"] == pytest.approx(1.4 + 7192 * 1001 / 30000 - half, abs=1e-9)
    assert span.seek() == pytest.approx(3596 * 1001 / 30000 - 1.0)
    assert "end" not in FrameSpan(first=7192, count=None, fps=fps).trim()
    assert FrameSpan(first=0, count=10, fps=fps).seek() == 0.0


def test_a_59_94_fps_film_with_half_rate_rungs_gets_an_even_chunk_length() -> None:
    """Its 360p and 240p run at 29.97: a chunk must start on one of their frames too, so
    N is even, rounded down so the chunk never reaches its 31st segment."""
    fps = Fraction(60000, 1001)
    assert plan_chunks(3600.0, fps, POLICY)[0].frame_count == 7193  # round(7192.8)
    even = plan_chunks(3600.0, fps, POLICY, multiple=2)[0].frame_count
    assert even == 7192
    parts = plan_parts(film(20, rate=59.94), MediaKind.VIDEO, PRESET, 1, BUDGET, chunking=POLICY)
    chunks = [p.chunk for p in parts if p.chunk is not None]
    assert {c.frame_count for c in chunks[:-1]} == {7192}
    # at 60 fps exactly 120 s is already even
    parts = plan_parts(film(20, rate=60.0), MediaKind.VIDEO, PRESET, 1, BUDGET, chunking=POLICY)
    assert {p.chunk.frame_count for p in parts if p.chunk is not None} - {None} == {7200}
