"""Preview builders and their pure helpers: storyboard plan and VTT, waveform peaks,
black-poster detection. The real-ffmpeg side is in integration/test_previews_real.py."""

from __future__ import annotations

import io
import itertools
import math
import re
import struct
from pathlib import Path

import pytest
from lumiere.media.blackframe import is_mostly_black, poster_seek_candidates
from lumiere.media.commands import (
    STORYBOARD_FILES,
    build_animated_preview_args,
    build_cover_art_args,
    build_storyboard_args,
    build_waveform_pcm_args,
    poster_seek_seconds,
    preview_clips,
)
from lumiere.media.safety import input_guard_options
from lumiere.media.storyboard import (
    MAX_THUMBNAILS,
    STORYBOARD_PATTERN,
    Storyboard,
    plan_storyboard,
    sheet_names,
    storyboard_cues,
    storyboard_interval,
    storyboard_vtt,
    thumbnail_count,
    tile_size,
    vtt_timestamp,
)
from lumiere.media.waveform import (
    PeakAccumulator,
    Peaks,
    compute_peaks,
    render_waveform_png,
    samples_per_pixel_for,
)
from PIL import Image

URL = "http://127.0.0.1:1/up/x.mp4?X-Amz-Signature=a&b=c"
HEAD = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
GUARD = [a for k, v in input_guard_options().items() for a in (f"-{k}", v)]


def _filter_graph(args: list[str]) -> str:
    return args[args.index("-filter_complex") + 1]


def _inputs(args: list[str]) -> list[list[str]]:
    """The options of each input other than the guards (ffmpeg-python sorts them), with
    its ``-i URL``: the guards are checked once, here."""
    chunks, start = [], len(HEAD)
    for i, a in enumerate(args):
        if a == "-i":
            chunk = args[start : i + 2]
            assert all(g in chunk for g in GUARD[::2])
            chunks.append([a for n, a in enumerate(chunk) if not _guard_at(chunk, n)])
            start = i + 2
    return chunks


def _guard_at(chunk: list[str], n: int) -> bool:
    return chunk[n] in GUARD[::2] or (n > 0 and chunk[n - 1] in GUARD[::2])


# --- storyboard: interval and layout ---


@pytest.mark.parametrize(
    ("duration", "interval"),
    [
        (None, 1),
        (0.4, 1),
        (3.0, 1),
        (200.0, 1),
        (200.5, 2),
        (600.0, 5),
        (3600.0, 20),
        (2 * 3600.0, 60),
        (4 * 3600.0, 90),
        (200 * 600.0, 600),
        (200 * 600.0 + 1, 660),
    ],
)
def test_interval_is_the_smallest_round_one_within_the_cap(
    duration: float | None, interval: float
) -> None:
    assert storyboard_interval(duration) == interval
    if duration:
        assert math.ceil(duration / interval) <= MAX_THUMBNAILS


@pytest.mark.parametrize(
    ("duration", "interval", "count"),
    [
        (3.0, 1, 3),  # thumbnails at 0, 1, 2
        (3.5, 1, 4),
        (3.05, 1, 3),  # a 50 ms last interval gets no thumbnail; the cue before stretches
        (0.04, 1, 1),  # one frame still gives one thumbnail
        (21.0, 2, 11),
        (7200.0, 60, 120),
    ],
)
def test_thumbnail_count(duration: float, interval: float, count: int) -> None:
    assert thumbnail_count(duration, interval) == count
    assert (count - 1) * interval < duration  # the last thumbnail starts before the end


@pytest.mark.parametrize(
    ("display", "sar", "tile"),
    [
        ((1920, 1080), None, (160, 90)),
        ((1080, 1920), None, (160, 284)),  # portrait: 284.4 rounded to even
        ((720, 576), "64:45", (160, 90)),  # PAL 16:9 anamorphic: wide pixels
        ((320, 180), "1:1", (160, 90)),
        ((100, 1), None, (160, 2)),  # never below 2
    ],
)
def test_tile_size_keeps_the_aspect_with_an_even_height(
    display: tuple[int, int], sar: str | None, tile: tuple[int, int]
) -> None:
    assert tile_size(*display, 160, sar) == tile


