"""Routes. Each one is also an Api event of ApiFunction in template.yaml (a test checks)."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, NotFoundError, Response

from lumiere.api.identity import caller_id
from lumiere.api.pagination import decode_cursor, encode_cursor, parse_limit
from lumiere.api.views import asset_view, summary_view
from lumiere.cloud.storage import presign_get
from lumiere.errors import InvalidRequestError, LimitExceededError, PermanentError
from lumiere.handlers import runtime
from lumiere.media.probe import MediaKind
from lumiere.pipeline.deletion import delete_asset
from lumiere.pipeline.keys import ASSET_ID_RE
from lumiere.pipeline.models import UploadRequest
from lumiere.pipeline.status import AssetStatus
from lumiere.pipeline.uploads import create_upload

app = Chalice(app_name="lumiere")


def _error(status: int, reason: str, message: str) -> Response:
    return Response(
        body={"error": {"reason": reason, "message": message}},
        status_code=status,
        headers={"Content-Type": "application/json"},
    )


def _caller() -> str:
    return caller_id(app.current_request.context)


def _owned_asset(asset_id: str) -> dict[str, Any]:
    """The caller's asset, or 404: someone else's asset is indistinguishable from none,
    so ids cannot be probed."""
    item = runtime.catalogue().get(asset_id) if ASSET_ID_RE.match(asset_id) else None
    if item is None or item.get("owner", "anonymous") != _caller():
        raise NotFoundError(f"No asset {asset_id}.")
    return item


def _url_for(key: str) -> str:
    settings = runtime.settings()
    if settings.media_base_url:
        return f"{settings.media_base_url}/{key}"
    return presign_get(settings.media_bucket, key, ttl_seconds=3600)


@app.route("/uploads", methods=["POST"], cors=True)
def post_upload() -> Any:
    settings, catalogue = runtime.settings(), runtime.catalogue()
    try:
        request = UploadRequest.from_json(app.current_request.json_body)
        ticket = create_upload(request, catalogue, settings, owner=_caller())
    except LimitExceededError as e:
        return _error(413, e.reason.value, e.message)
    except (InvalidRequestError, PermanentError) as e:
        return _error(400, e.reason.value, e.message)
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
        return _error(400, e.reason.value, e.message)
    return {
        "items": [summary_view(item, _url_for) for item in page.items],
        "next_cursor": encode_cursor(page.last_key),
    }


@app.route("/assets/{asset_id}", methods=["GET"], cors=True)
def get_asset(asset_id: str) -> dict[str, Any]:
    item = _owned_asset(asset_id)
    if item.get("status") == AssetStatus.DELETED:
        raise NotFoundError(f"No asset {asset_id}.")
    return asset_view(item, _url_for)


@app.route("/assets/{asset_id}", methods=["DELETE"], cors=True)
def remove_asset(asset_id: str) -> Response:
    _owned_asset(asset_id)  # a tombstone still has its owner: a repeat DELETE is a 204
    delete_asset(asset_id, runtime.catalogue(), runtime.settings())
    return Response(body="", status_code=204)
