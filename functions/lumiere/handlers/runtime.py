"""What a function builds once per cold start: settings and adapters.

Cached for the life of the process, as Lambda reuses an execution environment. ``reset``
plays a new cold start: the local stack calls it after pointing the environment at a new
moto server, so no client keeps talking to an old one.
"""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from lumiere.cloud import clients
from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.content_keys import ContentKeys
from lumiere.cloud.playback_signing import PlaybackSigner, read_private_key
from lumiere.cloud.public_assets import (
    CloudFrontPublicAssets,
    PublicAssetIndex,
    TablePublicAssets,
)
from lumiere.config import Settings


@cache
def settings() -> Settings:
    return Settings.from_env()


@cache
def catalogue() -> Catalogue:
    return Catalogue(settings().assets_table)


@cache
def idempotency_store(step: str) -> DynamoDBPersistenceLayer:
    """One store per step: Powertools binds a store to the first config it is used with."""
    return DynamoDBPersistenceLayer(
        table_name=settings().idempotency_table, boto3_client=clients.client("dynamodb")
    )


@cache
def playback_signer() -> PlaybackSigner | None:
    """Signs media URLs when the deployment has a CDN and a key pair; else None."""
    s = settings()
    if not (s.media_base_url and s.playback_key_pair_id and s.playback_key_secret):
        return None
    return PlaybackSigner(
        s.media_base_url, s.playback_key_pair_id, read_private_key(s.playback_key_secret)
    )


@cache
def public_assets() -> PublicAssetIndex | None:
    """Where public asset ids are kept for the CDN; None: this deployment has no public
    path (assets stay private)."""
    s = settings()
    if not s.media_base_url:
        return None  # no CDN: media URLs are presigned, there is no public path to serve
    if s.public_assets_table:
        return TablePublicAssets(s.public_assets_table)
    if s.public_assets_kvs_arn and s.media_distribution_id:
        return CloudFrontPublicAssets(s.public_assets_kvs_arn, s.media_distribution_id)
    return None


@cache
def content_keys() -> ContentKeys | None:
    """Per-asset HLS keys (wrapped by KMS); None: this deployment cannot encrypt."""
    key_id = settings().content_key_id
    return ContentKeys(key_id) if key_id else None


def reset() -> None:
    settings.cache_clear()
    content_keys.cache_clear()
    public_assets.cache_clear()
    playback_signer.cache_clear()
    catalogue.cache_clear()
    idempotency_store.cache_clear()
    clients.client.cache_clear()
    clients.resource.cache_clear()
