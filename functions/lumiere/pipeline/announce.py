"""Tell the world an asset is finished: an EventBridge event, and a signed webhook if one
is configured. Announcing never changes the asset's outcome: a failure here is logged
(the record in DynamoDB is the truth; consumers can always read it back)."""

from __future__ import annotations

import logging
from typing import Any

from lumiere.cloud.events import put_asset_event
from lumiere.config import Settings
from lumiere.pipeline.webhooks import deliver_webhook

log = logging.getLogger(__name__)

DETAIL_TYPES = {"READY": "Asset Ready", "FAILED": "Asset Failed"}


def asset_event(asset: dict[str, Any]) -> dict[str, Any]:
    """The event body: enough to act on without a read-back, no probe dump."""
    detail: dict[str, Any] = {
        "asset_id": asset["asset_id"],
        "status": asset["status"],
        "owner": asset.get("owner"),
        "kind": asset.get("kind"),
        "filename": asset.get("filename"),
        # The owner's own reference, so a receiver can match the event to its records.
        "title": asset.get("title"),
        "passthrough": asset.get("passthrough"),
        "updated_at": asset.get("updated_at"),
    }
    if asset.get("error"):
        detail["error"] = asset["error"]
    if asset.get("outputs"):
        detail["outputs"] = asset["outputs"]
    return detail


def announce(asset: dict[str, Any], settings: Settings) -> None:
    detail_type = DETAIL_TYPES.get(str(asset.get("status")))
    if detail_type is None:
        return
    detail = asset_event(asset)
    try:
        put_asset_event(settings.event_bus_name, detail_type, detail)
    except Exception:
        log.exception("could not publish %s for %s", detail_type, asset["asset_id"])
    if settings.webhook_url:
        deliver_webhook(
            settings.webhook_url,
            settings.webhook_secret,
            {"type": detail_type, "data": detail},
        )
