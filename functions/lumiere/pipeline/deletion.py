"""Delete an asset: its original (every version), its outputs, and its record.

Idempotent: deleting a deleted asset succeeds and does nothing. The record stays as a
tombstone (status DELETED, no metadata) until it expires, so an S3 event or a task that
arrives late finds DELETED and cannot bring the asset back. The first deletion is
announced ("Asset Deleted", with the owner's title and passthrough), a repeat is not.
"""

from __future__ import annotations

import time
from contextlib import suppress

from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.public_assets import PublicAssetIndex
from lumiere.cloud.storage import delete_prefix
from lumiere.config import Settings
from lumiere.errors import StaleTransitionError
from lumiere.pipeline import keys
from lumiere.pipeline.announce import REQUEST_WEBHOOK_BUDGET_SECONDS, announce
from lumiere.pipeline.clock import utc_now
from lumiere.pipeline.status import AssetStatus

TOMBSTONE_SECONDS = 30 * 24 * 3600


def delete_asset(
    asset_id: str,
    catalogue: Catalogue,
    settings: Settings,
    *,
    public_index: PublicAssetIndex | None = None,
) -> None:
    """``public_index``: given for a public asset, which leaves the CDN's public path
    first (and its cached copies are invalidated)."""
    # Status first: a transcode still running then fails its READY write and cleans up.
    # Already DELETED: finish the clean-up anyway, it is idempotent, but say it once.
    deleted = None
    with suppress(StaleTransitionError):
        deleted = catalogue.transition(asset_id, AssetStatus.DELETED, utc_now())
    if public_index is not None:
        public_index.withdraw(asset_id)
    delete_prefix(settings.uploads_bucket, f"{keys.UPLOADS_PREFIX}{asset_id}/", all_versions=True)
    delete_outputs(asset_id, settings)
    catalogue.tombstone(asset_id, utc_now(), int(time.time()) + TOMBSTONE_SECONDS)
    if deleted is not None:  # last: a slow receiver cannot leave the deletion half done
        announce(deleted, settings, webhook_budget_seconds=REQUEST_WEBHOOK_BUDGET_SECONDS)


def delete_outputs(asset_id: str, settings: Settings) -> None:
    delete_prefix(settings.media_bucket, keys.asset_prefix(asset_id))
