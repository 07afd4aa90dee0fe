"""The video ladder: one decode split into every rendition of a group, each scaled,
tone-mapped when HDR, and muxed as CMAF HLS; and the progressive MP4 remux."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ffmpeg

from lumiere.media.commands.common import (
    GLOBAL_OPTIONS,
    VARIANT_PLAYLIST,
    FrameSpan,
    HlsOptions,
    head_options,
    keyframe_interval,
    upload_input,
    video_dirname,
)
from lumiere.media.commands.storyboards import storyboard_output
from lumiere.media.ladder import Rendition
from lumiere.media.storyboard import Storyboard
from lumiere.media.streams import VideoStream

# HDR (PQ/HLG) to SDR BT.709 for 8-bit H.264: linearise, tone-map, re-encode the curve.
# Without it an HDR source plays washed out on every SDR screen.
_TONEMAP = [
    ("zscale", {"t": "linear", "npl": 100}),
    ("format", {"pix_fmts": "gbrpf32le"}),
    ("zscale", {"p": "bt709"}),
    ("tonemap", {"tonemap": "hable", "desat": 0}),
    ("zscale", {"t": "bt709", "m": "bt709", "r": "tv"}),
]


def _video_chain(
    stream: Any, source: VideoStream, rendition: Rendition, span: FrameSpan | None = None
) -> Any:
    """Deinterlace, tone-map, resample the rate, then scale: cheapest order first."""
    if source.is_interlaced:
        stream = stream.filter("bwdif", mode="send_frame")
    if source.is_hdr:
        for name, kwargs in _TONEMAP:
            stream = stream.filter(name, **kwargs)
    if span is not None:
        # The exact rational rate (a rung's rate is rounded: 29.97 is not 30000/1001),
        # and no fps filter at all when the rung keeps the source's rate.
        if rendition.frame_rate is not None and abs(rendition.frame_rate - span.fps) > 0.01:
            ratio = round(float(span.fps) / rendition.frame_rate)
            rate = span.fps / max(1, ratio)
            stream = stream.filter("fps", f"{rate.numerator}/{rate.denominator}")
    elif rendition.frame_rate is not None:
        stream = stream.filter("fps", rendition.frame_rate)
    return stream.filter("scale", rendition.width, rendition.height).filter("setsar", 1)


def video_codec_options(rendition: Rendition, hls: HlsOptions) -> dict[str, str | int | float]:
    """Capped CRF: quality-targeted, so easy pictures spend fewer bits, but never above
    the rung's cap (maxrate over a two-second VBV buffer).

    Keyframes are forced on segment boundaries by time, not frame count, so every
    rendition cuts at the same instants whatever its frame rate: players switch cleanly.
    """
    shared: dict[str, str | int | float] = {
        "pix_fmt": "yuv420p",
        "g": keyframe_interval(rendition.frame_rate, hls.segment_seconds),
        "force_key_frames": f"expr:gte(t,n_forced*{hls.segment_seconds:g})",
    }
    if rendition.video.codec == "vp9":
        return {
            "c:v": "libvpx-vp9",
            "crf": rendition.video.crf,
            "b:v": f"{rendition.max_kbps}k",
            "maxrate": f"{rendition.max_kbps}k",
            "bufsize": f"{rendition.bufsize_kbps}k",
            "deadline": "good",
            "cpu-used": rendition.video.preset,
            "row-mt": 1,
            **shared,
        }
    return {
        "c:v": "libx264",
        "preset": rendition.video.preset,
        "profile:v": rendition.video.profile or "high",
        "level:v": rendition.level,
        "crf": rendition.video.crf,
        "maxrate": f"{rendition.max_kbps}k",
        "bufsize": f"{rendition.bufsize_kbps}k",
        "sc_threshold": 0,
        **shared,
    }


def video_outputs(
    src: Any,
    source: VideoStream,
    renditions: Sequence[Rendition],
    out_root: Path,
    hls: HlsOptions,
    *,
    extra: int = 0,
    span: FrameSpan | None = None,
) -> list[Any]:
    """One output per rung; with ``extra``, that many more raw branches of the decoded
    video are appended (for the caller to finish)."""
    video = src[str(source.index)]
    if span is not None:
        # Once, before the split: every rung gets the same frames.
        video = video.filter("trim", **span.trim()).filter("setpts", "PTS-STARTPTS")
    count = len(renditions) + extra
    branches = [video] if count == 1 else list(split_stream(video, count))
    outputs = []
    for branch, rendition in zip(branches, renditions, strict=False):
        out_dir = out_root / video_dirname(rendition.name)
        options = {**video_codec_options(rendition, hls), **hls.muxer_options(out_dir)}
        chain = _video_chain(branch, source, rendition, span)
        outputs.append(ffmpeg.output(chain, str(out_dir / VARIANT_PLAYLIST), **options))
    return outputs + branches[len(renditions) :]


def split_stream(stream: Any, count: int) -> list[Any]:
    node = stream.split()
    return [node[i] for i in range(count)]


def build_video_group_args(
    ffmpeg_bin: str,
    source_url: str,
    source: VideoStream,
    renditions: Sequence[Rendition],
    out_root: Path,
    hls: HlsOptions,
    *,
    progress: bool = True,
    storyboard: tuple[Path, Storyboard] | None = None,
    span: FrameSpan | None = None,
) -> list[str]:
    """Several rungs from one decode: the source is read and decoded once and split.

    Each rung is an fMP4 HLS rendition without audio (audio is its own rendition group).
    ``storyboard`` (directory, layout) adds the seek-bar sprite sheets from the same
    decode, which costs a scale per thumbnail instead of a second pass over the video.
    ``span`` encodes only those frames, on a timeline of their own (``FrameSpan``).
    """
    # Not -start_number or -output_ts_offset to place a chunk: the first shifts the HLS
    # muxer's segment cutting, the second becomes an empty edit in init.mp4 while the
    # fragments' decode times stay local. The chunk's segments are moved afterwards
    # (isobmff.retime_fragment).
    seek = {"copyts": None, "ss": span.seek()} if span is not None else {}
    src = upload_input(source_url, **seek)
    outputs = video_outputs(
        src, source, renditions, out_root, hls, extra=1 if storyboard else 0, span=span
    )
    if storyboard is not None:
        out_dir, board = storyboard
        outputs.append(storyboard_output(outputs.pop(), out_dir, board))
    return [ffmpeg_bin, *head_options(progress), *ffmpeg.merge_outputs(*outputs).get_args()]


def build_download_args(ffmpeg_bin: str, video: Path, audio: Path | None, out: Path) -> list[str]:
    """A progressive MP4 from already-encoded CMAF tracks: a remux, no re-encode, with
    the index moved to the front (faststart) so browsers play it while downloading."""
    inputs = [ffmpeg.input(str(video))]
    if audio is not None:
        inputs.append(ffmpeg.input(str(audio)))
    streams = [inputs[0]["v:0"]] + ([inputs[1]["a:0"]] if audio is not None else [])
    output = ffmpeg.output(*streams, str(out), c="copy", movflags="+faststart", f="mp4")
    return [ffmpeg_bin, *GLOBAL_OPTIONS, *output.get_args()]