def test_sheet_names_follow_the_ffmpeg_pattern() -> None:
    assert STORYBOARD_FILES == STORYBOARD_PATTERN
    assert sheet_names(100, 10, 10) == ["storyboard_001.jpg"]
    assert sheet_names(101, 10, 10) == ["storyboard_001.jpg", "storyboard_002.jpg"]


def test_storyboard_args_are_exact() -> None:
    args = build_storyboard_args(
        "ffmpeg",
        URL,
        Path("/w/sb"),
        interval=2,
        tile_width=160,
        columns=10,
        rows=10,
        count=11,
        tile_height=90,
    )
    assert args == [
        *HEAD,
        *GUARD,
        "-i",
        URL,
        "-filter_complex",
        "[0:v:0]fps=1/2[s0];[s0]tpad=stop=11:stop_mode=clone[s1];[s1]trim=end_frame=11[s2];"
        "[s2]scale=160:90[s3];[s3]setsar=1[s4];[s4]tile=10x10[s5]",
        "-map",
        "[s5]",
        "-f",
        "image2",
        "-q:v",
        "5",
        "-start_number",
        "1",
        "/w/sb/storyboard_%03d.jpg",
    ]


def test_long_interval_storyboard_decodes_keyframes_only() -> None:
    args = build_storyboard_args(
        "ffmpeg", URL, Path("/w"), interval=60, tile_width=160, columns=10, rows=10, count=120
    )
    assert _inputs(args) == [["-skip_frame", "nokey", "-i", URL]]
    graph = _filter_graph(args)
    # the keyframe-only stream is held for one interval so fps emits its last frame
    assert graph.startswith("[0:v:0]tpad=stop_duration=60:stop_mode=clone[s0];[s0]fps=1/60")
    assert "scale=160:-2" in graph  # no tile height given: aspect kept, even


def test_short_interval_storyboard_decodes_every_frame() -> None:
    args = build_storyboard_args(
        "ffmpeg", URL, Path("/w"), interval=5, tile_width=160, columns=5, rows=5, count=10
    )
    assert "-skip_frame" not in args
    assert "tile=5x5" in _filter_graph(args)


# --- storyboard: VTT ---


def _parse_vtt(text: str) -> list[tuple[float, float, str]]:
    assert text.startswith("WEBVTT\n\n")
    cues = []
    for block in text.strip().split("\n\n")[1:]:
        times, payload = block.split("\n")
        start, end = (_seconds(t) for t in times.split(" --> "))
        cues.append((start, end, payload))
    return cues


def _seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


@pytest.mark.parametrize("duration", [3.0, 3.05, 3.5, 0.04, 21.0, 599.999, 7261.37, 4 * 3600.0])
def test_vtt_cues_cover_the_whole_duration_without_gaps(duration: float) -> None:
    board = plan_storyboard(duration, tile=(160, 90))
    cues = _parse_vtt(storyboard_vtt(board))
    assert len(cues) == board.count
    assert cues[0][0] == 0.0
    assert cues[-1][1] == pytest.approx(round(duration, 3))
    for (_, end, _), (start, _, _) in itertools.pairwise(cues):
        assert end == start  # no gap, no overlap
    assert all(end > start for start, end, _ in cues)


def test_vtt_positions_walk_the_grid_and_move_to_the_next_sheet() -> None:
    board = Storyboard(
        interval=1,
        tile_width=160,
        tile_height=90,
        columns=3,
        rows=2,
        count=8,
        duration=7.5,
        sheets=("a.jpg", "b.jpg"),
    )
    assert [c.text for c in storyboard_cues(board)] == [
        "a.jpg#xywh=0,0,160,90",
        "a.jpg#xywh=160,0,160,90",
        "a.jpg#xywh=320,0,160,90",
        "a.jpg#xywh=0,90,160,90",
        "a.jpg#xywh=160,90,160,90",
        "a.jpg#xywh=320,90,160,90",
        "b.jpg#xywh=0,0,160,90",
        "b.jpg#xywh=160,0,160,90",
    ]
    vtt = storyboard_vtt(board)
    assert vtt.splitlines()[-2:] == ["00:00:07.000 --> 00:00:07.500", "b.jpg#xywh=160,0,160,90"]
    assert board.sheet_size == (480, 180)


