"""The local stand-in for Cognito's managed login: OAuth 2.0 authorization code with PKCE
(RFC 6749, RFC 7636), as a user pool domain speaks it at ``/oauth2/authorize``,
``/oauth2/token`` and ``/logout``, minus passwords: whoever types a name is that user
(the development identity). The tokens are the stand-in user pool's (DevUserPool), so
the API accepts them exactly as API Gateway accepts Cognito's.

This module is the protocol only (no HTTP): checking an authorization request, issuing
single-use codes bound to the PKCE challenge and redirect URI, redeeming them and
refresh tokens. ``oauth_routes`` serves it on the local API server.

Stricter than Cognito on purpose, so a page that works here works there: PKCE with S256
is required (Cognito accepts a public client without it), and a code is spent by any
attempt to redeem it, so a wrong verifier cannot be retried against the same code.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from lumiere_dev.auth import TOKEN_TTL_SECONDS, DevUserPool, at_hash

CODE_TTL_SECONDS = 300  # Cognito's authorization codes live five minutes
SUPPORTED_SCOPES = frozenset({"openid", "email", "profile", "phone"})


class OAuthError(Exception):
    """An error answer of RFC 6749 (``error`` is its code, e.g. ``invalid_grant``)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


class UntrustedRedirect(OAuthError):
    """The client or its redirect URI is unknown: RFC 6749 4.1.2.1 forbids redirecting
    there (it would hand an attacker's page the answer), so the user sees the error."""


@dataclass(frozen=True)
class OAuthClient:
    """An app client as the template declares it: public (no secret), code grant."""

    client_id: str
    callback_urls: frozenset[str]
    logout_urls: frozenset[str]
    scopes: frozenset[str] = frozenset({"openid", "email", "profile"})


@dataclass(frozen=True)
class AuthorizationRequest:
    """A checked ``/oauth2/authorize`` request: safe to show a sign-in page for, and to
    redirect back to ``redirect_uri``."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    state: str = ""
    nonce: str = ""

    def form_fields(self) -> dict[str, str]:
        """The request again, as the sign-in form posts it back."""
        return {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.scopes),
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
            "state": self.state,
            "nonce": self.nonce,
        }


@dataclass(frozen=True)
class TokenSet:
    """The token endpoint's answer (Cognito's field names)."""

    id_token: str
    access_token: str
    expires_in: int
    refresh_token: str = ""
    token_type: str = "Bearer"  # noqa: S105 - the scheme's name

    def as_json(self) -> dict[str, str | int]:
        body: dict[str, str | int] = {
            "id_token": self.id_token,
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "token_type": self.token_type,
        }
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        return body


@dataclass(frozen=True)
class _Grant:
    username: str
    request: AuthorizationRequest
    expires_at: float


@dataclass(frozen=True)
class _Session:
    username: str
    client_id: str
    scopes: tuple[str, ...]


def s256(verifier: str) -> str:
    """RFC 7636's S256 code challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def with_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` added to its query (empty values left out)."""
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{url}{'&' if '?' in url else '?'}{query}" if query else url


