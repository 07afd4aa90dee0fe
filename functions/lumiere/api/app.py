"""Routes. Each one is also an Api event of ApiFunction in template.yaml (a test checks)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from chalice import Chalice, NotFoundError, Response

from lumiere.api import multipart_routes
from lumiere.api.identity import caller_id
from lumiere.api.image_links import signed_transform_url, verify_path
from lumiere.api.image_sources import check_time_applies, source_key, source_picture
from lumiere.api.ownership import error, owned_asset
from lumiere.api.pagination import decode_cursor, encode_cursor, parse_limit
from lumiere.api.poster_choice import choose_poster, with_poster_time
from lumiere.api.upload_tickets import open_upload, refusal
from lumiere.api.views import asset_view, summary_view
from lumiere.cloud import multipart
from lumiere.cloud.playback_signing import SignedAccess
from lumiere.cloud.storage import head_object, presign_get, put_bytes
from lumiere.errors import (
    InvalidRequestError,
    PermanentError,
    QuotaExceededError,
    StaleTransitionError,
    TransientError,
)
from lumiere.handlers import runtime
from lumiere.media.images import CropFocus, can_encode, transform
from lumiere.media.probe import MediaKind
from lumiere.media.transform_spec import FORMATS, TransformSpec, parse_transform
from lumiere.pipeline.deletion import delete_asset
from lumiere.pipeline.encryption import is_encrypted
from lumiere.pipeline.keys import (
    ASSET_ID_RE,
    ASSETS_PREFIX,
    asset_prefix,
    public_path,
    transform_key,
)
from lumiere.pipeline.models import AssetChange, UploadRequest, Visibility
from lumiere.pipeline.status import AssetStatus
from lumiere.pipeline.visibility import change_visibility, visibility_of

log = logging.getLogger(__name__)
app = Chalice(app_name="lumiere")
app.register_blueprint(multipart_routes.bp)
THUMBNAIL = parse_transform("w_320,h_320,fit_cover,f_auto")


def _caller() -> str:
    return caller_id(app.current_request.context)


def _owned_asset(asset_id: str) -> dict[str, Any]:
    return owned_asset(app.current_request.context, asset_id)


def _playback_expiry() -> int:
    # Rounded up to the minute: every URL of a view (and repeated views) shares one
    # policy, signed once.
    ttl = runtime.settings().playback_ttl_seconds
    return math.ceil((time.time() + ttl) / 60) * 60


def _access(asset_id: str) -> SignedAccess | None:
    signer = runtime.playback_signer()
    return signer.access(asset_prefix(asset_id), _playback_expiry()) if signer else None


def _url_for(key: str) -> str:
    """Where a client reads a published object: behind the CDN, signed for the asset's
    whole prefix when the deployment signs playback; else a presigned S3 GET."""
    settings = runtime.settings()
    if settings.media_base_url:
        url = f"{settings.media_base_url}/{key}"
        access = _access(key.split("/")[1]) if key.startswith(ASSETS_PREFIX) else None
        return access.url(url) if access else url
    return presign_get(settings.media_bucket, key, ttl_seconds=3600)


def _served_publicly(item: dict[str, Any]) -> bool:
    """Public in the catalogue and this deployment has a public path. Without one (its
    configuration changed) the asset's URLs fall back to signed ones, which still play."""
    return visibility_of(item) is Visibility.PUBLIC and runtime.public_assets() is not None


def _urls_for(item: dict[str, Any]) -> Callable[[str], str]:
    """How this asset's published objects are linked: plain URLs under the CDN's public
    path for a public asset (anyone may fetch them), else as ``_url_for``."""
    if not _served_publicly(item):
        return _url_for
    base, prefix = runtime.settings().media_base_url, asset_prefix(item["asset_id"])
    return lambda key: f"{base}/{public_path(key)}" if key.startswith(prefix) else _url_for(key)


@app.route("/uploads", methods=["POST"], cors=True)
def post_upload() -> Any:
    try:
        ticket = open_upload(UploadRequest.from_json(app.current_request.json_body), _caller())
    except PermanentError as e:
        return refusal(e)
    return Response(
        status_code=201,
        body={
            "asset_id": ticket.asset_id,
            "key": ticket.key,
            "expires_in": ticket.expires_in,
            "upload": {"method": "POST", "url": ticket.upload.url, "fields": ticket.upload.fields},
        },
        headers={"Location": f"/assets/{ticket.asset_id}"},
    )


@app.route("/assets", methods=["GET"], cors=True)
def list_assets() -> Any:
    params = app.current_request.query_params or {}
    owner = _caller()
    try:
        status, kind = params.get("status"), params.get("kind")
        if status and status not in AssetStatus.__members__:
            raise InvalidRequestError(f"status must be one of {', '.join(AssetStatus)}.")
        if kind and kind not in {k.value for k in MediaKind}:
            raise InvalidRequestError(f"kind must be one of {', '.join(MediaKind)}.")
        page = runtime.catalogue().list_by_owner(
            owner,
            limit=parse_limit(params.get("limit")),
            start_after=decode_cursor(params.get("cursor"), owner),
            status=status,
            kind=kind,
        )
    except InvalidRequestError as e:
        return error(400, e.reason.value, e.message)
    return {
        "items": [summary_view(item, _urls_for(item)) for item in page.items],
        "next_cursor": encode_cursor(page.last_key),
    }


