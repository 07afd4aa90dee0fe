"""Whose asset this is, and how the API says no. Shared by the app's routes and its
blueprints."""

from __future__ import annotations

from typing import Any

from chalice import NotFoundError, Response

from lumiere.api.identity import caller_id
from lumiere.handlers import runtime
from lumiere.pipeline.keys import ASSET_ID_RE


def error(status: int, reason: str, message: str) -> Response:
    return Response(
        body={"error": {"reason": reason, "message": message}},
        status_code=status,
        headers={"Content-Type": "application/json"},
    )


def owned_asset(request_context: dict[str, Any], asset_id: str) -> dict[str, Any]:
    """The caller's asset, or 404: someone else's asset is indistinguishable from none,
    so ids cannot be probed."""
    caller = caller_id(request_context)  # first: an unsigned request learns nothing
    item = runtime.catalogue().get(asset_id) if ASSET_ID_RE.match(asset_id) else None
    if item is None or item.get("owner") != caller:
        raise NotFoundError(f"No asset {asset_id}.")
    return item
