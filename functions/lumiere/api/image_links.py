"""Signed links to on-the-fly image transformations, in imgproxy's manner: the path
``/img/{asset_id}/{options}`` carries ``?s=`` = base64url(HMAC-SHA256(secret, path)), so
only holders of the secret (the API, or a customer's backend) can ask for new sizes and
nobody can make the service render arbitrary ones."""

from __future__ import annotations

import base64
import hashlib
import hmac

from lumiere.media.transform_spec import TransformSpec


def transform_path(asset_id: str, spec: TransformSpec) -> str:
    return f"/img/{asset_id}/{spec.canonical()}"


def sign_path(secret: str, path: str) -> str:
    mac = hmac.new(secret.encode(), path.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def verify_path(secret: str, path: str, signature: str | None) -> bool:
    if not secret or not signature:
        return False
    return hmac.compare_digest(sign_path(secret, path), signature)


def signed_transform_url(base_url: str, secret: str, asset_id: str, spec: TransformSpec) -> str:
    path = transform_path(asset_id, spec)
    return f"{base_url.rstrip('/')}{path}?s={sign_path(secret, path)}"