@app.route("/assets/{asset_id}", methods=["GET"], cors=True)
def get_asset(asset_id: str) -> dict[str, Any]:
    item = _owned_asset(asset_id)
    if item.get("status") == AssetStatus.DELETED:
        raise NotFoundError(f"No asset {asset_id}.")
    view = asset_view(item, _urls_for(item))
    secret = runtime.settings().image_signing_secret
    outputs = item.get("outputs") or {}
    if secret and item.get("status") == AssetStatus.READY and outputs.get("poster"):
        # A ready-made signed link (relative to the API); more sizes: sign your own.
        link = signed_transform_url("", secret, asset_id, THUMBNAIL)
        view["outputs"]["thumbnail"] = link
        if _served_publicly(item):  # the same link, for pages without the token
            view["outputs"]["public_thumbnail"] = f"/public{link}"
    return view


@app.route("/assets/{asset_id}", methods=["PATCH"], cors=True)
def update_asset(asset_id: str) -> Any:
    """``{"visibility": "public" | "private", "poster_time": 12.5 | null}`` (either or
    both), by the owner only (404 for anyone else). Going private withdraws the asset
    from the CDN's public path before the catalogue says private; its signed URLs keep
    working throughout. A poster is chosen on a READY video only (409 before)."""
    item = _owned_asset(asset_id)
    if item.get("status") == AssetStatus.DELETED:
        raise NotFoundError(f"No asset {asset_id}.")
    try:
        change = AssetChange.from_json(app.current_request.json_body)
        if change.sets_poster and item.get("status") != AssetStatus.READY:
            return error(409, "not_ready", "A poster can be chosen once the video is READY.")
        if change.sets_poster:
            item = choose_poster(
                item,
                change.poster_time,
                runtime.settings(),
                runtime.catalogue(),
                runtime.content_keys(),
            )
        if change.visibility is not None:
            item = change_visibility(
                item, change.visibility, runtime.catalogue(), runtime.public_assets()
            )
    except InvalidRequestError as e:
        return error(400, e.reason.value, e.message)
    except QuotaExceededError as e:
        return error(409, e.reason.value, e.message)
    except TransientError as e:
        log.warning("could not choose the poster of %s: %s", asset_id, e)
        return error(503, "processing_error", "The frame could not be read; try again.")
    except StaleTransitionError as e:  # deleted meanwhile
        raise NotFoundError(f"No asset {asset_id}.") from e
    return asset_view(item, _urls_for(item))


@app.route("/assets/{asset_id}/playback", methods=["GET"], cors=True)
def playback(asset_id: str) -> Response:
    """What a player needs: the manifest URLs and, when playback is signed, one signed
    policy for the asset's prefix, as a query to append to every request under it and as
    CloudFront signed cookies. Short-lived: ask again before ``expires_at``."""
    item = _owned_asset(asset_id)
    if item.get("status") == AssetStatus.DELETED:
        raise NotFoundError(f"No asset {asset_id}.")
    if item.get("status") != AssetStatus.READY:
        return error(409, "not_ready", f"Asset {asset_id} is {item.get('status')}, not READY.")
    outputs = item.get("outputs") or {}
    keys = {
        "hls": (outputs.get("hls") or {}).get("master"),
        "dash": (outputs.get("dash") or {}).get("manifest"),
        "poster": outputs.get("poster"),
        "download": outputs.get("download"),
    }
    public = _served_publicly(item)
    url_for = _urls_for(item)
    body: dict[str, Any] = {
        "asset_id": asset_id,
        "visibility": (Visibility.PUBLIC if public else Visibility.PRIVATE).value,
    }
    body.update({name: url_for(key) for name, key in keys.items() if key})
    # A public asset's plain URLs need no signature (nor renewal).
    access = _access(asset_id) if runtime.settings().media_base_url and not public else None
    if access is not None:
        body.update(
            expires_at=access.expires_at,
            resource=access.resource,
            signed_query=access.query,
            cookies=access.cookies(),
        )
    return Response(body=body, status_code=200, headers={"Cache-Control": "no-store"})


