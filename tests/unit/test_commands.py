import json
from pathlib import Path

import pytest
from lumiere.media.audio import AudioTrack, Loudness, parse_loudnorm
from lumiere.media.commands import (
    HlsOptions,
    build_animation_at_args,
    build_audio_extract_args,
    build_audio_track_args,
    build_download_args,
    build_frame_at_args,
    build_loudness_scan_args,
    build_poster_args,
    build_single_command_args,
    build_video_group_args,
    extracted_audio,
    keyframe_interval,
    poster_seek_seconds,
    upload_audio,
)
from lumiere.media.ladder import LoudnessTarget, load_preset, plan_ladder
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
HEAD = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
PROGRESS = ["-progress", "pipe:1", "-nostats"]


def _video(**kw: object) -> VideoStream:
    defaults: dict[str, object] = {"frame_rate": 30.0}
    defaults.update(kw)
    return VideoStream(3, "h264", 1920, 1080, **defaults)  # type: ignore[arg-type]


def _info(video: VideoStream) -> MediaInfo:
    return MediaInfo("mov", 8.0, 1, 1, video=(video,), audio=(AudioStream(1, "aac", 6, 48000),))


def _options(args: list[str], output: str) -> dict[str, str]:
    """The option/value pairs that precede one output path."""
    end = args.index(output)
    start = max(i for i in range(end) if args[i] == "-map")
    chunk = args[start:end]
    return dict(zip(chunk[::2], chunk[1::2], strict=True))


def test_video_group_decodes_once_and_splits_into_every_rung() -> None:
    video = _video()
    rungs = plan_ladder(_info(video), PRESET)[:3]
    args = build_video_group_args("ffmpeg", URL, video, rungs, Path("/w"), HlsOptions(4.0))
    assert args[: len(HEAD) + len(PROGRESS) + len(GUARD) + 2] == [
        *HEAD,
        *PROGRESS,
        *GUARD,
        "-i",
        URL,
    ]
    assert args.count("-i") == 1
    graph = args[args.index("-filter_complex") + 1]
    # The source stream is named by its absolute index, split three ways, each branch
    # resampled then scaled to square pixels.
    assert graph.startswith("[0:3]split=3[s0][s1][s2];[s0]fps=30.0[s3];[s3]scale=1920:1080")
    assert "scale=1280:720" in graph
    assert "scale=960:540" in graph
    assert graph.count("setsar=1") == 3
    assert [a for a in args if a.endswith("index.m3u8")] == [
        "/w/v_1080p/index.m3u8",
        "/w/v_720p/index.m3u8",
        "/w/v_540p/index.m3u8",
    ]
    top = _options(args, "/w/v_1080p/index.m3u8")
    assert top == {
        "-map": "[s5]",
        "-f": "hls",
        "-bufsize": "12000k",
        "-c:v": "libx264",
        "-crf": "23",
        "-force_key_frames": "expr:gte(t,n_forced*4)",
        "-g": "240",
        "-hls_flags": "independent_segments+temp_file",
        "-hls_fmp4_init_filename": "init.mp4",
        "-hls_playlist_type": "vod",
        "-hls_segment_filename": "/w/v_1080p/seg_%05d.m4s",
        "-hls_segment_type": "fmp4",
        "-hls_time": "4.0",
        "-level:v": "4.0",
        "-maxrate": "6000k",
        "-pix_fmt": "yuv420p",
        "-preset": "veryfast",
        "-profile:v": "high",
        "-sc_threshold": "0",
    }
    assert "-c:a" not in args  # audio is its own rendition group


def test_single_rung_needs_no_split() -> None:
    video = _video()
    rung = plan_ladder(_info(video), PRESET)[-1]
    args = build_video_group_args("ffmpeg", URL, video, [rung], Path("/w"), HlsOptions(4.0))
    graph = args[args.index("-filter_complex") + 1]
    assert "split" not in graph
    assert graph.startswith("[0:3]fps=30.0[s0];[s0]scale=426:240")


