"""Multipart uploads for files too large for one POST (a 20 GB master): the client PUTs
parts to presigned URLs (resumable: a failed part is sent again), then asks the API to
complete. Only the API can complete, and it first checks S3's own total against the
declared size. Every route is the owner's only (404 for anyone else)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, ConflictError, NotFoundError, Response

from lumiere.api.identity import caller_id
from lumiere.api.ownership import error, owned_asset
from lumiere.api.upload_tickets import open_upload, refusal
from lumiere.cloud import multipart
from lumiere.errors import (
    InvalidRequestError,
    LimitExceededError,
    PermanentError,
    ReasonCode,
)
from lumiere.handlers import runtime
from lumiere.pipeline.deletion import delete_asset
from lumiere.pipeline.models import UploadRequest
from lumiere.pipeline.status import AssetStatus

bp = Blueprint(__name__)

MAX_PARTS_PER_REQUEST = 100


def _json_body() -> dict[str, Any]:
    body = bp.current_request.json_body
    if not isinstance(body, dict):
        raise InvalidRequestError("Send a JSON object.")
    return body


def _multipart_asset(asset_id: str) -> dict[str, Any]:
    """The caller's asset with a multipart upload still open, else 404 / 409."""
    item = owned_asset(bp.current_request.context, asset_id)
    if not item.get("multipart_upload_id"):
        raise NotFoundError(f"No multipart upload for asset {asset_id}.")
    if item.get("status") != AssetStatus.CREATED:
        raise ConflictError(f"The upload of asset {asset_id} is finished ({item.get('status')}).")
    return item


@bp.route("/uploads/multipart", methods=["POST"], cors=True)
def post_multipart_upload() -> Any:
    settings, catalogue = runtime.settings(), runtime.catalogue()
    try:
        request = UploadRequest.from_json(bp.current_request.json_body)
        # Sized before the asset exists: a file too large for multipart leaves no asset.
        part_size = multipart.part_size_for(request.size)
        ticket = open_upload(request, caller_id(bp.current_request.context))
    except PermanentError as e:
        return refusal(e)
    upload_id = multipart.start(settings.uploads_bucket, ticket.key, request.content_type)
    catalogue.record_multipart_upload(ticket.asset_id, upload_id, part_size)
    return Response(
        status_code=201,
        body={
            "asset_id": ticket.asset_id,
            "key": ticket.key,
            "part_size": part_size,
            "part_count": -(-request.size // part_size),
        },
        headers={"Location": f"/assets/{ticket.asset_id}"},
    )


@bp.route("/uploads/{asset_id}/parts", methods=["POST"], cors=True)
def presign_parts(asset_id: str) -> Any:
    """``{"part_numbers": [1, 2, ...]}`` -> a presigned PUT URL for each (at most 100 a
    call, valid UPLOAD_URL_TTL_SECONDS): ask again for the next parts or to resume."""
    item = _multipart_asset(asset_id)
    settings = runtime.settings()
    part_count = -(-int(item["declared_size"]) // int(item["part_size"]))
    try:
        numbers = _json_body().get("part_numbers")
        if (
            not isinstance(numbers, list)
            or not 1 <= len(numbers) <= MAX_PARTS_PER_REQUEST
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers)
            or not all(1 <= n <= part_count for n in numbers)
        ):
            raise InvalidRequestError(
                f"part_numbers: 1 to {MAX_PARTS_PER_REQUEST} part numbers from 1 to {part_count}."
            )
    except InvalidRequestError as e:
        return error(400, e.reason.value, e.message)
    ttl = settings.upload_url_ttl_seconds
    return {
        "expires_in": ttl,
        "parts": [
            {
                "part_number": n,
                "url": multipart.presign_part(
                    settings.uploads_bucket, item["upload_key"], item["multipart_upload_id"], n, ttl
                ),
            }
            for n in sorted(set(numbers))
        ],
    }


@bp.route("/uploads/{asset_id}/complete", methods=["POST"], cors=True)
def complete_multipart_upload(asset_id: str) -> Any:
    """``{"parts": [{"part_number", "etag"}, ...]}``: the parts the client sent, checked
    against what S3 holds; the total must not exceed the declared size."""
    item = _multipart_asset(asset_id)
    settings = runtime.settings()
    bucket, key, upload_id = (
        settings.uploads_bucket,
        item["upload_key"],
        item["multipart_upload_id"],
    )
    try:
        claimed = _json_body().get("parts")
        if not isinstance(claimed, list) or not claimed:
            raise InvalidRequestError("parts: a list of {part_number, etag}.")
        wanted = {
            (int(p["part_number"]), str(p["etag"]).strip('"'))
            for p in claimed
            if isinstance(p, dict) and "part_number" in p and "etag" in p
        }
        held = multipart.uploaded_parts(bucket, key, upload_id)
        if wanted != {(p.part_number, p.etag.strip('"')) for p in held}:
            raise InvalidRequestError("parts do not match what was uploaded (numbers or ETags).")
        total = sum(p.size for p in held)
        if total > int(item["declared_size"]) or total > settings.max_upload_bytes:
            multipart.abort(bucket, key, upload_id)
            raise LimitExceededError(
                f"{total:,} bytes were uploaded; {int(item['declared_size']):,} were declared.",
                reason=ReasonCode.TOO_LARGE,
            )
        multipart.complete(bucket, key, upload_id, sorted(held, key=lambda p: p.part_number))
    except LimitExceededError as e:
        return error(413, e.reason.value, e.message)
    except (InvalidRequestError, ValueError, TypeError) as e:
        message = e.message if isinstance(e, InvalidRequestError) else "part_number: a number."
        return error(400, "invalid_request", message)
    return {"asset_id": asset_id, "key": key, "size": total}


@bp.route("/uploads/{asset_id}", methods=["DELETE"], cors=True)
def abort_multipart_upload(asset_id: str) -> Response:
    """Abandon an upload: its parts are freed and the asset is deleted."""
    item = _multipart_asset(asset_id)
    settings = runtime.settings()
    multipart.abort(settings.uploads_bucket, item["upload_key"], item["multipart_upload_id"])
    public = item.get("visibility") == "public"
    public_index = runtime.public_assets() if public else None
    delete_asset(asset_id, runtime.catalogue(), settings, public_index=public_index)
    return Response(body="", status_code=204)