@dataclass
class DevAuthorizationServer:
    """The user pool domain's OAuth endpoints for ``clients``, issuing ``pool``'s tokens."""

    pool: DevUserPool
    clients: dict[str, OAuthClient]
    token_ttl_seconds: int = TOKEN_TTL_SECONDS
    _codes: dict[str, _Grant] = field(default_factory=dict)
    _spent: dict[str, str] = field(default_factory=dict)  # code -> refresh token it gave
    _sessions: dict[str, _Session] = field(default_factory=dict)  # refresh token -> who
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _known_client(self, params: Mapping[str, str]) -> OAuthClient:
        """The request's client; an unknown one has no URL an answer may be sent to."""
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            raise UntrustedRedirect("invalid_client", "unknown client_id")
        return client

    # ------------------------------------------------------------ /oauth2/authorize
    def check_authorization(self, params: Mapping[str, str]) -> AuthorizationRequest:
        """The request, checked; UntrustedRedirect when the answer may not be sent back
        to ``redirect_uri``, OAuthError (to send back there) for anything else."""
        client = self._known_client(params)
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.callback_urls:
            # Exact match, as Cognito compares callback URLs: no prefixes, no patterns.
            raise UntrustedRedirect("redirect_mismatch", "redirect_uri is not a callback URL")
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "only response_type=code")
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or not 43 <= len(challenge) <= 128:
            raise OAuthError("invalid_request", "PKCE is required: code_challenge with S256")
        scopes = tuple(params.get("scope", "openid").split())
        if not set(scopes) <= client.scopes & SUPPORTED_SCOPES:
            raise OAuthError("invalid_scope", f"this client may ask for {sorted(client.scopes)}")
        return AuthorizationRequest(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            code_challenge=challenge,
            state=params.get("state", ""),
            nonce=params.get("nonce", ""),
        )

    def grant(
        self, request: AuthorizationRequest, username: str, *, now: float | None = None
    ) -> str:
        """The user signed in: a single-use code for them, bound to ``request``."""
        if not username.strip():
            raise OAuthError("invalid_request", "a user name is required")
        code = secrets.token_urlsafe(32)
        moment = time.time() if now is None else now
        with self._lock:
            # Codes nobody redeemed (a sign-in abandoned after the page) go when they expire.
            for stale in [c for c, g in self._codes.items() if g.expires_at < moment]:
                del self._codes[stale]
            self._codes[code] = _Grant(username.strip(), request, moment + CODE_TTL_SECONDS)
        return code

    def redirect_with_code(self, request: AuthorizationRequest, code: str) -> str:
        return with_query(request.redirect_uri, {"code": code, "state": request.state})

    @staticmethod
    def redirect_with_error(request_params: Mapping[str, str], error: OAuthError) -> str:
        """Where an OAuthError (not an UntrustedRedirect) sends the browser."""
        return with_query(
            request_params["redirect_uri"],
            {
                "error": error.error,
                "error_description": error.description,
                "state": request_params.get("state", ""),
            },
        )

    # ------------------------------------------------------------ /oauth2/token
    def token(self, form: Mapping[str, str], *, now: float | None = None) -> TokenSet:
        """The token endpoint: ``authorization_code`` or ``refresh_token`` grants."""
        client_id = form.get("client_id", "")
        if client_id not in self.clients:
            raise OAuthError("invalid_client", "unknown client_id")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._redeem(form, now=now)
        if grant_type == "refresh_token":
            return self._refresh(form, now=now)
        raise OAuthError("unsupported_grant_type", "authorization_code or refresh_token")

    def _redeem(self, form: Mapping[str, str], *, now: float | None) -> TokenSet:
        code = form.get("code", "")
        with self._lock:
            grant = self._codes.pop(code, None)  # spent by this attempt, whatever follows
            if grant is None:
                # RFC 6749 4.1.2: a code presented twice revokes what it was exchanged for.
                self._sessions.pop(self._spent.pop(code, ""), None)
                raise OAuthError("invalid_grant", "the code is unknown, used or expired")
        request = grant.request
        if (time.time() if now is None else now) > grant.expires_at:
            raise OAuthError("invalid_grant", "the code expired")
        if form.get("client_id") != request.client_id:
            raise OAuthError("invalid_grant", "the code was issued to another client")
        if form.get("redirect_uri") != request.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization's")
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or not secrets.compare_digest(
            s256(verifier), request.code_challenge
        ):
            raise OAuthError("invalid_grant", "code_verifier does not match code_challenge")
        refresh = secrets.token_urlsafe(48)
        with self._lock:
            self._sessions[refresh] = _Session(grant.username, request.client_id, request.scopes)
            self._spent[code] = refresh
        tokens = self._tokens(grant.username, request.client_id, request.scopes, request.nonce, now)
        return TokenSet(
            tokens.id_token, tokens.access_token, tokens.expires_in, refresh_token=refresh
        )

    def _refresh(self, form: Mapping[str, str], *, now: float | None) -> TokenSet:
        with self._lock:
            session = self._sessions.get(form.get("refresh_token", ""))
        if session is None or session.client_id != form.get("client_id"):
            raise OAuthError("invalid_grant", "the refresh token is unknown or revoked")
        # As Cognito without refresh token rotation: new ID and access tokens only.
        return self._tokens(session.username, session.client_id, session.scopes, "", now)

    def _tokens(
        self,
        username: str,
        client_id: str,
        scopes: tuple[str, ...],
        nonce: str,
        now: float | None,
    ) -> TokenSet:
        origin = secrets.token_hex(16)
        access = self.pool.issue_access(
            username,
            client_id=client_id,
            scopes=" ".join(scopes),
            ttl_seconds=self.token_ttl_seconds,
            now=now,
            origin_jti=origin,
        )
        extra = {"at_hash": at_hash(access), "origin_jti": origin}
        if nonce:
            extra["nonce"] = nonce
        id_token = self.pool.issue(
            username,
            client_id=client_id,
            ttl_seconds=self.token_ttl_seconds,
            now=now,
            extra=extra,
        )
        return TokenSet(id_token, access, self.token_ttl_seconds)

    # ------------------------------------------------------------ /logout
    def logout_target(self, params: Mapping[str, str]) -> str:
        """Where ``/logout?client_id=…&logout_uri=…`` sends the browser. There is no
        session to end here (the sign-in page always asks), so this only checks."""
        client = self._known_client(params)
        target = params.get("logout_uri", "")
        if target not in client.logout_urls:
            raise UntrustedRedirect("invalid_request", "logout_uri is not a sign-out URL")
        return target