def test_interlaced_hdr_source_is_deinterlaced_then_tone_mapped_before_scaling() -> None:
    video = _video(field_order="tt", color_transfer="smpte2084", color_primaries="bt2020")
    rung = plan_ladder(_info(video), PRESET)[0]
    args = build_video_group_args("ffmpeg", URL, video, [rung], Path("/w"), HlsOptions(4.0))
    graph = args[args.index("-filter_complex") + 1]
    order = ["bwdif", "zscale=npl=100:t=linear", "tonemap=desat=0:tonemap=hable", "fps=", "]scale="]
    positions = [graph.index(step) for step in order]
    assert positions == sorted(positions)


def test_vp9_preset_uses_constrained_quality() -> None:
    video = _video()
    rung = plan_ladder(_info(video), load_preset("vp9"))[0]
    args = build_video_group_args("ffmpeg", URL, video, [rung], Path("/w"), HlsOptions(4.0))
    opts = _options(args, "/w/v_1080p/index.m3u8")
    assert opts["-c:v"] == "libvpx-vp9"
    assert opts["-crf"] == "33"
    assert opts["-b:v"] == opts["-maxrate"] == f"{rung.max_kbps}k"
    assert opts["-row-mt"] == "1"
    assert "-profile:v" not in opts
    assert "-level:v" not in opts


TRACK = AudioTrack(stream_index=1, language="fr", name="French", channels=6, default=False)


def test_loudness_scan_downmixes_first_and_prints_json_at_info_level() -> None:
    args = build_loudness_scan_args("ffmpeg", upload_audio(URL, TRACK), PRESET.audio)
    assert args[args.index("-loglevel") + 1] == "info"
    graph = args[args.index("-filter_complex") + 1]
    assert graph == (
        "[0:1]aformat=channel_layouts=stereo[s0];"
        "[s0]loudnorm=I=-16.0:LRA=11.0:TP=-1.0:print_format=json[s1]"
    )
    assert args[-4:] == ["[s1]", "-f", "null", "-"]  # measured, nothing written


def test_audio_track_gets_a_constant_gain_when_its_peaks_leave_room() -> None:
    # -20 LUFS to -16 is +4 dB; the true peak goes from -8 to -4 dBTP, under -1
    measured = Loudness(integrated=-20.0, true_peak=-8.0, lra=5.0, threshold=-30.0, offset=0.1)
    audio = extracted_audio(Path("/w/audio.mov"), 0)
    args = build_audio_track_args(
        "ffmpeg", audio, PRESET.audio, measured, Path("/w/a_1_fr"), HlsOptions(4.0)
    )
    # the local copy is read with the file protocol and the mov demuxer only
    assert args[args.index("-i") - 6 : args.index("-i") + 2] == [
        "-codec_whitelist", ",".join(ALLOWED_DECODERS), "-format_whitelist", "mov",
        "-protocol_whitelist", "file", "-i", "/w/audio.mov",
    ]  # fmt: skip
    graph = args[args.index("-filter_complex") + 1]
    assert graph == "[0:a:0]aformat=channel_layouts=stereo[s0];[s0]volume=4.00dB[s1]"
    opts = _options(args, "/w/a_1_fr/index.m3u8")
    assert (opts["-c:a"], opts["-b:a"], opts["-ac"], opts["-ar"]) == ("aac", "128k", "2", "48000")
    # audio segments are streamed out as ffmpeg renames them, as video's are
    assert opts["-hls_flags"] == "independent_segments+temp_file"


def test_audio_track_goes_to_loudnorms_dynamic_mode_when_a_gain_would_clip() -> None:
    # +7.5 dB would put the -4.2 dBTP peak at +3.3
    measured = Loudness(integrated=-23.5, true_peak=-4.2, lra=6.1, threshold=-33.9, offset=0.3)
    args = build_audio_track_args(
        "ffmpeg", upload_audio(URL, TRACK), PRESET.audio, measured, Path("/w/a"), HlsOptions(4.0)
    )
    graph = args[args.index("-filter_complex") + 1]
    assert graph == (
        "[0:1]aformat=channel_layouts=stereo[s0];[s0]loudnorm=I=-16.0:LRA=11.0:TP=-1.0"
        ":linear=false:measured_I=-23.5:measured_LRA=6.1:measured_TP=-4.2"
        ":measured_thresh=-33.9:offset=0.3:print_format=none[s1];"
        # restamped by sample count: loudnorm's dynamic mode drifts from its samples
        "[s1]asetpts=N/SR/TB+STARTPTS[s2]"
    )


