"""What ffprobe says about an upload, as a typed model.

``build_ffprobe_args`` is pure; ``parse_probe`` turns ffprobe's JSON into ``MediaInfo``;
``classify`` and ``check_limits`` decide whether Lumiere will process it. None of this
trusts the file name or the client's Content-Type.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from lumiere.errors import (
    CorruptInputError,
    LimitExceededError,
    NoStreamsError,
    ReasonCode,
    UnsupportedMediaError,
)
from lumiere.media.probe_fields import (
    as_dict,
    as_float,
    as_int,
    as_list,
    as_rate,
    as_signed_float,
    as_str,
)
from lumiere.media.safety import IMAGE_DEMUXERS, input_guard_options
from lumiere.media.sniff import bmff_image_format
from lumiere.media.streams import (
    AudioStream,
    ImageInfo,
    MediaInfo,
    MediaKind,
    SubtitleStream,
    VideoStream,
    bit_depth_of,
)

__all__ = [
    "AudioStream",
    "ImageInfo",
    "Limits",
    "MediaInfo",
    "MediaKind",
    "SubtitleStream",
    "VideoStream",
    "build_ffprobe_args",
    "check_limits",
    "classify",
    "explain_probe_failure",
    "parse_probe",
]


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_duration_seconds: float
    max_pixels: int
    max_streams: int


def build_ffprobe_args(ffprobe: str, source_url: str) -> list[str]:
    guard = [arg for name, value in input_guard_options().items() for arg in (f"-{name}", value)]
    return [
        ffprobe,
        "-hide_banner",
        "-v", "error",
        *guard,
        "-show_format",
        "-show_streams",
        "-of", "json",
        source_url,
    ]  # fmt: skip


# ISO-BMFF (MP4/MOV) files are a sequence of boxes; bytes 4-8 name the first one.
_BMFF_BOXES = (b"ftyp", b"mdat", b"moov", b"free", b"wide", b"skip", b"pnot")


def explain_probe_failure(
    stderr: str, head: bytes = b""
) -> UnsupportedMediaError | CorruptInputError:
    """Turn ffprobe's complaint into an error a person can act on. ``head`` (the file's
    first bytes) tells a damaged MP4 from any other file that ffprobe read as one."""
    lowered = stderr.lower()
    codec = re.search(r"codec \((\S+)\) not on whitelist", lowered)
    if codec:
        return UnsupportedMediaError(
            f"This file uses the {codec.group(1)} codec, which Lumiere does not accept. "
            "Export it as H.264, HEVC, VP9 or AV1 video with AAC or Opus audio."
        )
    if "not on whitelist" in lowered:
        return UnsupportedMediaError(
            "This file's format is not accepted (playlists, scripts and image sequences are "
            "refused for safety). Upload a video, audio or image file such as MP4, MOV, "
            "MKV, WebM, MP3, WAV, JPEG or PNG."
        )
    if bmff_image_format(head):
        return CorruptInputError(
            "This HEIC/HEIF or AVIF image could not be read: it is damaged or incomplete. "
            "Export it again (or as JPEG) and upload the new file."
        )
    if "moov atom not found" in lowered and head[4:8] in _BMFF_BOXES:
        return CorruptInputError(
            "This MP4/MOV file has no index (its 'moov' atom is missing): the recording or "
            "the upload was probably interrupted. Copy or export the file again and re-upload."
        )
    if "invalid data found" in lowered or "moov atom not found" in lowered:
        return UnsupportedMediaError(
            "This file is not a video, audio or image file Lumiere can read, whatever its "
            "name says. Check that you picked the right file and upload it again."
        )
    return CorruptInputError(
        "The file looks like media but could not be read to the end; it may be truncated "
        "or damaged. Try exporting or downloading it again, then re-upload."
    )


def parse_probe(raw_json: str) -> MediaInfo:
    """Never raises anything but CorruptInputError, whatever the JSON holds."""
    try:
        data = json.loads(raw_json)
    except (ValueError, RecursionError) as e:
        raise CorruptInputError("ffprobe returned unreadable output for this file.") from e
    try:
        return _media_info(as_dict(data))
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as e:
        # A last guard: the readers below should make this unreachable.
        raise CorruptInputError("ffprobe described this file in a way Lumiere cannot use.") from e


def _media_info(data: dict[str, Any]) -> MediaInfo:
    fmt = as_dict(data.get("format"))
    streams = [s for s in as_list(data.get("streams")) if isinstance(s, dict)]
    video: list[VideoStream] = []
    audio: list[AudioStream] = []
    subtitles: list[SubtitleStream] = []
    cover: dict[str, Any] | None = None
    for s in streams:
        kind = s.get("codec_type")
        attached = as_dict(s.get("disposition")).get("attached_pic")
        if kind == "video" and attached and cover is None:
            cover = s
        elif kind == "video" and not attached:
            stream = _video_stream(s)
            if stream is not None:
                video.append(stream)
        elif kind == "audio":
            audio.append(_audio_stream(s))
        elif kind == "subtitle":
            tags = as_dict(s.get("tags"))
            subtitles.append(
                SubtitleStream(
                    index=as_int(s.get("index")) or 0,
                    codec=as_str(s.get("codec_name")) or "unknown",
                    language=as_str(tags.get("language")),
                    title=as_str(tags.get("title")),
                )
            )
    return MediaInfo(
        format_name=as_str(fmt.get("format_name")) or "",
        duration=as_float(fmt.get("duration")),
        size=as_int(fmt.get("size")),
        bit_rate=as_int(fmt.get("bit_rate")),
        video=tuple(video),
        audio=tuple(audio),
        stream_count=len(as_list(data.get("streams"))),
        subtitles=tuple(subtitles),
        format_long_name=as_str(fmt.get("format_long_name")),
        cover_art_index=as_int(cover.get("index")) if cover else None,
        cover_art_codec=as_str(cover.get("codec_name")) if cover else None,
    )


def classify(info: MediaInfo) -> MediaKind:
    if info.demuxer in IMAGE_DEMUXERS and info.video:
        return MediaKind.IMAGE
    if info.video:
        return MediaKind.VIDEO
    if info.audio:
        return MediaKind.AUDIO
    raise NoStreamsError(
        "The file has no picture or sound Lumiere can use (no video, audio or image "
        "stream). Check the file plays on your computer before uploading."
    )


def check_limits(info: MediaInfo, kind: MediaKind, limits: Limits) -> None:
    if info.size is not None and info.size > limits.max_bytes:
        raise LimitExceededError(
            f"The file is {info.size:,} bytes; the limit is {limits.max_bytes:,}.",
            reason=ReasonCode.TOO_LARGE,
        )
    if info.stream_count > limits.max_streams:
        raise LimitExceededError(
            f"The file has {info.stream_count} streams; at most {limits.max_streams} are accepted.",
            reason=ReasonCode.UNSUPPORTED_FORMAT,
        )
    if kind is not MediaKind.IMAGE and info.duration is None:
        raise CorruptInputError(
            "The file's duration cannot be determined; it may be truncated or a live "
            "capture that was never finalised. Re-export it and upload again."
        )
    if info.duration is not None and info.duration > limits.max_duration_seconds:
        raise LimitExceededError(
            f"The media is {info.duration / 60:.1f} minutes long; the limit is "
            f"{limits.max_duration_seconds / 60:.0f} minutes.",
            reason=ReasonCode.TOO_LONG,
        )
    for v in info.video:
        if v.width * v.height > limits.max_pixels:
            raise LimitExceededError(
                f"The picture is {v.width}x{v.height} pixels; at most "
                f"{limits.max_pixels:,} pixels per frame are accepted.",
                reason=ReasonCode.TOO_MANY_PIXELS,
            )


def _video_stream(s: dict[str, Any]) -> VideoStream | None:
    """None for a stream without a usable picture size (it cannot be transcoded)."""
    width, height = as_int(s.get("width")), as_int(s.get("height"))
    if not width or not height:
        return None
    avg, real = as_rate(s.get("avg_frame_rate")), as_rate(s.get("r_frame_rate"))
    pix_fmt = as_str(s.get("pix_fmt"))
    return VideoStream(
        index=as_int(s.get("index")) or 0,
        codec=as_str(s.get("codec_name")) or "unknown",
        width=width,
        height=height,
        profile=as_str(s.get("profile")),
        pix_fmt=pix_fmt,
        frame_rate=avg or real,
        rotation=_rotation(s),
        level=as_int(s.get("level")),
        bit_depth=bit_depth_of(pix_fmt, as_int(s.get("bits_per_raw_sample"))),
        sample_aspect_ratio=as_str(s.get("sample_aspect_ratio")),
        display_aspect_ratio=as_str(s.get("display_aspect_ratio")),
        avg_frame_rate=avg,
        real_frame_rate=real,
        color_primaries=as_str(s.get("color_primaries")),
        color_transfer=as_str(s.get("color_transfer")),
        color_space=as_str(s.get("color_space")),
        field_order=as_str(s.get("field_order")),
        start_time=as_float(s.get("start_time")),
    )


def _audio_stream(s: dict[str, Any]) -> AudioStream:
    return AudioStream(
        index=as_int(s.get("index")) or 0,
        codec=as_str(s.get("codec_name")) or "unknown",
        channels=as_int(s.get("channels")) or 0,
        sample_rate=as_int(s.get("sample_rate")) or 0,
        channel_layout=as_str(s.get("channel_layout")),
        language=as_str(as_dict(s.get("tags")).get("language")),
        bit_rate=as_int(s.get("bit_rate")),
    )


def _rotation(s: dict[str, Any]) -> int:
    """Clockwise display rotation, a multiple of 90. ffprobe reports the display matrix
    counter-clockwise; anything else is rounded to the nearest quarter turn."""
    for side in as_list(s.get("side_data_list")):
        degrees = as_signed_float(as_dict(side).get("rotation"))
        if degrees is not None:
            return round(-degrees / 90.0) * 90 % 360
    tag = as_signed_float(as_dict(s.get("tags")).get("rotate"))
    return round(tag / 90.0) * 90 % 360 if tag is not None else 0
