"""Previews with the real ffmpeg over HTTP: storyboard sheets and VTT, animated preview,
waveform peaks, cover art."""

from __future__ import annotations

import io
import json
import subprocess
import wave
from array import array
from collections.abc import Iterator
from pathlib import Path

import pytest
from lumiere.media.blackframe import is_mostly_black
from lumiere.media.commands import (
    build_animated_preview_args,
    build_cover_art_args,
    build_storyboard_args,
    build_waveform_pcm_args,
)
from lumiere.media.storyboard import (
    plan_storyboard,
    storyboard_cues,
    storyboard_vtt,
    tile_size,
)
from lumiere.media.tools import find_binaries, run_tool
from lumiere.media.waveform import compute_peaks
from PIL import Image, ImageStat

from tests.conftest import Media

FFMPEG = str(find_binaries().ffmpeg)
FFPROBE = str(find_binaries().ffprobe)
CLIP_SECONDS = 3.0


def _ffmpeg(*args: str) -> None:
    run_tool([FFMPEG, "-v", "error", "-y", *args], timeout=60)


def _streams(path: Path) -> list[dict]:
    probe = [FFPROBE, "-v", "error", "-count_frames", "-show_streams", "-of", "json"]
    return json.loads(run_tool([*probe, str(path)], timeout=60))["streams"]


