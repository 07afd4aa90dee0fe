"""Every ffmpeg command line Lumiere runs, built as argument lists in one place.

Building is pure (ffmpeg-python assembles the filter graph and options; nothing runs
here), so the exact arguments are unit-tested. Each command reads the upload through the
guarded input options of ``safety``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg

from lumiere.media.audio import AudioTrack, Loudness
from lumiere.media.ladder import AudioCodecSettings, Rendition
from lumiere.media.safety import (
    INTERMEDIATE_FORMAT,
    input_guard_options,
    intermediate_guard_options,
)
from lumiere.media.storyboard import Storyboard
from lumiere.media.streams import VideoStream

INIT_SEGMENT = "init.mp4"
SEGMENT_PATTERN = "seg_%05d.m4s"
VARIANT_PLAYLIST = "index.m3u8"

# Written before the command so the output is quiet unless something goes wrong, and so a
# stray prompt can never block a worker.
_GLOBAL = ["-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
# Machine-readable progress (key=value lines) on stdout; see media/progress.py.
_PROGRESS = ["-progress", "pipe:1", "-nostats"]

# HDR (PQ/HLG) to SDR BT.709 for 8-bit H.264: linearise, tone-map, re-encode the curve.
# Without it an HDR source plays washed out on every SDR screen.
_TONEMAP = [
    ("zscale", {"t": "linear", "npl": 100}),
    ("format", {"pix_fmts": "gbrpf32le"}),
    ("zscale", {"p": "bt709"}),
    ("tonemap", {"tonemap": "hable", "desat": 0}),
    ("zscale", {"t": "bt709", "m": "bt709", "r": "tv"}),
]


def video_dirname(rendition_name: str) -> str:
    return f"v_{rendition_name}"


@dataclass(frozen=True)
class HlsOptions:
    segment_seconds: float

    def muxer_options(self, out_dir: Path) -> dict[str, str | float]:
        return {
            "f": "hls",
            "hls_time": self.segment_seconds,
            "hls_playlist_type": "vod",
            "hls_segment_type": "fmp4",
            # temp_file: each segment appears under its final name only once it is whole,
            # which is how segment_watch knows it may upload it while ffmpeg runs.
            "hls_flags": "independent_segments+temp_file",
            "hls_fmp4_init_filename": INIT_SEGMENT,
            "hls_segment_filename": str(out_dir / SEGMENT_PATTERN),
        }


def upload_input(source_url: str, **options: Any) -> ffmpeg.nodes.InputNode:
    """The upload as an ffmpeg input, with the guards every read of an upload carries."""
    return ffmpeg.input(source_url, **options, **input_guard_options())


def _head(progress: bool) -> list[str]:
    return [*_GLOBAL, *(_PROGRESS if progress else [])]


def keyframe_interval(frame_rate: float | None, segment_seconds: float) -> int:
    """A GOP cap long enough never to fire before the forced segment-boundary keyframe."""
    return 2 * math.ceil((frame_rate or 30.0) * segment_seconds)


@dataclass(frozen=True)
class FrameSpan:
    """Source frames [first, first + count) of a constant-rate video (``count`` None: to
    the end), encoded on their own timeline starting at zero: one chunk of a long video.

    The frames are picked by their original timestamps (``-copyts``), with each bound
    half a frame early so the frame exactly at a bound falls on the right side whatever
    the rounding, then restamped from zero. Keyframes forced by time then land on the
    chunk's own segment grid, and every chunk writes the same init segment."""

    first: int
    count: int | None
    fps: Fraction
    origin: float = 0.0  # the video's first timestamp (stream start_time)
    preroll: float = 1.0  # seek this far before the first frame, then trim exactly

    @property
    def start_seconds(self) -> Fraction:
        return self.first / self.fps

    def seek(self) -> float:
        return max(0.0, float(self.start_seconds) - self.preroll)

    def trim(self) -> dict[str, float]:
        half = 1 / (2 * self.fps)
        bounds = {"start": self.origin + float(self.start_seconds - half)}
        if self.count is not None:
            bounds["end"] = self.origin + float((self.first + self.count) / self.fps - half)
        return bounds


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


