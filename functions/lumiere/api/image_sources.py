"""The picture an ``/img/`` request transforms: a still image's own source, a video's
poster, or (``t_``) a video's frame at a time, cut from one of its published segments."""

from __future__ import annotations

import posixpath
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lumiere.cloud.content_keys import ContentKeys
from lumiere.cloud.storage import read_object
from lumiere.config import Settings
from lumiere.errors import InvalidRequestError, ToolError, TransientError
from lumiere.media.commands import build_animation_at_args, build_frame_at_args
from lumiere.media.hls_crypto import decrypt_segment
from lumiere.media.hls_seek import SegmentAt, segments_between
from lumiere.media.probe import MediaKind
from lumiere.media.tools import find_binaries, run_tool
from lumiere.media.transform_spec import TransformSpec
from lumiere.pipeline.keys import asset_prefix

# API Gateway gives the whole request 29 s. The heaviest work, the largest animation,
# took 3.7 CPU s on the benchmark machine (bench/results/budgets-2core.md).
FRAME_TIMEOUT_SECONDS = 15.0


def source_key(item: dict[str, Any]) -> str | None:
    """The stored picture a plain (untimed) transformation starts from."""
    outputs = item.get("outputs") or {}
    return (outputs.get("images") or {}).get("transform_source") or outputs.get("poster")


def check_time_applies(item: dict[str, Any], spec: TransformSpec) -> None:
    """``t_`` (and ``d_``) name moments of a video; an image or a sound has none."""
    if spec.time is not None and item.get("kind") != MediaKind.VIDEO:
        raise InvalidRequestError(
            f"t_ and d_ pick moments of a video; this asset is "
            f"{item.get('kind') or 'not a video'}. Leave them out to transform its picture."
        )


def source_picture(
    item: dict[str, Any], spec: TransformSpec, settings: Settings, keys: ContentKeys | None
) -> bytes:
    if spec.time is None:
        key = source_key(item)
        if key is None:
            raise ValueError(f"asset {item['asset_id']} has no picture to transform")
        return read_object(settings.media_bucket, key)
    return frame_at(item, spec, settings, keys)


def pick_rendition(renditions: list[dict[str, Any]], spec: TransformSpec) -> dict[str, Any]:
    """The smallest rendition that fills the requested box (the less there is to decode,
    the sooner the answer), else the largest. With ``crop_`` the part kept must fill it,
    so the whole frame must be larger; with ``rot_90`` its sides swap."""
    by_area = sorted(renditions, key=lambda r: int(r.get("width") or 0) * int(r.get("height") or 0))
    box_w, box_h = spec.source_box()
    for rendition in by_area:
        width, height = int(rendition.get("width") or 0), int(rendition.get("height") or 0)
        if width >= (box_w or 0) and height >= (box_h or 0):
            return rendition
    return by_area[-1]


def frame_at(
    item: dict[str, Any], spec: TransformSpec, settings: Settings, keys: ContentKeys | None
) -> bytes:
    """A PNG of the video ``spec.time`` seconds in, from the one segment that holds it."""
    assert spec.time is not None
    published = _published(item, spec, settings, keys, spec.time, spec.time)
    offset = published.first.offset_of(spec.time, published.frame_rate)
    with published.as_file(settings) as source:
        out = source.with_name("frame.png")
        _run(build_frame_at_args(str(find_binaries().ffmpeg), source, offset, out), spec)
        return _output(out, f"no frame {offset:.3f} s into {published.first.uri}")


def animation_at(
    item: dict[str, Any], spec: TransformSpec, settings: Settings, keys: ContentKeys | None
) -> bytes:
    """``spec.duration`` seconds of the video from ``spec.time`` as a looping animated
    WebP or GIF, from the segments that play then (at most four of 4 s for 10 s)."""
    assert spec.time is not None
    assert spec.duration is not None
    assert spec.fps is not None
    end = spec.time + spec.duration
    published = _published(item, spec, settings, keys, spec.time, end)
    with published.as_file(settings) as source:
        out = source.with_name(f"animation.{spec.format}")
        args = build_animation_at_args(
            str(find_binaries().ffmpeg),
            source,
            out,
            offset=max(0.0, spec.time - published.first.start),
            seconds=spec.duration,
            fps=spec.fps,
            box=spec.pixel_box(),
            format=spec.format,
            quality=spec.quality,
        )
        _run(args, spec)
        return _output(out, f"no frames {spec.time} s into the video")


@dataclass(frozen=True)
class _Published:
    """Consecutive published segments of one rendition, decrypted, after their init
    section: together one fragmented MP4."""

    first: SegmentAt
    data: bytes
    frame_rate: float | None

    @contextmanager
    def as_file(self, settings: Settings) -> Iterator[Path]:
        work_dir = settings.work_dir if Path(settings.work_dir).is_dir() else None
        with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
            path = Path(tmp) / "segments.mp4"
            path.write_bytes(self.data)
            yield path


def _published(
    item: dict[str, Any],
    spec: TransformSpec,
    settings: Settings,
    keys: ContentKeys | None,
    start: float,
    end: float,
) -> _Published:
    asset_id = str(item["asset_id"])
    hls = (item.get("outputs") or {}).get("hls") or {}
    renditions = hls.get("renditions") or []
    if not hls.get("master") or not renditions:
        raise ValueError(f"asset {asset_id} has no published video renditions")
    rendition = pick_rendition(renditions, spec)
    playlist_key = _within(asset_id, posixpath.dirname(hls["master"]), rendition["uri"])
    playlist = read_object(settings.media_bucket, playlist_key).decode("utf-8")
    segments = segments_between(playlist, start, end)
    folder = posixpath.dirname(playlist_key)
    init_uri = segments[0].init_uri
    parts = (
        [read_object(settings.media_bucket, _within(asset_id, folder, init_uri))]
        if init_uri
        else []
    )
    for segment in segments:
        data = read_object(settings.media_bucket, _within(asset_id, folder, segment.uri))
        parts.append(_decrypt(item, segment, data, keys) if segment.encryption else data)
    return _Published(segments[0], b"".join(parts), rendition.get("frame_rate"))


def _run(args: list[str], spec: TransformSpec) -> None:
    try:
        run_tool(args, timeout=FRAME_TIMEOUT_SECONDS)
    except ToolError as e:
        raise TransientError(f"could not read the video at {spec.time} s: {e}") from e


def _output(path: Path, missing: str) -> bytes:
    if not path.is_file() or path.stat().st_size == 0:
        raise TransientError(f"ffmpeg found {missing}")
    return path.read_bytes()


def _within(asset_id: str, folder: str, uri: str) -> str:
    """A playlist's relative URI as a bucket key, which must stay under the asset's own
    prefix: a frame is only ever read from the asset it is asked of."""
    key = posixpath.normpath(posixpath.join(folder, uri))
    if "://" in uri or uri.startswith("/") or not key.startswith(asset_prefix(asset_id)):
        raise ValueError(f"{uri!r} points outside asset {asset_id}")
    return key


def _decrypt(
    item: dict[str, Any], segment: SegmentAt, data: bytes, keys: ContentKeys | None
) -> bytes:
    if keys is None or not item.get("content_key"):
        raise ValueError(f"asset {item['asset_id']} is encrypted but its key is not available")
    key = keys.unwrap(str(item["asset_id"]), str(item["content_key"]))
    return decrypt_segment(data, key, segment.sequence, segment.iv)
