"""A video's poster chosen by its owner: the frame at a moment they pick (YouTube's custom
thumbnail, Mux's ``thumbnail_time``), or back to the one the pipeline chose.

The chosen frame is cut as ``/img/...,t_`` cuts one (image_sources.frame_at) and saved
as the poster JPEG under its own key (``poster_t12.5.jpg``), so a CDN's cached copy of
the automatic poster is never served for it. From then on an untimed ``/img/`` link
(the view's thumbnail among them) renders that moment too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lumiere.api.image_sources import frame_at
from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.content_keys import ContentKeys
from lumiere.cloud.storage import put_bytes
from lumiere.config import Settings
from lumiere.errors import InvalidRequestError
from lumiere.media.commands import POSTER_MAX
from lumiere.media.images import transform
from lumiere.media.probe import MediaKind
from lumiere.media.transform_spec import TransformSpec, format_seconds
from lumiere.pipeline.clock import utc_now
from lumiere.pipeline.keys import chosen_poster_key, poster_key

POSTER_QUALITY = 85


def choose_poster(
    item: dict[str, Any],
    seconds: float | None,
    settings: Settings,
    catalogue: Catalogue,
    keys: ContentKeys | None,
) -> dict[str, Any]:
    """The record after the change. The picture is stored before the catalogue names
    it, so the record never points at a poster that is not there yet."""
    asset_id = str(item["asset_id"])
    if item.get("kind") != MediaKind.VIDEO:
        raise InvalidRequestError(
            f"poster_time picks a moment of a video; this asset is {item.get('kind')}."
        )
    outputs = item.get("outputs") or {}
    # What the pipeline chose: the poster until a first choice, then kept aside.
    automatic = str(item.get("auto_poster") or outputs.get("poster") or poster_key(asset_id))
    if seconds is None:
        return catalogue.set_poster(asset_id, automatic, None, automatic, utc_now())
    spec = TransformSpec(width=POSTER_MAX[0], height=POSTER_MAX[1], fit="inside", time=seconds)
    frame = frame_at(item, spec, settings, keys)
    poster = transform(
        frame,
        width=spec.width,
        height=spec.height,
        fit="inside",
        format="jpeg",
        quality=POSTER_QUALITY,
    )
    key = chosen_poster_key(asset_id, format_seconds(seconds))
    put_bytes(settings.media_bucket, key, poster.data, poster.content_type)
    return catalogue.set_poster(asset_id, key, seconds, automatic, utc_now())


def with_poster_time(item: dict[str, Any], spec: TransformSpec) -> TransformSpec:
    """An untimed transformation of a video whose owner chose a poster moment is a
    transformation of that moment: its own cache key, so no render of the old poster
    is served for it."""
    chosen = item.get("poster_time")
    if spec.time is None and chosen is not None and item.get("kind") == MediaKind.VIDEO:
        return replace(spec, time=float(chosen))
    return spec
