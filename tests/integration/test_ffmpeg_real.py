"""The real ffmpeg 6.0 from the pinned wheel, on tiny generated media."""

from __future__ import annotations

import json
from pathlib import Path

import m3u8
import pytest
from lumiere.errors import ToolError, UnsupportedMediaError
from lumiere.media.audio import AudioTrack, parse_loudnorm
from lumiere.media.commands import (
    HlsOptions,
    build_audio_extract_args,
    build_audio_track_args,
    build_loudness_scan_args,
    build_poster_args,
    build_video_group_args,
    extracted_audio,
    upload_audio,
    video_dirname,
)
from lumiere.media.isobmff import read_fragment_file, read_init_file
from lumiere.media.ladder import load_preset, plan_ladder
from lumiere.media.packaging import package_track
from lumiere.media.probe import (
    MediaKind,
    build_ffprobe_args,
    classify,
    explain_probe_failure,
    parse_probe,
)
from lumiere.media.progress import ProgressMeter
from lumiere.media.tools import find_binaries, run_tool, run_tool_chunks, run_tool_streaming
from lumiere_dev.file_server import serve_directory

from tests.conftest import Media

FFPROBE = str(find_binaries().ffprobe)
FFMPEG = str(find_binaries().ffmpeg)


def probe(url: str):
    return parse_probe(run_tool(build_ffprobe_args(FFPROBE, url), timeout=60))


def test_binaries_are_the_pinned_static_build() -> None:
    out = run_tool([FFMPEG, "-hide_banner", "-version"], timeout=30)
    assert out.startswith("ffmpeg version 6.0")
    assert "--enable-libx264" in out


def test_tool_error_carries_argv_returncode_and_stderr() -> None:
    with pytest.raises(ToolError) as e:
        run_tool([FFPROBE, "-v", "error", "/nonexistent/file.mp4"], timeout=30)
    assert e.value.returncode == 1
    assert "No such file" in e.value.stderr_tail
    assert e.value.argv[0] == FFPROBE


def test_tool_timeout_is_a_tool_error_without_returncode() -> None:
    with pytest.raises(ToolError) as e:
        run_tool([FFMPEG, "-f", "lavfi", "-i", "testsrc2", "-f", "null", "-"], timeout=0.5)
    assert e.value.returncode is None


@pytest.mark.parametrize(
    ("name", "kind"),
    [("clip.mp4", MediaKind.VIDEO), ("tone.wav", MediaKind.AUDIO), ("image.png", MediaKind.IMAGE)],
)
def test_probe_over_http_classifies_by_content(media_http: str, name: str, kind: MediaKind) -> None:
    assert classify(probe(f"{media_http}/{name}")) is kind


def test_text_named_mp4_is_unsupported(media_http: str) -> None:
    with pytest.raises(ToolError) as e:
        probe(f"{media_http}/notes.mp4")
    assert isinstance(explain_probe_failure(e.value.stderr_tail), UnsupportedMediaError)


@pytest.mark.parametrize("trap", ["trap.mp4", "trap.avi"])
def test_playlist_and_concat_traps_never_open_local_files(media_http: str, trap: str) -> None:
    # GIVEN an upload whose bytes are a playlist/script naming /etc/passwd
    # WHEN it is probed with Lumiere's guards THEN ffprobe refuses it outright
    with pytest.raises(ToolError) as e:
        probe(f"{media_http}/{trap}")
    assert "passwd" not in e.value.stderr_tail or "whitelist" in e.value.stderr_tail
    error = explain_probe_failure(e.value.stderr_tail)
    assert isinstance(error, UnsupportedMediaError)


def test_unguarded_ffprobe_would_follow_the_trap(media_http: str) -> None:
    """Shows what the guard stops: forced to the hls demuxer, ffprobe goes for the file."""
    argv = [FFPROBE, "-v", "error", "-show_format", "-of", "json", "-f", "hls"]
    with pytest.raises(ToolError) as e:
        run_tool([*argv, f"{media_http}/trap.mp4"], timeout=30)
    assert "file:///etc/passwd" in e.value.stderr_tail


