"""Tell the world an asset is finished (READY or FAILED), changed by its owner, or
deleted: an EventBridge event, and a signed webhook if one is configured. Announcing
never changes the asset's outcome: a failure here is logged (the record in DynamoDB is
the truth; consumers can always read it back)."""

from __future__ import annotations

import logging
from typing import Any

from lumiere.cloud.events import put_asset_event
from lumiere.config import Settings
from lumiere.pipeline.webhooks import deliver_webhook

log = logging.getLogger(__name__)

# An API request that announces (a change, a deletion) leaves itself this long for the
# webhook, so it answers well inside API Gateway's 29 s even when the receiver hangs.
REQUEST_WEBHOOK_BUDGET_SECONDS = 8.0
DETAIL_TYPES = {"READY": "Asset Ready", "FAILED": "Asset Failed", "DELETED": "Asset Deleted"}
UPDATED = "Asset Updated"


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
    if asset.get("error") and asset["status"] == "FAILED":
        detail["error"] = asset["error"]
    if asset.get("outputs") and asset["status"] == "READY":  # a deleted asset's are gone
        detail["outputs"] = asset["outputs"]
    return detail


def announce(
    asset: dict[str, Any], settings: Settings, *, webhook_budget_seconds: float | None = None
) -> None:
    """READY, FAILED or DELETED, by the asset's status. ``webhook_budget_seconds``: the
    most the webhook's attempts may take (given by the API, which must answer in time;
    the pipeline's functions wait for all three)."""
    detail_type = DETAIL_TYPES.get(str(asset.get("status")))
    if detail_type is not None:
        _send(detail_type, asset_event(asset), settings, webhook_budget_seconds)


def announce_update(asset: dict[str, Any], changed: list[str], settings: Settings) -> None:
    """ "Asset Updated": what its owner changed (``changed``: the fields sent), with the
    record as it is now, so a receiver's copy of the title or passthrough follows."""
    detail = {**asset_event(asset), "changed": sorted(changed)}
    _send(UPDATED, detail, settings, REQUEST_WEBHOOK_BUDGET_SECONDS)


def _send(
    detail_type: str, detail: dict[str, Any], settings: Settings, budget: float | None
) -> None:
    try:
        put_asset_event(settings.event_bus_name, detail_type, detail)
    except Exception:
        log.exception("could not publish %s for %s", detail_type, detail["asset_id"])
    if settings.webhook_url:
        deliver_webhook(
            settings.webhook_url,
            settings.webhook_secret,
            {"type": detail_type, "data": detail},
            budget_seconds=budget,
        )
