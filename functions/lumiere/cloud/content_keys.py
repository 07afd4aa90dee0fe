"""Per-asset HLS content keys, kept in the catalogue encrypted by KMS (envelope encryption).

Why the catalogue and KMS rather than a Secrets Manager secret per asset: a secret costs
a monthly fee each, and an asset library has many thousands; one KMS key encrypts every
asset's 16 bytes, and the wrapped key travels with the asset's record (deleted with it).
GenerateDataKey makes the random key and its wrapped form in one call. Each is bound to
its asset by the encryption context, so a wrapped key copied onto another record does
not decrypt. The clear key exists only in memory: in the transcode part that encrypts
the segments and in the API's answer to an authorised viewer; never in MediaBucket.
"""

from __future__ import annotations

import base64
from typing import Any

from botocore.exceptions import ClientError

from lumiere.cloud.clients import NETWORK_ERRORS, client
from lumiere.errors import TransientError
from lumiere.media.hls_crypto import KEY_BYTES

_RETRYABLE = {"ThrottlingException", "KMSInternalException", "DependencyTimeoutException"}


def _context(asset_id: str) -> dict[str, str]:
    return {"lumiere:asset": asset_id}


class ContentKeys:
    def __init__(self, kms_key_id: str, *, kms_client: Any | None = None) -> None:
        """``kms_key_id``: a key id, ARN or alias (``alias/...``)."""
        self.kms_key_id = kms_key_id
        self._kms = kms_client or client("kms")

    def new_key(self, asset_id: str) -> tuple[bytes, str]:
        """(the clear key, its wrapped form to store: base64 of KMS's ciphertext)."""
        out = self._call(
            "generate_data_key",
            KeyId=self.kms_key_id,
            NumberOfBytes=KEY_BYTES,
            EncryptionContext=_context(asset_id),
        )
        return bytes(out["Plaintext"]), base64.b64encode(out["CiphertextBlob"]).decode()

    def unwrap(self, asset_id: str, wrapped: str) -> bytes:
        out = self._call(
            "decrypt",
            CiphertextBlob=base64.b64decode(wrapped),
            EncryptionContext=_context(asset_id),
            KeyId=self.kms_key_id,
        )
        key = bytes(out["Plaintext"])
        if len(key) != KEY_BYTES:
            raise ValueError(f"asset {asset_id}'s content key is {len(key)} bytes")
        return key

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            return dict(getattr(self._kms, operation)(**params))
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code in _RETRYABLE:
                raise TransientError(f"KMS busy ({code})") from e
            raise
        except NETWORK_ERRORS as e:
            raise TransientError(f"KMS unreachable: {e}") from e
