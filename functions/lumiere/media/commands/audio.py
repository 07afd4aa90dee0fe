"""Audio renditions: each source track extracted, measured (EBU R128) and encoded with
loudness normalised, as CMAF HLS."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from lumiere.media.audio import AudioTrack, Loudness
from lumiere.media.commands.common import (
    GLOBAL_OPTIONS,
    VARIANT_PLAYLIST,
    HlsOptions,
    head_options,
    upload_input,
)
from lumiere.media.ladder import AudioCodecSettings
from lumiere.media.safety import (
    INTERMEDIATE_FORMAT,
    input_guard_options,
    intermediate_guard_options,
)


@dataclass(frozen=True)
class AudioInput:
    """Where an audio track is read from: the upload itself (by its stream index), or the
    local copy ``build_audio_extract_args`` made (by its position there)."""

    url: str
    stream: str
    local: bool = False

    def node(self) -> Any:
        options = intermediate_guard_options() if self.local else input_guard_options()
        return ffmpeg.input(self.url, **options)[self.stream]


def upload_audio(source_url: str, track: AudioTrack) -> AudioInput:
    return AudioInput(source_url, str(track.stream_index))


def build_audio_extract_args(
    ffmpeg_bin: str, source_url: str, tracks: Sequence[AudioTrack], out: Path
) -> list[str]:
    """Copy every audio track out of the upload into one local file, without decoding:
    the upload is then read once for audio instead of twice per track (loudness scan,
    encode), and the video in it is never downloaded again."""
    src = upload_input(source_url)
    streams = [src[str(t.stream_index)] for t in tracks]
    out_node = ffmpeg.output(*streams, str(out), c="copy", f=INTERMEDIATE_FORMAT)
    return [ffmpeg_bin, *GLOBAL_OPTIONS, *out_node.get_args()]


def extracted_audio(path: Path, position: int) -> AudioInput:
    return AudioInput(str(path), f"a:{position}", local=True)


def _audio_filters(stream: Any, settings: AudioCodecSettings) -> Any:
    if settings.denoise:
        stream = stream.filter("afftdn", nf=-25)
    # Downmix first so loudness is measured on what listeners hear: swresample's matrix
    # folds centre and surrounds in at -3 dB.
    layout = "stereo" if settings.channels == 2 else "mono"
    return stream.filter("aformat", channel_layouts=layout)


def _loudnorm_options(settings: AudioCodecSettings) -> dict[str, float]:
    target = settings.loudness
    assert target is not None
    return {"I": target.integrated, "TP": target.true_peak, "LRA": target.lra}


def build_loudness_scan_args(
    ffmpeg_bin: str, audio: AudioInput, settings: AudioCodecSettings
) -> list[str]:
    """First loudnorm pass: decode the track, print its measured loudness as JSON.

    loudnorm reports at the info log level, so this command is not quiet.
    """
    stream = _audio_filters(audio.node(), settings)
    stream = stream.filter("loudnorm", print_format="json", **_loudnorm_options(settings))
    out = ffmpeg.output(stream, "-", f="null")
    return [
        ffmpeg_bin,
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-loglevel",
        "info",
        *out.get_args(),
    ]


def audio_output(
    stream: Any,
    settings: AudioCodecSettings,
    measured: Loudness | None,
    out_dir: Path,
    hls: HlsOptions,
) -> Any:
    stream = _audio_filters(stream, settings)
    target = settings.loudness
    gain = measured.linear_gain(target) if target is not None and measured is not None else None
    if gain is not None:
        stream = stream.filter("volume", f"{gain:.2f}dB")
    elif target is not None and measured is not None and not measured.is_silent:
        # A constant gain would clip the true peak (or the range is too wide): loudnorm
        # compresses dynamically, guided by its first pass's figures and offset.
        stream = stream.filter(
            "loudnorm",
            measured_I=measured.integrated,
            measured_TP=measured.true_peak,
            measured_LRA=measured.lra,
            measured_thresh=measured.threshold,
            offset=measured.offset,
            linear="false",
            print_format="none",
            **_loudnorm_options(settings),
        )
        # loudnorm's dynamic mode emits frames whose timestamps drift from the samples
        # they carry, and the HLS muxer then cuts segments whose EXTINF disagrees with
        # their audio by tens of ms.
        # Restamp by sample count, keeping the track's start (its offset to the video).
        stream = stream.filter("asetpts", "N/SR/TB+STARTPTS")
    options: dict[str, str | int | float] = {
        "c:a": settings.codec,
        "b:a": f"{settings.bitrate_kbps}k",
        "ac": settings.channels,
        # the source's rate may differ, and loudnorm works at 192 kHz
        "ar": settings.sample_rate,
        **hls.muxer_options(out_dir),
    }
    return ffmpeg.output(stream, str(out_dir / VARIANT_PLAYLIST), **options)


def build_audio_track_args(
    ffmpeg_bin: str,
    audio: AudioInput,
    settings: AudioCodecSettings,
    measured: Loudness | None,
    out_dir: Path,
    hls: HlsOptions,
    *,
    progress: bool = True,
) -> list[str]:
    """One audio rendition (fMP4 HLS), loudness-normalised with the measured figures."""
    out = audio_output(audio.node(), settings, measured, out_dir, hls)
    return [ffmpeg_bin, *head_options(progress), *out.get_args()]
