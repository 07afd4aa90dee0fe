"""The picture an ``/img/`` request transforms: a still image's own source, a video's
poster, or (``t_``) a video's frame at a time, cut from one of its published segments."""

from __future__ import annotations

import posixpath
import tempfile
from pathlib import Path
from typing import Any

from lumiere.cloud.content_keys import ContentKeys
from lumiere.cloud.storage import read_object
from lumiere.config import Settings
from lumiere.errors import InvalidRequestError, ToolError, TransientError
from lumiere.media.commands import build_frame_at_args
from lumiere.media.hls_crypto import decrypt_segment
from lumiere.media.hls_seek import SegmentAt, segment_at
from lumiere.media.probe import MediaKind
from lumiere.media.tools import find_binaries, run_tool
from lumiere.media.transform_spec import TransformSpec
from lumiere.pipeline.keys import asset_prefix

# API Gateway gives the whole request 29 s; one segment decodes in well under a second.
FRAME_TIMEOUT_SECONDS = 15.0


def source_key(item: dict[str, Any]) -> str | None:
    """The stored picture a plain (untimed) transformation starts from."""
    outputs = item.get("outputs") or {}
    return (outputs.get("images") or {}).get("transform_source") or outputs.get("poster")


def check_time_applies(item: dict[str, Any], spec: TransformSpec) -> None:
    """``t_`` names a moment of a video; an image or a sound has none."""
    if spec.time is not None and item.get("kind") != MediaKind.VIDEO:
        raise InvalidRequestError(
            f"t_ picks a moment of a video; this asset is {item.get('kind') or 'not a video'}. "
            "Leave t_ out to transform its picture."
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
    the sooner the answer), else the largest."""
    by_area = sorted(renditions, key=lambda r: int(r.get("width") or 0) * int(r.get("height") or 0))
    box_w, box_h = spec.pixel_box()
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
    asset_id = str(item["asset_id"])
    hls = (item.get("outputs") or {}).get("hls") or {}
    renditions = hls.get("renditions") or []
    if not hls.get("master") or not renditions:
        raise ValueError(f"asset {asset_id} has no published video renditions")
    rendition = pick_rendition(renditions, spec)
    playlist_key = _within(asset_id, posixpath.dirname(hls["master"]), rendition["uri"])
    playlist = read_object(settings.media_bucket, playlist_key).decode("utf-8")
    segment = segment_at(playlist, spec.time)
    folder = posixpath.dirname(playlist_key)
    data = read_object(settings.media_bucket, _within(asset_id, folder, segment.uri))
    if segment.encryption:
        data = _decrypt(item, segment, data, keys)
    init = (
        read_object(settings.media_bucket, _within(asset_id, folder, segment.init_uri))
        if segment.init_uri
        else b""
    )
    offset = segment.offset_of(spec.time, rendition.get("frame_rate"))
    work_dir = settings.work_dir if Path(settings.work_dir).is_dir() else None
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        source, out = Path(tmp) / "segment.mp4", Path(tmp) / "frame.png"
        source.write_bytes(init + data)  # an init section and a fragment: one fMP4
        try:
            run_tool(
                build_frame_at_args(str(find_binaries().ffmpeg), source, offset, out),
                timeout=FRAME_TIMEOUT_SECONDS,
            )
        except ToolError as e:
            raise TransientError(f"could not read the frame at {spec.time} s: {e}") from e
        if not out.is_file():
            raise TransientError(f"ffmpeg found no frame {offset:.3f} s into {segment.uri}")
        return out.read_bytes()


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