def test_vtt_timestamps_are_hours_minutes_seconds_millis() -> None:
    assert vtt_timestamp(0) == "00:00:00.000"
    assert vtt_timestamp(3_723_004) == "01:02:03.004"
    assert vtt_timestamp(100 * 3_600_000) == "100:00:00.000"


def test_fractional_intervals_never_drift_into_gaps() -> None:
    board = plan_storyboard(10.0, interval=1 / 3)
    cues = storyboard_cues(board)
    assert all(a.end_ms == b.start_ms for a, b in itertools.pairwise(cues))
    assert cues[-1].end_ms == 10_000


def test_storyboard_round_trips_and_rejects_inconsistent_layouts() -> None:
    board = plan_storyboard(250.0, "sb/", tile=(160, 90), columns=5, rows=5)
    assert board.interval == 2
    assert board.count == 125
    assert board.sheets == tuple(f"sb/storyboard_{n:03d}.jpg" for n in range(1, 6))
    assert Storyboard.from_dict(board.to_dict()) == board
    with pytest.raises(ValueError, match="overrun"):
        Storyboard(1, 160, 90, 10, 10, 5, 4.0, ("a.jpg",))
    with pytest.raises(ValueError, match="sheet"):
        Storyboard(1, 160, 90, 2, 2, 5, 5.0, ("a.jpg",))


# --- animated preview ---


def test_preview_clips_are_evenly_spaced_inside_the_source() -> None:
    clips = preview_clips(100.0, clips=4, clip_seconds=2.0)
    assert [c.start for c in clips] == [11.5, 36.5, 61.5, 86.5]
    assert all(c.seconds == 2.0 for c in clips)
    # just longer than the clips together: they nearly touch, never overlap or overrun
    tight = preview_clips(4.5, clips=4, clip_seconds=1.0)
    assert [c.start for c in tight] == [0.062, 1.188, 2.312, 3.438]
    assert all(b.start - a.start >= 1.0 for a, b in itertools.pairwise(tight))
    assert tight[-1].start + 1.0 <= 4.5


@pytest.mark.parametrize("duration", [0.5, 3.0, 4.0])
def test_a_source_shorter_than_the_clips_is_used_whole(duration: float) -> None:
    clips = preview_clips(duration, clips=4, clip_seconds=1.0)
    assert [(c.start, c.seconds) for c in clips] == [(0.0, duration)]


def test_unknown_duration_takes_the_start() -> None:
    assert [(c.start, c.seconds) for c in preview_clips(None)] == [(0.0, 4.0)]


def test_animated_preview_mp4_args_for_a_long_source() -> None:
    args = build_animated_preview_args("ffmpeg", URL, Path("/w/p.mp4"), duration=60.0)
    inputs = _inputs(args)
    assert inputs == [
        ["-ss", f"{s:.3f}", "-t", "1.000", "-i", URL] for s in (7.0, 22.0, 37.0, 52.0)
    ]
    graph = _filter_graph(args)
    for n in range(4):
        assert (
            f"[{n}:v:0]setpts=PTS-STARTPTS[s{4 * n}];[s{4 * n}]fps=12[s{4 * n + 1}];"
            f"[s{4 * n + 1}]scale=min(320\\,iw):-2[s{4 * n + 2}]"
        ) in graph
    assert "[s3][s7][s11][s15]concat=a=0:n=4:v=1[s16];[s16]format=yuv420p[s17]" in graph
    out = args[args.index("[s17]") + 1 :]
    assert out == [
        "-f",
        "mp4",
        "-an",
        "-c:v",
        "libx264",
        "-crf",
        "28",
        "-movflags",
        "+faststart",
        "-pix_fmt",
        "yuv420p",
        "-preset",
        "veryfast",
        "-profile:v",
        "main",
        "/w/p.mp4",
    ]


