"""Where a client reads an asset's published objects: signed CloudFront URLs (the whole
asset prefix under one policy), plain URLs under the CDN's public path for a public
asset, or presigned S3 GETs without a CDN. Shared by every route that hands out URLs."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from lumiere.cloud.playback_signing import SignedAccess
from lumiere.cloud.storage import presign_get
from lumiere.handlers import runtime
from lumiere.pipeline.keys import ASSETS_PREFIX, asset_prefix, public_path
from lumiere.pipeline.models import Visibility
from lumiere.pipeline.visibility import visibility_of


def playback_expiry() -> int:
    # Rounded up to the minute: every URL of a view (and repeated views) shares one
    # policy, signed once.
    ttl = runtime.settings().playback_ttl_seconds
    return math.ceil((time.time() + ttl) / 60) * 60


def signed_access(asset_id: str) -> SignedAccess | None:
    signer = runtime.playback_signer()
    return signer.access(asset_prefix(asset_id), playback_expiry()) if signer else None


def url_for(key: str) -> str:
    """Where a client reads a published object: behind the CDN, signed for the asset's
    whole prefix when the deployment signs playback; else a presigned S3 GET."""
    settings = runtime.settings()
    if settings.media_base_url:
        url = f"{settings.media_base_url}/{key}"
        access = signed_access(key.split("/")[1]) if key.startswith(ASSETS_PREFIX) else None
        return access.url(url) if access else url
    return presign_get(settings.media_bucket, key, ttl_seconds=3600)


def served_publicly(item: dict[str, Any]) -> bool:
    """Public in the catalogue and this deployment has a public path. Without one (its
    configuration changed) the asset's URLs fall back to signed ones, which still play."""
    return visibility_of(item) is Visibility.PUBLIC and runtime.public_assets() is not None


def urls_for(item: dict[str, Any]) -> Callable[[str], str]:
    """How this asset's published objects are linked: plain URLs under the CDN's public
    path for a public asset (anyone may fetch them), else as ``url_for``."""
    if not served_publicly(item):
        return url_for
    base, prefix = runtime.settings().media_base_url, asset_prefix(item["asset_id"])
    return lambda key: f"{base}/{public_path(key)}" if key.startswith(prefix) else url_for(key)