def _tile_means(sheet: Image.Image, width: int, height: int, count: int) -> list[float]:
    """Mean luma of each tile slot, in reading order."""
    luma = sheet.convert("L")
    columns = sheet.width // width
    means = []
    for i in range(count):
        x, y = (i % columns) * width, (i // columns) * height
        means.append(ImageStat.Stat(luma.crop((x, y, x + width, y + height))).mean[0])
    return means


@pytest.mark.parametrize("keyframes_only", [False, True])
def test_storyboard_sheets_match_the_vtt(
    media_http: str, tmp_path: Path, keyframes_only: bool
) -> None:
    # GIVEN the 3 s 320x180 clip, a thumbnail a second, 2x2 tiles per sheet
    width, height = tile_size(320, 180, 160)
    board = plan_storyboard(CLIP_SECONDS, tile=(width, height), columns=2, rows=2)
    assert (board.interval, board.count, len(board.sheets)) == (1, 3, 1)
    # WHEN ffmpeg makes the sheets (keyframes only: the clip has a single keyframe, the
    # worst case, and every tile must still be filled)
    run_tool(
        build_storyboard_args(
            FFMPEG,
            f"{media_http}/clip.mp4",
            tmp_path,
            interval=board.interval,
            tile_width=width,
            tile_height=height,
            columns=board.columns,
            rows=board.rows,
            count=board.count,
            keyframes_only=keyframes_only,
        ),
        timeout=60,
    )
    # THEN exactly the sheets the VTT names exist, at the planned size
    assert sorted(p.name for p in tmp_path.iterdir()) == list(board.sheets)
    with Image.open(tmp_path / board.sheets[0]) as sheet:
        assert sheet.format == "JPEG"
        assert sheet.size == board.sheet_size == (320, 180)
        means = _tile_means(sheet, width, height, 4)
    assert all(m > 40 for m in means[:3])  # three pictures of the test card
    assert means[3] < 5  # the unused fourth slot is black padding
    # AND the VTT's cues tile the whole duration
    cues = storyboard_cues(board)
    assert [(c.start_ms, c.end_ms) for c in cues] == [(0, 1000), (1000, 2000), (2000, 3000)]
    assert [(c.x, c.y) for c in cues] == [(0, 0), (160, 0), (0, 90)]
    assert storyboard_vtt(board).count("storyboard_001.jpg#xywh=") == 3


def test_storyboard_of_a_longer_source_fills_every_planned_tile(
    media: Media, media_http: str, tmp_path: Path
) -> None:
    # 21 s, keyframes every 3 s, thumbnails every 2 s: the last keyframe (18 s) is
    # before the last two thumbnail times, which repeat it rather than go black
    source = media.dir / "long_gop.mp4"
    if not source.exists():
        card = "testsrc2=size=320x180:rate=25:duration=21"
        x264 = ["-c:v", "libx264", "-g", "75", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        _ffmpeg("-f", "lavfi", "-i", card, *x264, str(source))
    board = plan_storyboard(21.0, interval=2, tile=(160, 90), columns=4, rows=3)
    assert (board.count, len(board.sheets)) == (11, 1)
    run_tool(
        build_storyboard_args(
            FFMPEG,
            f"{media_http}/long_gop.mp4",
            tmp_path,
            interval=2,
            tile_width=160,
            tile_height=90,
            columns=4,
            rows=3,
            count=board.count,
            keyframes_only=True,
        ),
        timeout=60,
    )
    with Image.open(tmp_path / "storyboard_001.jpg") as sheet:
        assert sheet.size == (640, 270)
        means = _tile_means(sheet, 160, 90, 12)
    assert all(m > 40 for m in means[:11])
    assert means[11] < 5


@pytest.mark.parametrize(("fmt", "clips"), [("mp4", 2), ("mp4", 4), ("webp", 2)])
def test_animated_preview_is_short_silent_and_decodes(
    media_http: str, tmp_path: Path, fmt: str, clips: int
) -> None:
    out = tmp_path / f"preview.{fmt}"
    run_tool(
        build_animated_preview_args(
            FFMPEG,
            f"{media_http}/clip.mp4",
            out,
            duration=CLIP_SECONDS,
            clips=clips,
            clip_seconds=1.0,
            width=160,
            format=fmt,
        ),
        timeout=60,
    )
    # 2 clips of 1 s from 3 s; 4 clips would need 4 s, so the whole clip is used
    expected_seconds = 2.0 if clips == 2 else CLIP_SECONDS
    if fmt == "mp4":
        streams = _streams(out)
        assert [s["codec_type"] for s in streams] == ["video"]  # silent
        video = streams[0]
        assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
        assert (video["width"], video["height"]) == (160, 90)
        assert int(video["nb_read_frames"]) == round(12 * expected_seconds)
        assert float(video["duration"]) == pytest.approx(expected_seconds, abs=0.1)
        assert out.read_bytes()[4:8] == b"ftyp"
        assert out.read_bytes().index(b"moov") < out.read_bytes().index(b"mdat")  # faststart
    else:
        # ffmpeg 6.0 cannot decode animated WebP; Pillow can
        with Image.open(out) as image:
            assert image.format == "WEBP"
            assert image.is_animated
            assert image.size == (160, 90)
            assert image.n_frames == round(12 * expected_seconds)
            assert image.info.get("loop") == 0
    assert out.stat().st_size < 200_000


def _pcm_chunks(argv: list[str], chunk_size: int = 4096) -> Iterator[bytes]:
    """ffmpeg's stdout in chunks, as a worker would read it (bounded memory)."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    try:
        yield from iter(lambda: proc.stdout.read(chunk_size), b"")  # type: ignore[union-attr]
    finally:
        proc.stdout.close()
        returncode = proc.wait(timeout=60)
    if returncode != 0:
        raise subprocess.CalledProcessError(returncode, argv)


def _tone_peak(path: Path) -> int:
    """The loudest sample of the tone as ffmpeg's downmix hears it (mean of L and R)."""
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (2, 2)
        samples = array("h", w.readframes(w.getnframes()))
    pairs = zip(samples[::2], samples[1::2], strict=True)
    return max(abs(left + right) // 2 for left, right in pairs)


def test_waveform_peaks_of_the_tone(media: Media, media_http: str) -> None:
    rate = 8000
    chunks = _pcm_chunks(
        build_waveform_pcm_args(FFMPEG, f"{media_http}/tone.wav", sample_rate=rate)
    )
    peaks = compute_peaks(chunks, sample_rate=rate, duration=2.0, target_points=400).to_json()
    assert {k: v for k, v in peaks.items() if k != "data"} == {
        "version": 2,
        "channels": 1,
        "sample_rate": rate,
        "samples_per_pixel": 40,
        "bits": 8,
        "length": 400,  # 2 s x 8000 / 40
    }
    data = peaks["data"]
    assert len(data) == 2 * peaks["length"]
    assert all(-128 <= v <= 127 for v in data)
    mins, maxs = data[::2], data[1::2]
    assert all(lo <= hi for lo, hi in zip(mins, maxs, strict=True))
    # a steady sine: every point (40 samples, 1.6 cycles of 330 Hz) reaches its amplitude
    amplitude = _tone_peak(media.tone) / 256
    assert amplitude > 4
    assert max(maxs) == pytest.approx(amplitude, abs=1.5)
    assert min(mins) == pytest.approx(-amplitude, abs=1.5)
    assert sorted(maxs)[len(maxs) // 10] >= amplitude - 2


def test_waveform_of_a_video_uses_its_audio(media_http: str) -> None:
    chunks = _pcm_chunks(build_waveform_pcm_args(FFMPEG, f"{media_http}/clip.mp4"))
    peaks = compute_peaks(chunks, sample_rate=8000, duration=CLIP_SECONDS)
    # 24 000 samples would give 16 a point for 1500 points; short clips keep 32 a point
    assert peaks.samples_per_pixel == 32
    assert peaks.length == pytest.approx(750, abs=3)
    assert max(peaks.maxs) > 10


def test_waveform_of_a_video_without_audio_fails_plainly(media_http: str) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        list(_pcm_chunks(build_waveform_pcm_args(FFMPEG, f"{media_http}/silent.mp4")))


@pytest.mark.parametrize(
    ("container", "audio_codec", "picture"),
    [("mp3", "libmp3lame", "png"), ("m4a", "aac", "jpg")],
)
def test_cover_art_is_copied_out_byte_for_byte(
    media: Media, media_http: str, tmp_path: Path, container: str, audio_codec: str, picture: str
) -> None:
    # GIVEN an audio file with an attached picture, made as taggers do
    cover = media.dir / f"cover.{picture}"
    if not cover.exists():
        _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", str(cover))
    song = media.dir / f"song.{container}"
    if not song.exists():
        inputs = ["-i", str(media.tone), "-i", str(cover), "-map", "0", "-map", "1"]
        codecs = ["-c:a", audio_codec, "-c:v", "copy", "-disposition:v", "attached_pic"]
        _ffmpeg(*inputs, *codecs, str(song))
    streams = _streams(song)
    index = next(s["index"] for s in streams if s["disposition"]["attached_pic"])
    # WHEN the picture is copied out over HTTP
    out = tmp_path / f"cover.{picture}"
    run_tool(build_cover_art_args(FFMPEG, f"{media_http}/{song.name}", index, out), timeout=60)
    # THEN it is the very picture that went in
    assert out.read_bytes() == cover.read_bytes()
    with Image.open(io.BytesIO(out.read_bytes())) as image:
        assert image.size == (64, 64)


def test_black_poster_detection_on_real_frames(media_http: str, tmp_path: Path) -> None:
    card = tmp_path / "card.jpg"
    black = tmp_path / "black.jpg"
    _ffmpeg("-i", f"{media_http}/clip.mp4", "-frames:v", "1", str(card))
    _ffmpeg("-f", "lavfi", "-i", "color=black:size=1280x720", "-frames:v", "1", str(black))
    assert not is_mostly_black(card.read_bytes())
    assert is_mostly_black(black.read_bytes())
