"""CloudFront signed URLs and signed cookies for an asset's published files.

One custom policy covers the asset's whole prefix (``{base}/assets/{id}/*``), so the
same signature is valid for the master playlist and every rendition, segment and image
under it: a player resolving relative URIs can reuse it, either as signed cookies
(browsers send them with every request to the CDN) or by appending the same query to
each request (hls.js ``xhrSetup``, Shaka request filters). CloudFront requires RSA with
SHA-1 for these signatures; the key pair's public half is in the distribution's trusted
key group (template.yaml), the private half in Secrets Manager.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from lumiere.cloud.clients import client
from lumiere.errors import TransientError


def cloudfront_b64(data: bytes) -> str:
    """Base64 in CloudFront's URL-safe alphabet (+ -> -, = -> _, / -> ~)."""
    return base64.b64encode(data).decode().replace("+", "-").replace("=", "_").replace("/", "~")


@dataclass(frozen=True)
class SignedAccess:
    """What a player needs to read one asset's prefix until ``expires_at``."""

    resource: str  # the policy's URL pattern, e.g. https://d.cloudfront.net/assets/abc/*
    expires_at: int  # epoch seconds
    policy: str  # CloudFront base64 of the policy JSON
    signature: str
    key_pair_id: str

    @property
    def query(self) -> str:
        """The query to append to any URL under the prefix."""
        return f"Policy={self.policy}&Signature={self.signature}&Key-Pair-Id={self.key_pair_id}"

    def url(self, plain_url: str) -> str:
        return f"{plain_url}{'&' if '?' in plain_url else '?'}{self.query}"

    def cookies(self) -> list[dict[str, object]]:
        """Signed cookies scoped to the asset's path on the CDN's host."""
        parts = urlsplit(self.resource)
        path = parts.path.rstrip("*")
        expires = datetime.fromtimestamp(self.expires_at, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
        return [
            {
                "name": name,
                "value": value,
                "domain": parts.hostname,
                "path": path,
                "expires": expires,
                "secure": parts.scheme == "https",
                "http_only": True,
            }
            for name, value in (
                ("CloudFront-Policy", self.policy),
                ("CloudFront-Signature", self.signature),
                ("CloudFront-Key-Pair-Id", self.key_pair_id),
            )
        ]


class PlaybackSigner:
    def __init__(self, base_url: str, key_pair_id: str, private_key_pem: str) -> None:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("CloudFront signing keys are RSA keys")
        self.base_url = base_url.rstrip("/")
        self.key_pair_id = key_pair_id
        self._key = key
        self._signer = CloudFrontSigner(key_pair_id, self._rsa_sha1)

    def _rsa_sha1(self, message: bytes) -> bytes:
        return self._key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront's algorithm

    def access(self, prefix: str, expires_at: int) -> SignedAccess:
        """Signed access to every object under ``prefix`` (a key prefix ending in /)."""
        return _signed(self, prefix, expires_at)

    def _sign(self, prefix: str, expires_at: int) -> SignedAccess:
        resource = f"{self.base_url}/{prefix}*"
        policy = self._signer.build_policy(resource, datetime.fromtimestamp(expires_at, UTC))
        signature = self._rsa_sha1(policy.encode())
        return SignedAccess(
            resource=resource,
            expires_at=expires_at,
            policy=cloudfront_b64(policy.encode()),
            signature=cloudfront_b64(signature),
            key_pair_id=self.key_pair_id,
        )


@lru_cache(maxsize=256)
def _signed(signer: PlaybackSigner, prefix: str, expires_at: int) -> SignedAccess:
    # One RSA signature per asset and expiry, however many URLs a view shows.
    return signer._sign(prefix, expires_at)


def read_private_key(secret_id: str) -> str:
    """The PEM private key kept in Secrets Manager (name or ARN)."""
    try:
        return str(client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])
    except (BotoCoreError, ClientError) as e:
        raise TransientError(f"could not read the playback signing key {secret_id}") from e