def test_animated_preview_of_a_very_short_source_is_one_input_without_concat() -> None:
    args = build_animated_preview_args(
        "ffmpeg", URL, Path("/w/p.webp"), duration=2.5, width=200, format="webp"
    )
    assert _inputs(args) == [["-ss", "0.000", "-t", "2.500", "-i", URL]]
    assert _filter_graph(args) == (
        "[0:v:0]setpts=PTS-STARTPTS[s0];[s0]fps=12[s1];[s1]scale=min(200\\,iw):-2[s2];"
        "[s2]setsar=1[s3];[s3]format=yuv420p[s4]"
    )
    out = args[args.index("[s4]") + 1 :]
    assert out[:4] == ["-f", "webp", "-an", "-c:v"]
    assert "libwebp_anim" in out
    assert out[out.index("-loop") + 1] == "0"


def test_animated_preview_refuses_other_formats() -> None:
    with pytest.raises(ValueError, match="gif"):
        build_animated_preview_args("ffmpeg", URL, Path("/w/p.gif"), duration=9, format="gif")


# --- waveform and cover art args ---


def test_waveform_pcm_args_are_raw_mono_s16le_on_stdout() -> None:
    args = build_waveform_pcm_args("ffmpeg", URL, sample_rate=8000)
    assert args == [
        *HEAD,
        *GUARD,
        "-i",
        URL,
        "-map",
        "0:a:0",
        "-f",
        "s16le",
        "-ac",
        "1",
        "-acodec",
        "pcm_s16le",
        "-ar",
        "8000",
        "pipe:1",
    ]


def test_cover_art_args_copy_the_one_picture() -> None:
    args = build_cover_art_args("ffmpeg", URL, 2, Path("/w/cover.jpg"))
    assert args == [
        *HEAD,
        *GUARD,
        "-i",
        URL,
        "-map",
        "0:2",
        "-f",
        "image2",
        "-c",
        "copy",
        "-frames:v",
        "1",
        "-update",
        "1",
        "/w/cover.jpg",
    ]


# --- waveform peaks ---


def _pcm(samples: list[int]) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


def test_peaks_of_silence_are_zero() -> None:
    peaks = compute_peaks([bytes(2 * 8000)], sample_rate=8000, duration=1.0, target_points=100)
    assert peaks.samples_per_pixel == 80
    assert peaks.length == 100
    assert set(peaks.to_json()["data"]) == {0}


def test_full_scale_maps_to_the_8bit_extremes() -> None:
    samples = [32767, -32768] * 500
    data = compute_peaks([_pcm(samples)], sample_rate=1000, duration=1.0, target_points=10)
    assert data.to_json() == {
        "version": 2,
        "channels": 1,
        "sample_rate": 1000,
        "samples_per_pixel": 100,
        "bits": 8,
        "length": 10,
        "data": [-128, 127] * 10,
    }


def test_peaks_follow_the_signal_point_by_point() -> None:
    # 4 points of 32 samples: quiet positive, loud negative, ramp, one spike
    samples = [256] * 32 + [-16384] * 32 + list(range(0, 32 * 512, 512)) + [0] * 31 + [-512]
    peaks = PeakAccumulator(8000, 32).feed_all([_pcm(samples)]).finish()
    assert peaks.mins == (1, -64, 0, -2)
    assert peaks.maxs == (1, -64, 62, 0)


def test_chunk_boundaries_do_not_matter_even_mid_sample() -> None:
    samples = [round(20000 * math.sin(i / 7)) for i in range(5000)]
    pcm = _pcm(samples)
    whole = PeakAccumulator(8000, 64).feed_all([pcm]).finish()
    for size in (1, 3, 127, 4096):
        chunks = [pcm[i : i + size] for i in range(0, len(pcm), size)]
        assert PeakAccumulator(8000, 64).feed_all(chunks).finish() == whole
    assert whole.length == math.ceil(5000 / 64)  # the short last block is a point too