@app.route("/assets/{asset_id}/key", methods=["GET"], cors=True)
def content_key(asset_id: str) -> Response:
    """The 16-byte HLS AES-128 key its media playlists name (EXT-X-KEY), for the owner,
    or for any signed-in caller when the asset is public; 404 for anyone else, as for
    every route, and for an asset that is not encrypted."""
    caller = _caller()  # first: an unsigned request learns nothing
    item = runtime.catalogue().get(asset_id) if ASSET_ID_RE.match(asset_id) else None
    keys = runtime.content_keys()
    if (
        item is None
        or keys is None
        or item.get("status") == AssetStatus.DELETED
        or not is_encrypted(item)
        or not (item.get("owner") == caller or _served_publicly(item))
    ):
        raise NotFoundError(f"No key for asset {asset_id}.")
    return Response(
        body=keys.unwrap(asset_id, str(item["content_key"])),
        status_code=200,
        # Never kept by a shared cache: the next caller may not be entitled to it.
        headers={"Content-Type": "application/octet-stream", "Cache-Control": "private, no-store"},
    )


@app.route("/img/{asset_id}/{options}", methods=["GET"], cors=True)
def transform_image(asset_id: str, options: str) -> Response:
    """On-the-fly transformation behind a signed link. Renders once per (asset, options,
    format): the result is stored under a deterministic key in MediaBucket and every
    request is answered with a redirect to it, so CloudFront and S3 serve the bytes."""
    spec = _link_spec(asset_id, options)
    if isinstance(spec, Response):
        return spec
    item = _owned_asset(asset_id)  # someone else's asset: 404, as if it did not exist
    return _transformed(item, spec)


@app.route("/public/img/{asset_id}/{options}", methods=["GET"], cors=True)
def transform_public_image(asset_id: str, options: str) -> Response:
    """The same link (the same ``s``) without a token, for a public asset only: what an
    ``<img>`` element on any page can load. Any other asset is a 404, as if absent."""
    spec = _link_spec(asset_id, options)
    if isinstance(spec, Response):
        return spec
    item = runtime.catalogue().get(asset_id) if ASSET_ID_RE.match(asset_id) else None
    if item is None or item.get("status") == AssetStatus.DELETED or not _served_publicly(item):
        raise NotFoundError(f"No image for {asset_id}.")
    return _transformed(item, spec)


def _link_spec(asset_id: str, options: str) -> TransformSpec | Response:
    """The link's options, or its refusal: 403 unless ``s`` signs
    ``/img/{asset_id}/{options}``, 400 for options that do not parse. Checked before the
    asset is looked up, so a bad link learns nothing."""
    signature = (app.current_request.query_params or {}).get("s")
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
    if spec.format not in (*available, "auto"):
        return error(400, "invalid_request", f"This deployment cannot write {spec.format}.")
    try:
        check_time_applies(item, spec)
        spec = with_poster_time(item, spec)
        facts = ((item.get("outputs") or {}).get("images") or {}).get("facts") or {}
        has_alpha = bool(facts.get("has_alpha")) and spec.time is None  # a frame has none
        spec = spec.resolved(app.current_request.headers.get("accept"), has_alpha, available)
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
        _served_publicly(item) or runtime.playback_signer() is None
    )
    cache = "public, max-age=86400" if stable else "private, max-age=300"
    return Response(
        body="",
        status_code=302,
        headers={
            "Location": _urls_for(item)(cache_key),
            "Vary": "Accept",
            "Cache-Control": cache,
            "X-Lumiere-Cache": "hit" if hit else "miss",
        },
    )


def _render(item: dict[str, Any], spec: TransformSpec, cache_key: str) -> None:
    settings = runtime.settings()
    width, height = spec.pixel_box()
    point = spec.focus_point()
    rendered = transform(
        source_picture(item, spec, settings, runtime.content_keys()),
        width=width,
        height=height,
        fit=spec.fit,  # type: ignore[arg-type]
        format=spec.format,
        quality=spec.quality,
        focus=_crop_focus(item.get("outputs") or {}) if point is None else CropFocus(point=point),
        background=spec.background_rgb,
    )
    put_bytes(settings.media_bucket, cache_key, rendered.data, rendered.content_type)


def _crop_focus(outputs: dict[str, Any]) -> CropFocus | None:
    """A smart crop keeps the faces the analysis found in a still image; without any,
    smart crop falls back to the most detailed region (media/smartcrop.py)."""
    faces = ((outputs.get("analysis") or {}).get("faces") or []) if outputs.get("images") else []
    boxes = tuple(
        (float(f["x"]), float(f["y"]), float(f["x"]) + float(f["w"]), float(f["y"]) + float(f["h"]))
        for f in faces
    )
    return CropFocus(faces=boxes) if boxes else None


@app.route("/assets/{asset_id}", methods=["DELETE"], cors=True)
def remove_asset(asset_id: str) -> Response:
    item = _owned_asset(asset_id)  # a tombstone still has its owner: a repeat DELETE is a 204
    settings = runtime.settings()
    if item.get("multipart_upload_id") and item.get("status") == AssetStatus.CREATED:
        # Parts of an unfinished upload are not objects: deleting the prefix misses them.
        multipart.abort(settings.uploads_bucket, item["upload_key"], item["multipart_upload_id"])
    public_index = runtime.public_assets() if _served_publicly(item) else None
    delete_asset(asset_id, runtime.catalogue(), settings, public_index=public_index)
    return Response(body="", status_code=204)
