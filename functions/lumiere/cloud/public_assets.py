"""Which assets the CDN serves without a signature.

CloudFront checks signatures per cache behaviour, not per asset, so public assets are
served under a path of their own: ``/public/assets/{id}/...`` has behaviours without a
trusted key group, and a CloudFront Function (template.yaml, PublicAssetsFunction) lets
a request through, rewritten to ``/assets/{id}/...``, only if the asset's id is a key of
a CloudFront KeyValueStore; anything else is 404. This module keeps that store in step
with the catalogue. The local stack's stand-in is a DynamoDB table with the same keys,
read by the local CDN through the same interface (``is_public``).

Order matters for safety (pipeline callers follow it): a store entry is added only after
the catalogue says public, and removed before the catalogue says private, so a failure
half-way can leave an asset unreachable unsigned, never reachable when its owner was
told it is private. Repeating the owner's request repairs either half.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from lumiere.cloud.clients import NETWORK_ERRORS, client
from lumiere.errors import QuotaExceededError, TransientError

# The Function tests presence only; the value says what the key is for a person
# reading the store in the console.
PUBLIC_VALUE = "public"
_RETRYABLE = {"InternalServerException", "ThrottlingException", "ServiceUnavailable"}
# PutKey/DeleteKey carry the store's ETag; another writer in between moves it.
_ETAG_ATTEMPTS = 3


class PublicAssetIndex(Protocol):
    def publish(self, asset_id: str) -> None:
        """Serve the asset's files unsigned under the public path (idempotent)."""

    def withdraw(self, asset_id: str) -> None:
        """Stop serving them unsigned (idempotent)."""

    def is_public(self, asset_id: str) -> bool: ...


def _code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


class CloudFrontPublicAssets:
    """The deployed index: a CloudFront KeyValueStore read by the viewer-request Function
    at the edge, and an invalidation of the asset's public paths when it goes private."""

    def __init__(
        self,
        kvs_arn: str,
        distribution_id: str,
        *,
        kvs_client: Any | None = None,
        cloudfront_client: Any | None = None,
    ) -> None:
        self.kvs_arn = kvs_arn
        self.distribution_id = distribution_id
        # The service signs with SigV4A (botocore needs awscrt for that).
        self._kvs = kvs_client or client("cloudfront-keyvaluestore")
        self._cloudfront = cloudfront_client or client("cloudfront")

    def publish(self, asset_id: str) -> None:
        self._write("put_key", asset_id, Value=PUBLIC_VALUE)

    def withdraw(self, asset_id: str) -> None:
        self._write("delete_key", asset_id)
        self._invalidate(asset_id)

    def is_public(self, asset_id: str) -> bool:
        try:
            self._kvs.get_key(KvsARN=self.kvs_arn, Key=asset_id)
        except ClientError as e:
            if _code(e) == "ResourceNotFoundException":
                return False
            raise self._translated(e, f"read {asset_id}") from e
        except NETWORK_ERRORS as e:
            raise TransientError(f"CloudFront KeyValueStore unreachable: {e}") from e
        return True

    def _write(self, operation: str, asset_id: str, **extra: str) -> None:
        for attempt in range(1, _ETAG_ATTEMPTS + 1):
            try:
                etag = self._kvs.describe_key_value_store(KvsARN=self.kvs_arn)["ETag"]
                getattr(self._kvs, operation)(
                    KvsARN=self.kvs_arn, Key=asset_id, IfMatch=etag, **extra
                )
                return
            except ClientError as e:
                code = _code(e)
                if operation == "delete_key" and code == "ResourceNotFoundException":
                    return  # not in the store: already withdrawn
                if code == "ConflictException" and attempt < _ETAG_ATTEMPTS:
                    continue  # the ETag moved under us: read it again
                raise self._translated(e, f"{operation} {asset_id}") from e
            except NETWORK_ERRORS as e:
                raise TransientError(f"CloudFront KeyValueStore unreachable: {e}") from e

    def _invalidate(self, asset_id: str) -> None:
        """The Function checks the store on every viewer request, before the cache, so
        this is not what stops unsigned access; it drops the edge's copies reached by the
        public path (cached under the rewritten URI), so nothing of a now-private asset
        stays in caches keyed for the public behaviours."""
        paths = [f"/public/assets/{asset_id}/*", f"/assets/{asset_id}/*"]
        try:
            self._cloudfront.create_invalidation(
                DistributionId=self.distribution_id,
                InvalidationBatch={
                    "Paths": {"Quantity": len(paths), "Items": paths},
                    "CallerReference": f"{asset_id}-private-{time.time_ns()}",
                },
            )
        except ClientError as e:
            raise self._translated(e, f"invalidate {asset_id}") from e
        except (BotoCoreError, *NETWORK_ERRORS) as e:
            raise TransientError(f"CloudFront unreachable: {e}") from e

    @staticmethod
    def _translated(e: ClientError, what: str) -> Exception:
        code = _code(e)
        if code == "ServiceQuotaExceededException":
            return QuotaExceededError(
                "No more assets can be made public: the CDN's store of public assets is "
                "full (a CloudFront KeyValueStore holds 5 MB). Make others private first."
            )
        if code in _RETRYABLE or code in {"ConflictException", "TooManyInvalidationsInProgress"}:
            return TransientError(f"CloudFront busy ({code}) trying to {what}")
        return e


class TablePublicAssets:
    """The local stack's stand-in for the KeyValueStore: one item per public asset in a
    DynamoDB table (moto), written by the API and read by the local CDN as the edge
    Function reads the store. It has no cache to invalidate."""

    def __init__(self, table_name: str, *, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._dynamodb = dynamodb_client or client("dynamodb")

    def publish(self, asset_id: str) -> None:
        self._call("put_item", Item={"key": {"S": asset_id}, "value": {"S": PUBLIC_VALUE}})

    def withdraw(self, asset_id: str) -> None:
        self._call("delete_item", Key={"key": {"S": asset_id}})

    def is_public(self, asset_id: str) -> bool:
        found = self._call("get_item", Key={"key": {"S": asset_id}}, ConsistentRead=True)
        return "Item" in found

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            return dict(getattr(self._dynamodb, operation)(TableName=self.table_name, **params))
        except ClientError as e:
            if _code(e) in {"ProvisionedThroughputExceededException", "ThrottlingException"}:
                raise TransientError(f"DynamoDB busy ({_code(e)})") from e
            raise
