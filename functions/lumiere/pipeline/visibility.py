"""Making an asset public or private again.

The catalogue is what the API reads (plain or signed URLs); the public index is what the
CDN reads (serve the public path or 404). They are two writes, so their order is chosen
for the failure in between: an asset becomes public in the catalogue before the index
lists it, and leaves the index before the catalogue calls it private. Half done, it is
unreachable without a signature, never reachable while its owner is told it is private;
repeating the request finishes it (both writes are idempotent).
"""

from __future__ import annotations

from typing import Any

from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.public_assets import PublicAssetIndex
from lumiere.errors import InvalidRequestError, QuotaExceededError
from lumiere.pipeline.clock import utc_now
from lumiere.pipeline.models import Visibility
from lumiere.pipeline.uploads import NO_PUBLIC_PATH


def visibility_of(item: dict[str, Any]) -> Visibility:
    """Records written before visibility existed are private."""
    return Visibility(item.get("visibility") or Visibility.PRIVATE)


def change_visibility(
    item: dict[str, Any],
    target: Visibility,
    catalogue: Catalogue,
    public_index: PublicAssetIndex | None,
) -> dict[str, Any]:
    """The record after the change. StaleTransition if the asset was deleted meanwhile."""
    asset_id = str(item["asset_id"])
    if target is Visibility.PRIVATE and visibility_of(item) is Visibility.PRIVATE:
        # Private in the catalogue means already withdrawn (the order above): no second
        # invalidation for a repeated request.
        return item
    if target is Visibility.PUBLIC:
        if public_index is None:
            raise InvalidRequestError(NO_PUBLIC_PATH)
        item = catalogue.set_visibility(asset_id, target.value, utc_now())
        try:
            public_index.publish(asset_id)
        except QuotaExceededError:
            # It will not fit later either: say private again rather than hand out
            # public URLs that answer 404.
            catalogue.set_visibility(asset_id, Visibility.PRIVATE.value, utc_now())
            raise
        return item
    if public_index is not None:
        public_index.withdraw(asset_id)
    return catalogue.set_visibility(asset_id, target.value, utc_now())