def test_video_rendition_is_valid_fmp4_hls_and_reports_progress(
    media_http: str, tmp_path: Path
) -> None:
    info = probe(f"{media_http}/clip.mp4")
    rendition = plan_ladder(info, load_preset("default"))[0]
    out = tmp_path / video_dirname(rendition.name)
    out.mkdir()
    reports: list[int] = []
    run_tool_streaming(
        build_video_group_args(
            FFMPEG, f"{media_http}/clip.mp4", info.video[0], [rendition], tmp_path, HlsOptions(1.0)
        ),
        timeout=120,
        on_line=ProgressMeter(info.duration, reports.append, min_interval=0.0).feed,
    )
    assert reports
    assert reports[-1] == 100
    assert reports == sorted(reports)
    playlist = m3u8.load(str(out / "index.m3u8"))
    assert playlist.is_endlist
    assert playlist.segment_map[0].uri == "init.mp4"
    assert len(playlist.segments) == 3  # 3 s cut every 1 s: keyframes forced on the grid
    assert all(s.duration == pytest.approx(1.0, abs=0.05) for s in playlist.segments)
    init = read_init_file(out / "init.mp4")
    assert (init.codec, init.width, init.height) == ("avc1.64001e", 320, 180)
    fragments = [read_fragment_file(out / s.uri) for s in playlist.segments]
    assert all(f.starts_with_sync for f in fragments)
    assert [f.base_decode_time for f in fragments] == [0, init.timescale, 2 * init.timescale]
    track = package_track(out, kind="video", frame_rate=rendition.frame_rate)
    assert track.peak_bps >= track.average_bps > 0
    assert (out / "iframes.m3u8").is_file()
    streams = json.loads(
        run_tool(
            [FFPROBE, "-v", "error", "-show_streams", "-of", "json", str(out / "index.m3u8")],
            timeout=60,
        )
    )["streams"]
    video = next(s for s in streams if s["codec_type"] == "video")
    assert (video["codec_name"], video["profile"], video["width"], video["height"]) == (
        "h264",
        "High",
        320,
        180,
    )
    assert not any(s["codec_type"] == "audio" for s in streams)  # audio is its own group


def _loudness(url: str, track: AudioTrack) -> float:
    scan = run_tool_streaming(
        build_loudness_scan_args(FFMPEG, upload_audio(url, track), load_preset("default").audio),
        timeout=60,
    )
    measured = parse_loudnorm(scan.stderr)
    assert measured is not None
    return measured.integrated


def _loudnorm_meter(path: Path) -> dict[str, float]:
    """loudnorm's report on a result."""
    stderr = run_tool_streaming(
        [FFMPEG, "-hide_banner", "-nostats", "-i", str(path),
         "-af", "loudnorm=print_format=json", "-f", "null", "-"],
        timeout=60,
    ).stderr  # fmt: skip
    report = json.loads(stderr[stderr.rindex("{") : stderr.rindex("}") + 1])
    return {"integrated": float(report["input_i"]), "true_peak": float(report["input_tp"])}


def _normalise(source: str, track: AudioTrack, tmp_path: Path) -> tuple[str, Path]:
    """As the audio part does: copy the track out once, measure the copy, encode from
    it. The filter graph used, and the rendition's directory."""
    settings = load_preset("default").audio
    extract = tmp_path / "audio.mov"
    run_tool(build_audio_extract_args(FFMPEG, source, [track], extract), timeout=60)
    local = extracted_audio(extract, 0)
    scan = run_tool_streaming(build_loudness_scan_args(FFMPEG, local, settings), timeout=60)
    out_dir = tmp_path / track.dirname
    out_dir.mkdir()
    args = build_audio_track_args(
        FFMPEG, local, settings, parse_loudnorm(scan.stderr), out_dir, HlsOptions(2)
    )
    run_tool_streaming(args, timeout=60)
    return args[args.index("-filter_complex") + 1], out_dir


def test_audio_is_normalised_to_minus_16_lufs_and_downmixed(
    media_http: str, tmp_path: Path
) -> None:
    """A quiet 5.1 tone comes out stereo at -16 LUFS. Its peaks leave room, so a
    constant gain does it: the volume filter, not loudnorm."""
    source = f"{media_http}/surround.mp4"
    info = probe(source)
    [stream] = info.audio
    assert stream.channels == 6
    track = AudioTrack(stream.index, "en", "English", stream.channels, True)
    assert _loudness(source, track) < -25
    graph, out_dir = _normalise(source, track, tmp_path)
    assert "volume=" in graph
    assert "loudnorm" not in graph
    out = package_track(out_dir, kind="audio")
    assert out.codec == "mp4a.40.2"
    assert out.duration == pytest.approx(4.0, abs=0.2)  # AAC priming and frame granularity
    result = probe_local(out_dir / "index.m3u8")
    assert (result["channels"], result["sample_rate"]) == (2, "48000")
    after = _loudnorm_meter(out_dir / "index.m3u8")
    assert after["integrated"] == pytest.approx(-16.0, abs=0.5)
    assert after["true_peak"] <= -1.0


