"""The owner's words on an asset: its title and passthrough, changed (or removed) at any
status before deletion. The search text follows the title in the same write, so a
listing's ``q`` never finds an asset by a title it no longer has."""

from __future__ import annotations

from typing import Any

from lumiere.cloud.catalogue import Catalogue
from lumiere.pipeline.clock import utc_now
from lumiere.pipeline.search_text import searchable


def change_details(
    item: dict[str, Any], details: dict[str, str | None], catalogue: Catalogue
) -> dict[str, Any]:
    """``details``: title and/or passthrough as stored (None: removed). Returns the
    record after the change."""
    changes: dict[str, str | None] = dict(details)
    if "title" in details:
        changes["search_text"] = searchable(details["title"], item.get("filename"))
    return catalogue.set_details(str(item["asset_id"]), changes, utc_now())
