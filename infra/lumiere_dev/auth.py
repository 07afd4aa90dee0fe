"""The local stand-in for the Cognito user pool: it issues ID tokens signed with a
development RSA key it generates, and verifies them as API Gateway's Cognito authorizer
does (signature, issuer, audience, token_use, expiry).

The claims are those of a Cognito ID token (``sub``, ``cognito:username``, ``token_use``,
``iss``, ``aud``, ``auth_time``, ``iat``, ``exp``), so the API reads the same request
context locally and in AWS. The pool has two app clients, as the template does: the CLI's
(``client_id``) and the web app's (``web_client_id``, which signs in through the local
OAuth endpoints); API Gateway's authorizer accepts ID tokens of any client of the pool.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TOKEN_TTL_SECONDS = 3600  # Cognito's default ID token lifetime


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or meant for someone else."""


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass
class DevUserPool:
    """One user pool with one app client. ``sub`` is stable per username, as in Cognito."""

    region: str = "us-east-1"
    pool_id: str = field(default_factory=lambda: f"us-east-1_local{uuid.uuid4().hex[:8]}")
    client_id: str = field(default_factory=lambda: uuid.uuid4().hex[:26])
    web_client_id: str = field(default_factory=lambda: uuid.uuid4().hex[:26])
    key: rsa.RSAPrivateKey = field(default_factory=new_rsa_key)
    kid: str = field(default_factory=lambda: uuid.uuid4().hex)
    _subs: dict[str, str] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    def sub_of(self, username: str) -> str:
        return self._subs.setdefault(username, str(uuid.uuid4()))

    def issue(
        self,
        username: str,
        *,
        ttl_seconds: int = TOKEN_TTL_SECONDS,
        now: float | None = None,
        client_id: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """An ID token for ``username`` from ``client_id`` (default: the CLI's client);
        ``extra`` adds claims (the OAuth flow's ``nonce``, ``at_hash``, ``origin_jti``)."""
        issued = int(time.time() if now is None else now)
        claims = {
            "sub": self.sub_of(username),
            "cognito:username": username,
            "token_use": "id",
            "iss": self.issuer,
            "aud": client_id or self.client_id,
            "auth_time": issued,
            "iat": issued,
            "exp": issued + ttl_seconds,
            "jti": str(uuid.uuid4()),
            **(extra or {}),
        }
        return self._sign(claims)

    def issue_access(
        self,
        username: str,
        *,
        client_id: str,
        scopes: str,
        ttl_seconds: int = TOKEN_TTL_SECONDS,
        now: float | None = None,
        origin_jti: str = "",
    ) -> str:
        """An access token as Cognito's: no ``aud``, the client in ``client_id``, the
        granted ``scope``. The API's authorizer refuses it (it takes ID tokens only)."""
        issued = int(time.time() if now is None else now)
        claims = {
            "sub": self.sub_of(username),
            "iss": self.issuer,
            "client_id": client_id,
            "origin_jti": origin_jti or str(uuid.uuid4()),
            "token_use": "access",
            "scope": scopes,
            "auth_time": issued,
            "iat": issued,
            "exp": issued + ttl_seconds,
            "jti": str(uuid.uuid4()),
            "username": username,
        }
        return self._sign(claims)

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def verify(self, authorization: str | None) -> dict[str, Any]:
        """The claims of a valid ID token (the header's value, with or without "Bearer "),
        else InvalidToken. Only RS256 with this pool's key: no "none", no HS256 with the
        public key as the secret."""
        if not authorization:
            raise InvalidToken("no token")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            header = jwt.get_unverified_header(token)
            if header.get("kid") != self.kid:
                raise InvalidToken("unknown signing key")
            claims = jwt.decode(
                token,
                self.key.public_key(),
                algorithms=["RS256"],
                audience=[self.client_id, self.web_client_id],
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud", "token_use"]},
            )
        except jwt.PyJWTError as e:
            raise InvalidToken(str(e)) from e
        if claims.get("token_use") != "id":
            raise InvalidToken("not an ID token")
        return dict(claims)


def gateway_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as API Gateway's Cognito authorizer hands them on: every value a string."""
    return {k: v if isinstance(v, str) else str(v) for k, v in claims.items()}


def at_hash(access_token: str) -> str:
    """OpenID Connect's ``at_hash`` of an RS256 ID token: the left half of the access
    token's SHA-256, base64url without padding (Cognito puts it in code-flow ID tokens)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
