"""The two ways an asset ends, each recorded and then announced."""

from __future__ import annotations

import logging
from typing import Any

from lumiere.cloud.catalogue import Catalogue
from lumiere.config import Settings
from lumiere.errors import ReasonCode, StaleTransitionError
from lumiere.observability import count_outcome
from lumiere.pipeline.announce import announce
from lumiere.pipeline.clock import utc_now
from lumiere.pipeline.status import AssetStatus

log = logging.getLogger(__name__)


def record_failure(
    catalogue: Catalogue, settings: Settings, asset_id: str, reason: ReasonCode, message: str
) -> None:
    try:
        asset = catalogue.transition(
            asset_id,
            AssetStatus.FAILED,
            utc_now(),
            error={"reason": reason.value, "message": message},
        )
    except StaleTransitionError:
        log.info("asset %s already final; failure not recorded", asset_id)
        return
    count_outcome("FAILED", reason.value)
    announce(asset, settings)


def record_ready(
    catalogue: Catalogue, settings: Settings, asset_id: str, outputs: dict[str, Any]
) -> None:
    asset = catalogue.transition(
        asset_id, AssetStatus.READY, utc_now(), progress=100, outputs=outputs
    )
    count_outcome("READY")
    announce(asset, settings)
