"""Opening an upload, shared by the one-POST and multipart routes: the asset created
with this deployment's indexes, and a refusal in the API's words."""

from __future__ import annotations

from chalice import Response

from lumiere.api.ownership import error
from lumiere.errors import LimitExceededError, PermanentError, QuotaExceededError
from lumiere.handlers import runtime
from lumiere.pipeline.models import UploadRequest
from lumiere.pipeline.uploads import UploadTicket, create_upload


def open_upload(request: UploadRequest, owner: str) -> UploadTicket:
    return create_upload(
        request,
        runtime.catalogue(),
        runtime.settings(),
        owner=owner,
        public_index=runtime.public_assets(),
        content_keys=runtime.content_keys(),
    )


def refusal(e: PermanentError) -> Response:
    """413 for a file over a limit, 409 for a quota used up, 400 for any other request
    the API cannot take."""
    if isinstance(e, LimitExceededError):
        status = 413
    elif isinstance(e, QuotaExceededError):
        status = 409
    else:
        status = 400
    return error(status, e.reason.value, e.message)