def test_a_wrong_duration_cannot_grow_memory_past_the_cap() -> None:
    # duration claims 1 s but 100 s arrive: points are merged in pairs as they come
    samples = [1000, -1000] * 4000
    acc = PeakAccumulator(8000, samples_per_pixel_for(1.0, 8000, 100), max_points=200)
    for _ in range(100):
        acc.feed(_pcm(samples))
    peaks = acc.finish()
    assert peaks.length <= 200
    assert peaks.samples_per_pixel * peaks.length >= 100 * 8000
    assert set(peaks.mins) == {-4}
    assert set(peaks.maxs) == {3}


def test_merged_points_equal_a_direct_computation_at_the_coarser_resolution() -> None:
    samples = [round(30000 * math.sin(i / 50) * math.sin(i / 3000)) for i in range(64 * 37)]
    merged = PeakAccumulator(8000, 2, max_points=64).feed_all([_pcm(samples)]).finish()
    direct = PeakAccumulator(8000, merged.samples_per_pixel).feed_all([_pcm(samples)]).finish()
    assert merged == direct


@pytest.mark.parametrize(
    ("duration", "spp"), [(None, 32), (0.1, 32), (60.0, 320), (4 * 3600.0, 76800)]
)
def test_samples_per_pixel_aims_at_the_target_length(duration: float | None, spp: int) -> None:
    assert samples_per_pixel_for(duration, 8000, 1500) == spp


def test_waveform_png_draws_the_envelope() -> None:
    peaks = Peaks(8000, 32, mins=(0, -128, -64, 0), maxs=(0, 127, 64, 0))
    png = render_waveform_png(peaks, 8, 41, color="#ff0000")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (8, 41)
    column = [image.getpixel((2, y))[3] for y in range(41)]  # the full-scale point
    assert all(column)
    half = [y for y in range(41) if image.getpixel((4, y))[3]]  # the half-scale point
    assert (half[0], half[-1]) == (10, 30)
    assert image.getpixel((0, 20)) == (255, 0, 0, 255)  # silence: the centre line only
    assert image.getpixel((0, 0))[3] == 0  # transparent background


# --- black posters ---


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def test_black_and_near_black_frames_are_rejected() -> None:
    assert is_mostly_black(_jpeg(Image.new("RGB", (1280, 720), (0, 0, 0))))
    assert is_mostly_black(_jpeg(Image.new("RGB", (320, 180), (16, 16, 16))))  # video black
    noisy = Image.effect_noise((320, 180), 6).point(lambda v: v // 12)  # dark sensor noise
    assert is_mostly_black(_jpeg(noisy.convert("RGB")))


def test_dark_scenes_with_detail_and_normal_frames_are_kept() -> None:
    assert not is_mostly_black(_jpeg(Image.new("RGB", (320, 180), (128, 128, 128))))
    assert not is_mostly_black(_jpeg(Image.linear_gradient("L").convert("RGB")))
    night = Image.new("RGB", (320, 180), (5, 5, 5))
    night.paste((230, 220, 180), (100, 40, 220, 140))  # a lit window in the dark
    assert not is_mostly_black(_jpeg(night))


def test_poster_candidates_start_with_the_usual_pick_then_go_further_in() -> None:
    assert poster_seek_candidates(None) == [0.0]
    assert poster_seek_candidates(0.8) == [0.0]
    assert poster_seek_candidates(3.0) == [0.3, 0.75, 1.5, 2.25]
    assert poster_seek_candidates(600.0) == [10.0, 150.0, 300.0, 450.0]
    for duration in (1.2, 2.0, 20.0, 7200.0):
        found = poster_seek_candidates(duration)
        assert found[0] == poster_seek_seconds(duration)
        assert found == sorted(set(found))
        assert all(t < duration for t in found)


def test_vtt_text_has_no_stray_whitespace() -> None:
    text = storyboard_vtt(plan_storyboard(2.5))
    assert not re.search(r"[ \t]$", text, flags=re.MULTILINE)
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