@pytest.mark.parametrize(
    ("integrated", "true_peak", "lra", "gain"),
    [
        (-20.0, -5.0, 5.0, 4.0),  # the peak lands exactly on the -1 dBTP ceiling
        (-20.0, -4.9, 5.0, None),  # 0.1 dB past it
        (-9.5, -0.2, 8.0, -6.5),  # too loud: turned down
        (-20.0, -12.0, 11.0, 4.0),  # the range exactly the target's
        (-20.0, -12.0, 11.1, None),  # wider: a constant gain would keep it too wide
        (-70.0, -80.0, 0.0, None),  # silence
        (float("-inf"), float("-inf"), 0.0, None),
    ],
)
def test_linear_gain_follows_loudnorms_rule(
    integrated: float, true_peak: float, lra: float, gain: float | None
) -> None:
    measured = Loudness(integrated, true_peak, lra, integrated - 10, 0.0)
    assert measured.linear_gain(LoudnessTarget()) == gain


def test_silent_track_is_not_normalised_and_denoise_comes_first() -> None:
    silent = Loudness(float("-inf"), float("-inf"), 0.0, -70.0, 0.0)
    args = build_audio_track_args(
        "ffmpeg", upload_audio(URL, TRACK), PRESET.audio, silent, Path("/w/a"), HlsOptions(4.0)
    )
    assert "loudnorm" not in args[args.index("-filter_complex") + 1]
    voice = load_preset("voice").audio
    args = build_loudness_scan_args("ffmpeg", upload_audio(URL, TRACK), voice)
    assert args[args.index("-filter_complex") + 1].startswith("[0:1]afftdn=nf=-25[s0];")


def test_parse_loudnorm_reads_the_last_report() -> None:
    report = {
        "input_i": "-27.61", "input_tp": "-4.47", "input_lra": "18.06",
        "input_thresh": "-39.20", "output_i": "-16.58", "output_tp": "-1.50",
        "output_lra": "14.78", "output_thresh": "-27.71", "normalization_type": "dynamic",
        "target_offset": "0.58",
    }  # fmt: skip
    stderr = "Stream mapping: ...\n[Parsed_loudnorm_1 @ 0x1]\n" + json.dumps(report, indent=1)
    assert parse_loudnorm(stderr) == Loudness(-27.61, -4.47, 18.06, -39.2, 0.58)
    assert parse_loudnorm("no report here") is None
    silent = parse_loudnorm(json.dumps({**report, "input_i": "-inf", "input_tp": "-inf"}))
    assert silent is not None
    assert silent.is_silent
    assert silent.to_dict()["integrated_lufs"] is None


def test_single_command_reads_once_for_video_audio_and_poster() -> None:
    video = _video()
    rungs = plan_ladder(_info(video), PRESET)
    args = build_single_command_args(
        "ffmpeg", URL, video, rungs, [(TRACK, None)], PRESET.audio, Path("/w"), HlsOptions(4.0),
        poster=(Path("/w/poster.jpg"), 2.0),
    )  # fmt: skip
    assert args.count("-i") == 1
    assert len([a for a in args if a.endswith("index.m3u8")]) == len(rungs) + 1
    graph = args[args.index("-filter_complex") + 1]
    assert graph.startswith(f"[0:3]split={len(rungs) + 1}")
    assert "trim=start=2.0[" in graph
    assert "thumbnail=30" in graph
    assert args[args.index("/w/poster.jpg") - 2 : args.index("/w/poster.jpg")] == ["-vframes", "1"]
    assert "-progress" not in args


def test_audio_is_copied_out_once_without_decoding() -> None:
    other = AudioTrack(stream_index=4, language="en", name="English", channels=2, default=True)
    args = build_audio_extract_args("ffmpeg", URL, [TRACK, other], Path("/w/audio.mov"))
    assert args[len(HEAD) + len(GUARD) :] == [
        "-i", URL, "-map", "0:1", "-map", "0:4", "-f", "mov", "-c", "copy", "/w/audio.mov",
    ]  # fmt: skip


