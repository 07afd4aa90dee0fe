"""The real ffmpeg 6.0 from the pinned wheel, on tiny generated media."""

from __future__ import annotations

import json
from pathlib import Path

import m3u8
import pytest
from lumiere.errors import ToolError, UnsupportedMediaError
from lumiere.media.commands import (
    HlsOptions,
    build_audio_rendition_args,
    build_poster_args,
    build_video_rendition_args,
)
from lumiere.media.hls import measure_variant
from lumiere.media.ladder import load_preset, plan_ladder
from lumiere.media.probe import (
    MediaKind,
    build_ffprobe_args,
    classify,
    explain_probe_failure,
    parse_probe,
)
from lumiere.media.tools import find_binaries, run_tool

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


def test_video_rendition_is_valid_fmp4_hls(media_http: str, tmp_path: Path) -> None:
    info = probe(f"{media_http}/clip.mp4")
    rendition = plan_ladder(info, load_preset("default"))[0]
    out = tmp_path / rendition.name
    out.mkdir()
    run_tool(
        build_video_rendition_args(
            FFMPEG, f"{media_http}/clip.mp4", rendition, out, HlsOptions(1.0)
        ),
        timeout=120,
    )
    playlist = m3u8.load(str(out / "index.m3u8"))
    assert playlist.is_endlist
    assert playlist.segment_map[0].uri == "init.mp4"
    assert len(playlist.segments) == 3  # 3 s cut every 1 s: keyframes forced on the grid
    assert all(s.duration == pytest.approx(1.0, abs=0.05) for s in playlist.segments)
    stats = measure_variant(out / "index.m3u8")
    assert stats.peak_bps >= stats.average_bps > 0
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
    assert any(s["codec_type"] == "audio" and s["codec_name"] == "aac" for s in streams)


def test_audio_rendition(media_http: str, tmp_path: Path) -> None:
    run_tool(
        build_audio_rendition_args(
            FFMPEG, f"{media_http}/tone.wav", load_preset("default").audio, tmp_path, HlsOptions(4)
        ),
        timeout=60,
    )
    assert measure_variant(tmp_path / "index.m3u8").duration == pytest.approx(2.0, abs=0.1)


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
