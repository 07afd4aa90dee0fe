"""EventBridge: asset lifecycle events on the configured bus."""

from __future__ import annotations

import json
from typing import Any

from lumiere.cloud.clients import client
from lumiere.errors import TransientError

EVENT_SOURCE = "lumiere"


def put_asset_event(bus_name: str, detail_type: str, detail: dict[str, Any]) -> None:
    out = client("events").put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, default=str),
                "EventBusName": bus_name,
                "Resources": [],
            }
        ]
    )
    if out.get("FailedEntryCount"):
        raise TransientError(f"EventBridge refused the event: {out['Entries']}")
