"""``POST /uploads/url``: an asset whose file Lumiere fetches from a URL instead of the
client sending it (pipeline/url_import.py)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from lumiere.api.identity import caller_id
from lumiere.api.ownership import error
from lumiere.api.upload_tickets import refusal
from lumiere.cloud.tasks import send_import_task
from lumiere.errors import PermanentError, TransientError
from lumiere.handlers import runtime
from lumiere.pipeline.url_import import import_request, start_import

bp = Blueprint(__name__)


@bp.route("/uploads/url", methods=["POST"], cors=True)
def post_url_import() -> Any:
    settings = runtime.settings()
    try:
        request, url = import_request(bp.current_request.json_body, settings)
        asset_id = start_import(
            request,
            url,
            runtime.catalogue(),
            settings,
            send_import_task,
            owner=caller_id(bp.current_request.context),
            public_index=runtime.public_assets(),
            content_keys=runtime.content_keys(),
        )
    except PermanentError as e:
        return refusal(e)
    except TransientError:
        return error(
            503, "processing_error", "Lumiere could not start the import; try again in a moment."
        )
    return Response(
        status_code=202,
        body={"asset_id": asset_id, "status": "CREATED", "source_url": url.display},
        headers={"Location": f"/assets/{asset_id}"},
    )