def _video_outputs(
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
    branches = [video] if count == 1 else list(_split(video, count))
    outputs = []
    for branch, rendition in zip(branches, renditions, strict=False):
        out_dir = out_root / video_dirname(rendition.name)
        options = {**video_codec_options(rendition, hls), **hls.muxer_options(out_dir)}
        chain = _video_chain(branch, source, rendition, span)
        outputs.append(ffmpeg.output(chain, str(out_dir / VARIANT_PLAYLIST), **options))
    return outputs + branches[len(renditions) :]


def _split(stream: Any, count: int) -> list[Any]:
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
    outputs = _video_outputs(
        src, source, renditions, out_root, hls, extra=1 if storyboard else 0, span=span
    )
    if storyboard is not None:
        out_dir, board = storyboard
        outputs.append(storyboard_output(outputs.pop(), out_dir, board))
    return [ffmpeg_bin, *_head(progress), *ffmpeg.merge_outputs(*outputs).get_args()]


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
    return [ffmpeg_bin, *_GLOBAL, *out_node.get_args()]


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


def _audio_output(
    stream: Any,
    settings: AudioCodecSettings,
    measured: Loudness | None,
    out_dir: Path,
    hls: HlsOptions,
) -> Any:
    stream = _audio_filters(stream, settings)
    if settings.loudness is not None and measured is not None and not measured.is_silent:
        # Linear (a constant gain) when the target is reachable without clipping the
        # true peak; loudnorm falls back to its dynamic mode otherwise.
        stream = stream.filter(
            "loudnorm",
            measured_I=measured.integrated,
            measured_TP=measured.true_peak,
            measured_LRA=measured.lra,
            measured_thresh=measured.threshold,
            offset=measured.offset,
            linear="true",
            print_format="none",
            **_loudnorm_options(settings),
        )
        # loudnorm's dynamic mode (its fallback when the linear gain would clip) emits
        # frames whose timestamps drift from the samples they carry, and the HLS muxer
        # then cuts segments whose EXTINF disagrees with their audio by tens of ms.
        # Restamp by sample count, keeping the track's start (its offset to the video).
        stream = stream.filter("asetpts", "N/SR/TB+STARTPTS")
    options: dict[str, str | int | float] = {
        "c:a": settings.codec,
        "b:a": f"{settings.bitrate_kbps}k",
        "ac": settings.channels,
        # loudnorm works at 192 kHz; -ar brings it back down.
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
    """One audio rendition (fMP4 HLS), loudness-normalised with the first pass's figures."""
    out = _audio_output(audio.node(), settings, measured, out_dir, hls)
    return [ffmpeg_bin, *_head(progress), *out.get_args()]


def build_single_command_args(
    ffmpeg_bin: str,
    source_url: str,
    source: VideoStream,
    renditions: Sequence[Rendition],
    tracks: Sequence[tuple[AudioTrack, Loudness | None]],
    settings: AudioCodecSettings,
    out_root: Path,
    hls: HlsOptions,
    poster: tuple[Path, float] | None = None,
    storyboard: tuple[Path, Storyboard] | None = None,
) -> list[str]:
    """Every output from one process: the practical limit the benchmark compares the
    pipeline against (one demux, one decode, no hand-offs). ``poster`` is (path, seek):
    the same thumbnail pick as ``build_poster_args``, from a branch of the one decode;
    ``storyboard`` as in ``build_video_group_args``."""
    src = upload_input(source_url)
    extra = (1 if poster else 0) + (1 if storyboard else 0)
    outputs = _video_outputs(src, source, renditions, out_root, hls, extra=extra)
    if storyboard is not None:
        out_dir, board = storyboard
        outputs.append(storyboard_output(outputs.pop(), out_dir, board))
    if poster is not None:
        path, seek = poster
        frame = _poster_chain(outputs.pop(-1 - (1 if storyboard else 0)).filter("trim", start=seek))
        outputs.append(ffmpeg.output(frame, str(path), vframes=1, **{"q:v": 3}))
    for track, measured in tracks:
        stream = src[str(track.stream_index)]
        outputs.append(_audio_output(stream, settings, measured, out_root / track.dirname, hls))
    return [ffmpeg_bin, *_GLOBAL, *ffmpeg.merge_outputs(*outputs).get_args()]


def build_download_args(ffmpeg_bin: str, video: Path, audio: Path | None, out: Path) -> list[str]:
    """A progressive MP4 from already-encoded CMAF tracks: a remux, no re-encode, with
    the index moved to the front (faststart) so browsers play it while downloading."""
    inputs = [ffmpeg.input(str(video))]
    if audio is not None:
        inputs.append(ffmpeg.input(str(audio)))
    streams = [inputs[0]["v:0"]] + ([inputs[1]["a:0"]] if audio is not None else [])
    output = ffmpeg.output(*streams, str(out), c="copy", movflags="+faststart", f="mp4")
    return [ffmpeg_bin, *_GLOBAL, *output.get_args()]


def build_poster_args(
    ffmpeg_bin: str,
    source_url: str,
    out_path: Path,
    *,
    seek_seconds: float,
    max_width: int,
    max_height: int,
) -> list[str]:
    """A representative JPEG frame: ffmpeg's ``thumbnail`` filter picks the most typical
    frame of a short window after ``seek_seconds``, which skips black and fade frames.

    The input seek is fast (keyframe based); the window of 30 frames is decoded.
    """
    src = upload_input(source_url, ss=f"{seek_seconds:.3f}")
    frame = _poster_chain(src["v:0"], max_width, max_height)
    out = ffmpeg.output(frame, str(out_path), vframes=1, **{"q:v": 3})
    return [ffmpeg_bin, *_GLOBAL, *out.get_args()]


def animated_webp_options(quality: int) -> dict[str, str | int | float]:
    """A looping animated WebP, as the preview part and /img/ animations write it."""
    return {
        "c:v": "libwebp_anim",
        "quality": quality,
        "compression_level": 4,
        "loop": 0,
        "f": "webp",
    }


def build_animation_at_args(
    ffmpeg_bin: str,
    segments: Path,
    out: Path,
    *,
    offset: float,
    seconds: float,
    fps: int,
    box: tuple[int | None, int | None],
    format: str,
    quality: int = 80,
) -> list[str]:
    """A looping animation of ``seconds`` from ``offset`` into published segments (an
    init section and consecutive fragments written as one MP4), inside ``box`` (never
    upscaled, aspect kept), as animated WebP or GIF.

    GIF gets a palette made from its own frames (``palettegen``, then ``paletteuse``
    with Bayer dithering) in one pass: the 256-colour default would band every gradient.
    """
    if format not in ("webp", "gif"):
        raise ValueError(f"unsupported animation format {format!r}")
    src = ffmpeg.input(
        str(segments), ss=f"{offset:.3f}", t=f"{seconds:.3f}", **intermediate_guard_options()
    )
    width, height = box
    frames = (
        src["v:0"]
        .filter("setpts", "PTS-STARTPTS")
        .filter("fps", fps)
        .filter(
            "scale",
            f"min({width},iw)" if width else -2,
            f"min({height},ih)" if height else -2,
            **({"force_original_aspect_ratio": "decrease"} if width and height else {}),
        )
        .filter("setsar", 1)
    )
    if format == "gif":
        split = frames.filter_multi_output("split")
        palette = split[0].filter("palettegen")
        frames = ffmpeg.filter([split[1], palette], "paletteuse", dither="bayer", bayer_scale=3)
        options: dict[str, str | int | float] = {"f": "gif", "loop": 0}
    else:
        options = animated_webp_options(quality)
    output = ffmpeg.output(frames, str(out), an=None, **options)
    return [ffmpeg_bin, *_GLOBAL, *output.get_args()]


POSTER_MAX = (1280, 720)


def _poster_chain(
    stream: Any, max_width: int = POSTER_MAX[0], max_height: int = POSTER_MAX[1]
) -> Any:
    return stream.filter("thumbnail", 30).filter(
        "scale",
        f"min({max_width},iw)",
        f"min({max_height},ih)",
        force_original_aspect_ratio="decrease",
        force_divisible_by=2,
    )


def poster_seek_seconds(duration: float | None) -> float:
    """A tenth of the way in (past titles), at most 10 s, and never past a short clip."""
    if not duration or duration <= 1.0:
        return 0.0
    return min(10.0, duration / 10.0)


def build_frame_at_args(ffmpeg_bin: str, segment: Path, offset: float, out: Path) -> list[str]:
    """One frame, ``offset`` seconds into a published segment (its init section and the
    segment written as one fragmented MP4: see media/hls_seek.py), as a PNG.

    The input seek is relative to the segment's own start time (ffmpeg adds the file's
    start time) and exact: frames before it are decoded and dropped. Pixels are made
    square, so a rendition with a sample aspect ratio comes out at its display shape.
    PNG at zlib level 1: the picture is re-encoded at once by the image pipeline, so
    speed matters and size does not.
    """
    src = ffmpeg.input(str(segment), ss=f"{offset:.3f}", **intermediate_guard_options())
    frame = src["v:0"].filter("scale", "iw*sar", "ih").filter("setsar", 1)
    out_node = ffmpeg.output(
        frame, str(out), f="image2", update=1, compression_level=1, **{"frames:v": 1, "c:v": "png"}
    )
    return [ffmpeg_bin, *_GLOBAL, *out_node.get_args()]


# --- previews ---
# Storyboard sprite sheets, an animated preview, PCM for waveform peaks and cover art.
# Same rules as above: pure builders, the upload read through ``_source``'s guards.

# The sheet file names; storyboard.py plans the same names for the VTT.
STORYBOARD_FILES = "storyboard_%03d.jpg"
# Past this interval, decode keyframes only: a thumbnail every minute does not need the
# frames between keyframes, and skipping them makes a long film many times cheaper.
STORYBOARD_KEYFRAMES_ONLY_FROM = 10.0
PREVIEW_FRAME_RATE = 12  # smooth enough for a hover preview, and small
WAVEFORM_SAMPLE_RATE = 8000  # peaks only: 8 kHz keeps the pipe small for a 4-hour file


def build_storyboard_args(
    ffmpeg_bin: str,
    source_url: str,
    out_dir: Path,
    *,
    interval: float,
    tile_width: int,
    columns: int,
    rows: int,
    count: int,
    tile_height: int | None = None,
    keyframes_only: bool | None = None,
    quality: int = 5,
) -> list[str]:
    """Exactly ``count`` thumbnails (``storyboard.thumbnail_count``), one every
    ``interval`` seconds from the start, tiled ``columns`` x ``rows`` into JPEG sprite
    sheets ``out_dir/storyboard_%03d.jpg`` (numbered from 1; a short last sheet is padded
    black). ``tile_height`` should come from ``storyboard.tile_size`` so the VTT and the
    pixels agree; without it the height follows the aspect (even).

    Exactly ``count``, so the sheets always match the VTT: the last picture is repeated if
    the stream ends early (a container duration longer than the video, or keyframes
    only), and any extra frame fps emits at the very end is dropped.
    """
    if keyframes_only is None:
        keyframes_only = interval >= STORYBOARD_KEYFRAMES_ONLY_FROM
    src = upload_input(source_url, **({"skip_frame": "nokey"} if keyframes_only else {}))
    stream = src["v:0"]
    if keyframes_only:
        # A keyframe-only stream carries no frame durations, so fps never emits its last
        # frame (and nothing at all for a single keyframe); holding it makes fps see it.
        stream = stream.filter("tpad", stop_mode="clone", stop_duration=f"{interval:g}")
    stream = _storyboard_chain(
        stream,
        interval=interval,
        tile_width=tile_width,
        tile_height=tile_height,
        columns=columns,
        rows=rows,
        count=count,
    )
    out = ffmpeg.output(
        stream, str(out_dir / STORYBOARD_FILES), f="image2", start_number=1, **{"q:v": quality}
    )
    return [ffmpeg_bin, *_GLOBAL, *out.get_args()]


def _storyboard_chain(
    stream: Any,
    *,
    interval: float,
    tile_width: int,
    tile_height: int | None,
    columns: int,
    rows: int,
    count: int,
) -> Any:
    return (
        # fps picks the frame nearest each multiple of the interval.
        stream.filter("fps", f"1/{interval:g}")
        .filter("tpad", stop_mode="clone", stop=count)
        .filter("trim", end_frame=count)
        .filter("scale", tile_width, tile_height or -2)
        .filter("setsar", 1)
        .filter("tile", f"{columns}x{rows}")
    )


def storyboard_output(stream: Any, out_dir: Path, board: Storyboard, quality: int = 5) -> Any:
    """A storyboard from frames already decoded (a branch of a video group's split)."""
    chain = _storyboard_chain(
        stream,
        interval=board.interval,
        tile_width=board.tile_width,
        tile_height=board.tile_height,
        columns=board.columns,
        rows=board.rows,
        count=board.count,
    )
    return ffmpeg.output(
        chain, str(out_dir / STORYBOARD_FILES), f="image2", start_number=1, **{"q:v": quality}
    )


@dataclass(frozen=True)
class PreviewClip:
    start: float
    seconds: float


def preview_clips(
    duration: float | None, clips: int = 4, clip_seconds: float = 1.0
) -> list[PreviewClip]:
    """Evenly spaced moments: clip i is centred at (i + 0.5)/clips of the way through,
    kept inside the source. A source no longer than all the clips together (or of
    unknown length) is used whole, from the start, as one clip."""
    total = clips * clip_seconds
    if not duration or duration <= total:
        return [PreviewClip(0.0, min(duration, total) if duration else total)]
    latest = duration - clip_seconds
    starts = [(i + 0.5) * duration / clips - clip_seconds / 2 for i in range(clips)]
    return [PreviewClip(round(min(max(0.0, s), latest), 3), clip_seconds) for s in starts]


def build_animated_preview_args(
    ffmpeg_bin: str,
    source_url: str,
    out: Path,
    *,
    duration: float | None,
    clips: int = 4,
    clip_seconds: float = 1.0,
    width: int = 320,
    format: str = "mp4",
) -> list[str]:
    """A short silent preview stitched from evenly spaced moments, as H.264 MP4 or
    animated WebP.

    Each moment is its own input with a seek (``-ss``/``-t``): ffmpeg fetches a few byte
    ranges around those instants instead of downloading and decoding the whole upload,
    which keeps a 4-hour film as cheap as a 4-second one. The pieces are concatenated.
    """
    if format not in ("mp4", "webp"):
        raise ValueError(f"unsupported preview format {format!r}")
    pieces = []
    for clip in preview_clips(duration, clips, clip_seconds):
        src = upload_input(source_url, ss=f"{clip.start:.3f}", t=f"{clip.seconds:.3f}")
        pieces.append(
            src["v:0"]
            .filter("setpts", "PTS-STARTPTS")
            .filter("fps", PREVIEW_FRAME_RATE)
            .filter("scale", f"min({width},iw)", -2)
            .filter("setsar", 1)
        )
    video = pieces[0] if len(pieces) == 1 else ffmpeg.concat(*pieces, v=1, a=0)
    video = video.filter("format", "yuv420p")
    options: dict[str, str | int | float]
    if format == "mp4":
        options = {
            "c:v": "libx264",
            "preset": "veryfast",
            "crf": 28,
            "profile:v": "main",
            "pix_fmt": "yuv420p",
            "movflags": "+faststart",
            "f": "mp4",
        }
    else:
        options = animated_webp_options(quality=60)
    output = ffmpeg.output(video, str(out), an=None, **options)
    return [ffmpeg_bin, *_GLOBAL, *output.get_args()]


def build_waveform_pcm_args(
    ffmpeg_bin: str,
    source_url: str | AudioInput,
    *,
    sample_rate: int = WAVEFORM_SAMPLE_RATE,
    stream: str = "a:0",
) -> list[str]:
    """An audio stream decoded to mono signed 16-bit little-endian PCM on stdout, for
    ``waveform.PeakAccumulator`` to read in chunks (nothing touches disk). The source is
    an upload URL (with ``stream``) or an ``AudioInput`` (the audio part's local copy)."""
    node = (
        source_url.node()
        if isinstance(source_url, AudioInput)
        else upload_input(source_url)[stream]
    )
    out = ffmpeg.output(node, "pipe:1", f="s16le", acodec="pcm_s16le", ac=1, ar=sample_rate)
    return [ffmpeg_bin, *_GLOBAL, *out.get_args()]


# The codecs attached pictures come in, and the file suffix each is written with.
COVER_ART_SUFFIXES = {"mjpeg": ".jpg", "png": ".png", "bmp": ".bmp", "webp": ".webp"}


def build_cover_art_args(
    ffmpeg_bin: str, source_url: str, stream_index: int, out: Path
) -> list[str]:
    """Copy an attached picture (disposition ``attached_pic``: the cover in an MP3's ID3
    tag or an M4A's ``covr``) out of an audio file, bytes as they are, no re-encode.
    ``out``'s suffix should match the picture's codec (``COVER_ART_SUFFIXES``)."""
    src = upload_input(source_url)
    output = ffmpeg.output(
        src[str(stream_index)], str(out), c="copy", f="image2", update=1, **{"frames:v": 1}
    )
    return [ffmpeg_bin, *_GLOBAL, *output.get_args()]


def build_animation_mp4_args(ffmpeg_bin: str, source_url: str, out: Path) -> list[str]:
    """An animated GIF/WebP/APNG as a silent H.264 MP4: a tenth of the bytes for the
    same picture, and it plays with <video autoplay muted loop playsinline>."""
    video = (
        upload_input(source_url)["v:0"]
        # 4:2:0 needs even sides; GIF frames are often odd.
        .filter("scale", "trunc(iw/2)*2", "trunc(ih/2)*2")
        .filter("format", "yuv420p")
    )
    output = ffmpeg.output(
        video,
        str(out),
        an=None,
        f="mp4",
        movflags="+faststart",
        **{"c:v": "libx264", "preset": "veryfast", "crf": 26, "profile:v": "high"},
    )
    return [ffmpeg_bin, *_GLOBAL, *output.get_args()]
