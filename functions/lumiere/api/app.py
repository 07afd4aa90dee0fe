"""Routes. Each one is also an Api event of ApiFunction in template.yaml (a test checks).
The multipart upload, URL import and image routes are blueprints of their own."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Chalice, NotFoundError, Response

from lumiere.api import image_routes, import_routes, multipart_routes
from lumiere.api.identity import caller_id
from lumiere.api.image_links import signed_transform_url
from lumiere.api.image_routes import THUMBNAIL
from lumiere.api.media_links import served_publicly, signed_access, urls_for
from lumiere.api.original_download import original_link
from lumiere.api.ownership import error, owned_asset
from lumiere.api.pagination import decode_cursor, encode_cursor, parse_limit
from lumiere.api.poster_choice import choose_poster
from lumiere.api.upload_tickets import open_upload, refusal
from lumiere.api.views import asset_view, summary_view
from lumiere.cloud import multipart
from lumiere.errors import (
    InvalidRequestError,
    PermanentError,
    QuotaExceededError,
    StaleTransitionError,
    TransientError,
)
from lumiere.handlers import runtime
from lumiere.media.probe import MediaKind
from lumiere.pipeline.announce import announce_update
from lumiere.pipeline.deletion import delete_asset
from lumiere.pipeline.details import change_details
from lumiere.pipeline.encryption import is_encrypted
from lumiere.pipeline.keys import ASSET_ID_RE
from lumiere.pipeline.models import AssetChange, UploadRequest, Visibility
from lumiere.pipeline.search_text import query_terms
from lumiere.pipeline.status import AssetStatus
from lumiere.pipeline.visibility import change_visibility

log = logging.getLogger(__name__)
app = Chalice(app_name="lumiere")
app.register_blueprint(multipart_routes.bp)
app.register_blueprint(image_routes.bp)
app.register_blueprint(import_routes.bp)


def _caller() -> str:
    return caller_id(app.current_request.context)


def _owned_asset(asset_id: str) -> dict[str, Any]:
    return owned_asset(app.current_request.context, asset_id)


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
            terms=query_terms(params.get("q")),
        )
    except InvalidRequestError as e:
        return error(400, e.reason.value, e.message)
    return {
        "items": [summary_view(item, urls_for(item)) for item in page.items],
        "next_cursor": encode_cursor(page.last_key),
    }


@app.route("/assets/{asset_id}", methods=["GET"], cors=True)
def get_asset(asset_id: str) -> dict[str, Any]:
    item = _owned_asset(asset_id)
    if item.get("status") == AssetStatus.DELETED:
        raise NotFoundError(f"No asset {asset_id}.")
    view = asset_view(item, urls_for(item))
    secret = runtime.settings().image_signing_secret
    outputs = item.get("outputs") or {}
    if secret and item.get("status") == AssetStatus.READY and outputs.get("poster"):
        # A ready-made signed link (relative to the API); more sizes: sign your own.
        link = signed_transform_url("", secret, asset_id, THUMBNAIL)
        view["outputs"]["thumbnail"] = link
        if served_publicly(item):  # the same link, for pages without the token
            view["outputs"]["public_thumbnail"] = f"/public{link}"
    return view


@app.route("/assets/{asset_id}", methods=["PATCH"], cors=True)
def update_asset(asset_id: str) -> Any:
    """``{"visibility": "public" | "private", "poster_time": 12.5 | null, "title": ..,
    "passthrough": ..}`` (any of them), by the owner only (404 for anyone else). Going
    private withdraws the asset from the CDN's public path before the catalogue says
    private; its signed URLs keep working throughout. A poster is chosen on a READY video
    only (409 before); a title or passthrough at any time before deletion. They are
    applied in that order, the words last, so a refused poster or visibility leaves
    nothing changed that the answer does not show."""
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
        if change.details:
            item = change_details(item, change.details, runtime.catalogue())
    except InvalidRequestError as e:
        return error(400, e.reason.value, e.message)
    except QuotaExceededError as e:
        return error(409, e.reason.value, e.message)
    except TransientError as e:
        log.warning("could not choose the poster of %s: %s", asset_id, e)
        return error(503, "processing_error", "The frame could not be read; try again.")
    except StaleTransitionError as e:  # deleted meanwhile
        raise NotFoundError(f"No asset {asset_id}.") from e
    announce_update(item, change.fields, runtime.settings())
    return asset_view(item, urls_for(item))


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
    public = served_publicly(item)
    url_for = urls_for(item)
    body: dict[str, Any] = {
        "asset_id": asset_id,
        "visibility": (Visibility.PUBLIC if public else Visibility.PRIVATE).value,
    }
    body.update({name: url_for(key) for name, key in keys.items() if key})
    # A public asset's plain URLs need no signature (nor renewal).
    access = signed_access(asset_id) if runtime.settings().media_base_url and not public else None
    if access is not None:
        body.update(
            expires_at=access.expires_at,
            resource=access.resource,
            signed_query=access.query,
            cookies=access.cookies(),
        )
    return Response(body=body, status_code=200, headers={"Cache-Control": "no-store"})


@app.route("/assets/{asset_id}/original", methods=["GET"], cors=True)
def original(asset_id: str) -> Response:
    """The uploaded file itself, for its owner: a presigned GET valid a few minutes that
    saves it under its name (``url``, ``expires_at``, ``filename``, ``size``). 409
    until the upload has arrived."""
    item = _owned_asset(asset_id)
    if item.get("status") == AssetStatus.DELETED:
        raise NotFoundError(f"No asset {asset_id}.")
    if not item.get("source"):
        return error(409, "not_ready", "The file has not been uploaded yet.")
    link = original_link(item, runtime.settings())
    return Response(
        body={
            "asset_id": asset_id,
            "url": link.url,
            "expires_at": link.expires_at,
            "filename": link.filename,
            "size": link.size,
        },
        status_code=200,
        headers={"Cache-Control": "no-store"},
    )


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
        or not (item.get("owner") == caller or served_publicly(item))
    ):
        raise NotFoundError(f"No key for asset {asset_id}.")
    return Response(
        body=keys.unwrap(asset_id, str(item["content_key"])),
        status_code=200,
        # Never kept by a shared cache: the next caller may not be entitled to it.
        headers={"Content-Type": "application/octet-stream", "Cache-Control": "private, no-store"},
    )


@app.route("/assets/{asset_id}", methods=["DELETE"], cors=True)
def remove_asset(asset_id: str) -> Response:
    item = _owned_asset(asset_id)  # a tombstone still has its owner: a repeat DELETE is a 204
    settings = runtime.settings()
    if item.get("multipart_upload_id") and item.get("status") == AssetStatus.CREATED:
        # Parts of an unfinished upload are not objects: deleting the prefix misses them.
        multipart.abort(settings.uploads_bucket, item["upload_key"], item["multipart_upload_id"])
    public_index = runtime.public_assets() if served_publicly(item) else None
    delete_asset(asset_id, runtime.catalogue(), settings, public_index=public_index)
    return Response(body="", status_code=204)