def test_peaky_audio_is_normalised_by_loudnorm_without_clipping(tmp_path: Path) -> None:
    """A quiet tone with loud clicks: the gain that brings it to -16 LUFS would push the
    clicks past 0 dBTP, so loudnorm's dynamic mode does it, and no peak passes -1."""
    (tmp_path / "in").mkdir()
    source = tmp_path / "in" / "clicks.m4a"
    run_tool(
        [FFMPEG, "-v", "error", "-f", "lavfi",
         "-i", "aevalsrc=0.01*sin(2*PI*440*t)+0.9*lt(mod(t\\,1)\\,0.002):s=48000:d=6",
         "-c:a", "aac", "-b:a", "128k", str(source)],
        timeout=60,
    )  # fmt: skip
    track = AudioTrack(0, "und", "Audio 1", 1, True)
    with serve_directory(source.parent) as base:
        before = _loudness(f"{base}/clicks.m4a", track)
        graph, out_dir = _normalise(f"{base}/clicks.m4a", track, tmp_path)
    assert "loudnorm=" in graph
    assert "asetpts=" in graph
    after = _loudnorm_meter(out_dir / "index.m3u8")
    # Its limiter holds the clicks, so the average rises less than the 9.8 dB asked
    # (a constant gain would have put them at +7 dBTP); it still rises, and no peak
    # passes the ceiling.
    assert after["integrated"] > before + 3
    assert after["true_peak"] <= -0.5


def probe_local(path: Path) -> dict:
    return json.loads(
        run_tool([FFPROBE, "-v", "error", "-show_streams", "-of", "json", str(path)], timeout=30)
    )["streams"][0]


def test_vp9_preset_writes_vp09_cmaf(media_http: str, tmp_path: Path) -> None:
    info = probe(f"{media_http}/clip.mp4")
    rendition = plan_ladder(info, load_preset("vp9"))[0]
    (tmp_path / video_dirname(rendition.name)).mkdir()
    run_tool(
        build_video_group_args(
            FFMPEG, f"{media_http}/clip.mp4", info.video[0], [rendition], tmp_path,
            HlsOptions(1.0), progress=False,
        ),
        timeout=120,
    )  # fmt: skip
    track = package_track(tmp_path / video_dirname(rendition.name), kind="video")
    assert track.codec.startswith("vp09.00.")
    assert track.segment_count == 3


@pytest.mark.parametrize(("name", "seek"), [("clip.mp4", 0.3), ("image.png", 0.0)])
def test_poster_is_a_jpeg_within_bounds(
    media_http: str, tmp_path: Path, name: str, seek: float
) -> None:
    poster = tmp_path / "poster.jpg"
    run_tool(
        build_poster_args(
            FFMPEG, f"{media_http}/{name}", poster, seek_seconds=seek, max_width=200, max_height=200
        ),
        timeout=60,
    )
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"
    info = json.loads(
        run_tool([FFPROBE, "-v", "error", "-show_streams", "-of", "json", str(poster)], timeout=30)
    )["streams"][0]
    assert info["width"] <= 200
    assert info["height"] <= 200


def test_media_fixture_is_what_it_claims(media: Media) -> None:
    assert media.clip.stat().st_size > 1000
    assert media.not_media.read_text().startswith("These are")


def test_streaming_runs_time_out_and_hand_out_exact_chunks() -> None:
    endless = [FFMPEG, "-v", "error", "-f", "lavfi", "-i", "testsrc2", "-f", "null", "-"]
    with pytest.raises(ToolError) as e:
        run_tool_streaming(endless, timeout=0.5)
    assert e.value.returncode is None
    # one second of 8 kHz mono s16le is 16000 bytes: four chunks of 5000, the last short
    tone = [FFMPEG, "-v", "info", "-f", "lavfi", "-i", "sine=d=1:sample_rate=8000",
            "-f", "s16le", "-ac", "1", "pipe:1"]  # fmt: skip
    seen: list[str] = []
    chunks = list(run_tool_chunks(tone, timeout=30, chunk_size=5000, on_stderr=seen.append))
    assert [len(c) for c in chunks] == [5000, 5000, 5000, 1000]
    assert any("s16le" in line for line in seen)