def test_download_is_a_faststart_remux() -> None:
    args = build_download_args("ffmpeg", Path("/t/v.mp4"), Path("/t/a.mp4"), Path("/t/d.mp4"))
    assert args[len(HEAD) :] == [
        "-i", "/t/v.mp4", "-i", "/t/a.mp4", "-map", "0:v:0", "-map", "1:a:0",
        "-f", "mp4", "-c", "copy", "-movflags", "+faststart", "/t/d.mp4",
    ]  # fmt: skip
    assert "-protocol_whitelist" not in args  # our own local files, not an upload


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


def test_frame_at_reads_only_a_local_mp4_and_seeks_exactly_to_square_pixels() -> None:
    args = build_frame_at_args("ffmpeg", Path("/w/segment.mp4"), 2.0004, Path("/w/frame.png"))
    assert args == [
        *HEAD,
        "-codec_whitelist", ",".join(ALLOWED_DECODERS),
        # our own published segment, read from disk: nothing but the mov demuxer and files
        "-format_whitelist", "mov",
        "-protocol_whitelist", "file",
        "-ss", "2.000",  # an input seek: decoded up to the frame, not the nearest keyframe
        "-i", "/w/segment.mp4",
        "-filter_complex", "[0:v:0]scale=iw*sar:ih[s0];[s0]setsar=1[s1]",
        "-map", "[s1]",
        "-f", "image2", "-c:v", "png", "-compression_level", "1", "-frames:v", "1",
        "-update", "1",  # one picture, not a numbered sequence
        "/w/frame.png",
    ]  # fmt: skip


def test_animations_of_published_segments_as_webp_or_gif_with_its_own_palette() -> None:
    local = ["-codec_whitelist", ",".join(ALLOWED_DECODERS), "-format_whitelist", "mov",
             "-protocol_whitelist", "file"]  # fmt: skip
    common = dict(offset=1.5, seconds=2.0, fps=10)
    webp = build_animation_at_args(
        "ffmpeg", Path("/w/s.mp4"), Path("/w/a.webp"), box=(320, None), format="webp", **common
    )
    assert webp == [
        *HEAD, *local, "-ss", "1.500", "-t", "2.000", "-i", "/w/s.mp4",
        "-filter_complex",
        "[0:v:0]setpts=PTS-STARTPTS[s0];[s0]fps=10[s1];[s1]scale=min(320\\,iw):-2[s2];"
        "[s2]setsar=1[s3]",
        "-map", "[s3]", "-f", "webp", "-an", "-c:v", "libwebp_anim", "-compression_level", "4",
        "-loop", "0", "-quality", "80", "/w/a.webp",
    ]  # fmt: skip
    gif = build_animation_at_args(
        "ffmpeg", Path("/w/s.mp4"), Path("/w/a.gif"), box=(320, 200), format="gif", **common
    )
    graph = gif[gif.index("-filter_complex") + 1]
    # a box with both sides: aspect kept inside it; the palette from the frames themselves
    assert "scale=min(320\\,iw):min(200\\,ih):force_original_aspect_ratio=decrease" in graph
    assert graph.endswith(
        "split=2[s4][s5];[s4]palettegen[s6];[s5][s6]paletteuse=bayer_scale=3:dither=bayer[s7]"
    )
    assert gif[-8:] == ["-map", "[s7]", "-f", "gif", "-an", "-loop", "0", "/w/a.gif"]


def test_keyframe_interval_and_poster_seek() -> None:
    assert keyframe_interval(25.0, 4.0) == 200
    assert keyframe_interval(29.97, 4.0) == 240
    assert keyframe_interval(None, 2.0) == 120
    assert poster_seek_seconds(None) == 0.0
    assert poster_seek_seconds(0.5) == 0.0
    assert poster_seek_seconds(30.0) == 3.0
    assert poster_seek_seconds(7200.0) == 10.0
