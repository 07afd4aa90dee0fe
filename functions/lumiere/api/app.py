"""Routes. Each one is also an Api event of ApiFunction in template.yaml (a test checks)."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, NotFoundError, Response

from lumiere.api.views import asset_view
from lumiere.cloud.storage import presign_get
from lumiere.errors import InvalidRequestError, LimitExceededError, PermanentError
from lumiere.handlers import runtime
from lumiere.pipeline.keys import ASSET_ID_RE
from lumiere.pipeline.models import UploadRequest
from lumiere.pipeline.uploads import create_upload

app = Chalice(app_name="lumiere")


def _error(status: int, reason: str, message: str) -> Response:
    return Response(
        body={"error": {"reason": reason, "message": message}},
        status_code=status,
        headers={"Content-Type": "application/json"},
    )


@app.route("/uploads", methods=["POST"], cors=True)
def post_upload() -> Any:
    settings, catalogue = runtime.settings(), runtime.catalogue()
    try:
        request = UploadRequest.from_json(app.current_request.json_body)
        ticket = create_upload(request, catalogue, settings)
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


@app.route("/assets/{asset_id}", methods=["GET"], cors=True)
def get_asset(asset_id: str) -> dict[str, Any]:
    settings, catalogue = runtime.settings(), runtime.catalogue()
    item = catalogue.get(asset_id) if ASSET_ID_RE.match(asset_id) else None
    if item is None or item.get("status") == "DELETED":
        raise NotFoundError(f"No asset {asset_id}.")

    def url_for(key: str) -> str:
        if settings.media_base_url:
            return f"{settings.media_base_url}/{key}"
        return presign_get(settings.media_bucket, key, ttl_seconds=3600)

    return asset_view(item, url_for)
