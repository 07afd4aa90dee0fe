from pathlib import Path

from lumiere.media.commands import (
    HlsOptions,
    build_audio_rendition_args,
    build_poster_args,
    build_video_rendition_args,
    keyframe_interval,
    poster_seek_seconds,
)
from lumiere.media.ladder import load_preset, plan_ladder
from lumiere.media.probe import AudioStream, MediaInfo, VideoStream
from lumiere.media.safety import ALLOWED_DECODERS, ALLOWED_DEMUXERS

GUARD = [
    "-codec_whitelist",
    ",".join(ALLOWED_DECODERS),
    "-format_whitelist",
    ",".join(ALLOWED_DEMUXERS),
    "-protocol_whitelist",
    "http,https,tcp,tls",
]
PRESET = load_preset("default")
URL = "http://127.0.0.1:1/up/x.mp4?X-Amz-Signature=a&b=c"


def test_video_rendition_exact_arguments() -> None:
    info = MediaInfo(
        "mov",
        8.0,
        1,
        1,
        video=(VideoStream(0, "h264", 1280, 720, frame_rate=30.0),),
        audio=(AudioStream(1, "aac", 6, 48000),),
    )
    rendition = plan_ladder(info, PRESET)[1]
    args = build_video_rendition_args(
        "/opt/bin/ffmpeg", URL, rendition, Path("/tmp/w/540p"), HlsOptions(segment_seconds=4.0)
    )
    assert args == [
        "/opt/bin/ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        *GUARD,
        "-i", URL,
        "-filter_complex", "[0:v:0]fps=30.0[s0];[s0]scale=960:540[s1];[s1]setsar=1[s2]",
        "-map", "[s2]", "-map", "0:a:0",
        "-f", "hls",
        "-ac", "2", "-ar", "48000", "-b:a", "128k", "-bufsize", "4000k", "-c:a", "aac",
        "-c:v", "libx264", "-crf", "23",
        "-force_key_frames", "expr:gte(t,n_forced*4)",
        "-g", "240",
        "-hls_flags", "independent_segments",
        "-hls_fmp4_init_filename", "init.mp4",
        "-hls_playlist_type", "vod",
        "-hls_segment_filename", "/tmp/w/540p/seg_%05d.m4s",
        "-hls_segment_type", "fmp4",
        "-hls_time", "4.0",
        "-level:v", "4.1", "-maxrate", "2000k", "-pix_fmt", "yuv420p", "-preset", "veryfast",
        "-profile:v", "high", "-sc_threshold", "0",
        "/tmp/w/540p/index.m3u8",
    ]  # fmt: skip


def test_video_without_audio_maps_no_audio() -> None:
    info = MediaInfo("mov", 8.0, 1, 1, video=(VideoStream(0, "h264", 640, 360),))
    args = build_video_rendition_args(
        "ffmpeg", URL, plan_ladder(info, PRESET)[0], Path("/w/360p"), HlsOptions(4.0)
    )
    assert "0:a:0" not in args
    assert "-c:a" not in args
    # an unknown frame rate adds no fps filter, and the GOP cap assumes 30 fps
    assert args[args.index("-filter_complex") + 1] == "[0:v:0]scale=640:360[s0];[s0]setsar=1[s1]"
    assert args[args.index("-g") + 1] == "240"


def test_audio_rendition_exact_arguments() -> None:
    args = build_audio_rendition_args("ffmpeg", URL, PRESET.audio, Path("/w/audio"), HlsOptions(6))
    assert args[: 6 + len(GUARD) + 2] == [
        "ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *GUARD, "-i", URL,
    ]  # fmt: skip
    assert args[args.index("-map") + 1] == "0:a:0"
    assert args[args.index("-hls_time") + 1] == "6"
    assert args[-1] == "/w/audio/index.m3u8"
    assert "-c:v" not in args


def test_poster_seeks_before_input_and_never_upscales() -> None:
    args = build_poster_args(
        "ffmpeg", URL, Path("/w/p.jpg"), seek_seconds=2.5, max_width=1280, max_height=720
    )
    assert args.index("-ss") < args.index("-i")
    assert args[args.index("-ss") + 1] == "2.500"
    graph = args[args.index("-filter_complex") + 1]
    assert graph == (
        "[0:v:0]thumbnail=30[s0];[s0]scale=min(1280\\,iw):min(720\\,ih)"
        ":force_divisible_by=2:force_original_aspect_ratio=decrease[s1]"
    )
    assert args[-3:] == ["-vframes", "1", "/w/p.jpg"]


def test_keyframe_interval_and_poster_seek() -> None:
    assert keyframe_interval(25.0, 4.0) == 200
    assert keyframe_interval(29.97, 4.0) == 240
    assert keyframe_interval(None, 2.0) == 120
    assert poster_seek_seconds(None) == 0.0
    assert poster_seek_seconds(0.5) == 0.0
    assert poster_seek_seconds(30.0) == 3.0
    assert poster_seek_seconds(7200.0) == 10.0
