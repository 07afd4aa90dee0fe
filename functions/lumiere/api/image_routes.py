"""On-the-fly image transformations behind signed links: ``/img/`` for the owner (with
the token) and ``/public/img/`` for a public asset's (without). Each renders once per
(asset, options, format) into MediaBucket and answers with a redirect to it, so
CloudFront and S3 serve the bytes."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, NotFoundError, Response

from lumiere.api.image_links import verify_path
from lumiere.api.image_sources import (
    animation_at,
    check_time_applies,
    source_key,
    source_picture,
)
from lumiere.api.media_links import served_publicly, urls_for
from lumiere.api.ownership import error, owned_asset
from lumiere.api.poster_choice import with_poster_time
from lumiere.cloud.storage import head_object, put_bytes
from lumiere.errors import InvalidRequestError, TransientError
from lumiere.handlers import runtime
from lumiere.media.images import CropFocus, can_encode, transform
from lumiere.media.transform_spec import CONTENT_TYPES, FORMATS, TransformSpec, parse_transform
from lumiere.pipeline.keys import ASSET_ID_RE, transform_key
from lumiere.pipeline.status import AssetStatus

log = logging.getLogger(__name__)
bp = Blueprint(__name__)
# The view's ready-made link: a square for lists and cards.
THUMBNAIL = parse_transform("w_320,h_320,fit_cover,f_auto")


@bp.route("/img/{asset_id}/{options}", methods=["GET"], cors=True)
def transform_image(asset_id: str, options: str) -> Response:
    """On-the-fly transformation behind a signed link. Renders once per (asset, options,
    format): the result is stored under a deterministic key in MediaBucket and every
    request is answered with a redirect to it, so CloudFront and S3 serve the bytes."""
    spec = _link_spec(asset_id, options)
    if isinstance(spec, Response):
        return spec
    # someone else's asset: 404, as if it did not exist
    item = owned_asset(bp.current_request.context, asset_id)
    return _transformed(item, spec)


@bp.route("/public/img/{asset_id}/{options}", methods=["GET"], cors=True)
def transform_public_image(asset_id: str, options: str) -> Response:
    """The same link (the same ``s``) without a token, for a public asset only: what an
    ``<img>`` element on any page can load. Any other asset is a 404, as if absent."""
    spec = _link_spec(asset_id, options)
    if isinstance(spec, Response):
        return spec
    item = runtime.catalogue().get(asset_id) if ASSET_ID_RE.match(asset_id) else None
    if item is None or item.get("status") == AssetStatus.DELETED or not served_publicly(item):
        raise NotFoundError(f"No image for {asset_id}.")
    return _transformed(item, spec)


def _link_spec(asset_id: str, options: str) -> TransformSpec | Response:
    """The link's options, or its refusal: 403 unless ``s`` signs
    ``/img/{asset_id}/{options}``, 400 for options that do not parse. Checked before the
    asset is looked up, so a bad link learns nothing."""
    signature = (bp.current_request.query_params or {}).get("s")
    if not verify_path(
        runtime.settings().image_signing_secret, f"/img/{asset_id}/{options}", signature
    ):
        return error(403, "bad_signature", "This image link is not signed, or was altered.")
    try:
        return parse_transform(options)
    except InvalidRequestError as e:
        return error(400, e.reason.value, e.message)


def _transformed(item: dict[str, Any], spec: TransformSpec) -> Response:
    settings = runtime.settings()
    asset_id = str(item["asset_id"])
    if item.get("status") != AssetStatus.READY or not source_key(item):
        raise NotFoundError(f"No image for {asset_id}.")
    available = tuple(f for f in FORMATS if can_encode(f))
    if spec.duration is None and spec.format not in (*available, "auto"):  # ffmpeg animates
        return error(400, "invalid_request", f"This deployment cannot write {spec.format}.")
    try:
        check_time_applies(item, spec)
        spec = with_poster_time(item, spec)
        facts = ((item.get("outputs") or {}).get("images") or {}).get("facts") or {}
        has_alpha = bool(facts.get("has_alpha")) and spec.time is None  # a frame has none
        spec = spec.resolved(bp.current_request.headers.get("accept"), has_alpha, available)
        cache_key = transform_key(asset_id, spec.canonical(), spec.extension)
        hit = head_object(settings.media_bucket, cache_key) is not None
        if not hit:
            _render(item, spec, cache_key)
    except InvalidRequestError as e:  # t_ on a still, or past the end of the video
        return error(400, e.reason.value, e.message)
    except TransientError as e:
        log.warning("could not render %s for %s: %s", spec.canonical(), asset_id, e)
        return error(
            503, "processing_error", "The frame could not be read; try again, or leave out t_."
        )
    # Signed or presigned, the target expires, so the redirect must not outlive it; an
    # unsigned CDN URL (a public asset's, or any when playback is not signed) is stable
    # and the redirect can be kept a day.
    stable = settings.media_base_url and (
        served_publicly(item) or runtime.playback_signer() is None
    )
    cache = "public, max-age=86400" if stable else "private, max-age=300"
    return Response(
        body="",
        status_code=302,
        headers={
            "Location": urls_for(item)(cache_key),
            "Vary": "Accept",
            "Cache-Control": cache,
            "X-Lumiere-Cache": "hit" if hit else "miss",
        },
    )


def _render(item: dict[str, Any], spec: TransformSpec, cache_key: str) -> None:
    settings = runtime.settings()
    if spec.duration is not None:  # an animation: ffmpeg scales and encodes it whole
        data = animation_at(item, spec, settings, runtime.content_keys())
        put_bytes(settings.media_bucket, cache_key, data, CONTENT_TYPES[spec.format])
        return
    width, height = spec.pixel_box()
    point = spec.focus_point()
    rendered = transform(
        source_picture(item, spec, settings, runtime.content_keys()),
        width=width,
        height=height,
        fit=spec.fit,  # type: ignore[arg-type]
        format=spec.format,
        quality=spec.quality,
        focus=crop_focus(item.get("outputs") or {}) if point is None else CropFocus(point=point),
        background=spec.background_rgb,
        rotation=spec.rotation,
        region=spec.region,
        blur_radius=spec.pixel_blur,
    )
    put_bytes(settings.media_bucket, cache_key, rendered.data, rendered.content_type)


def crop_focus(outputs: dict[str, Any]) -> CropFocus | None:
    """A smart crop keeps the faces the analysis found in a still image; without any,
    smart crop falls back to the most detailed region (media/smartcrop.py)."""
    faces = ((outputs.get("analysis") or {}).get("faces") or []) if outputs.get("images") else []
    boxes = tuple(
        (float(f["x"]), float(f["y"]), float(f["x"]) + float(f["w"]), float(f["y"]) + float(f["h"]))
        for f in faces
    )
    return CropFocus(faces=boxes) if boxes else None
