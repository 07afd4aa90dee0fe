"""The local managed-login pages over HTTP, on the local API server under ``/_local``:
``GET /_local/oauth2/authorize`` (a sign-in page: a name and a button),
``POST /_local/oauth2/authorize`` (the form: redirect back with a code),
``POST /_local/oauth2/token`` and ``GET /_local/logout``, the paths a Cognito user pool
domain serves at ``/oauth2/authorize``, ``/oauth2/token`` and ``/logout``.

Each route returns a Reply; the API server's request handler sends it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from lumiere_dev.oauth import DevAuthorizationServer, OAuthError, UntrustedRedirect

AUTHORIZE_PATH = "/_local/oauth2/authorize"
TOKEN_PATH = "/_local/oauth2/token"  # noqa: S105 - a route, not a secret
LOGOUT_PATH = "/_local/logout"
PATHS = frozenset({AUTHORIZE_PATH, TOKEN_PATH, LOGOUT_PATH})
MAX_FORM_BYTES = 16 * 1024

# The sign-in page runs no script and cannot be framed. No form-action: browsers apply
# it to the redirect that follows the post too, and that goes to the app's origin.
_PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def _form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _page(title: str, inner: str, status: int = 200) -> Reply:
    text = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font:16px system-ui,sans-serif;max-width:24rem;margin:4rem auto}}
label,input,button{{display:block;margin:.4rem 0}}input{{width:100%}}</style></head>
<body><h1>{html.escape(title)}</h1>{inner}</body></html>"""
    return Reply(status, dict(_PAGE_HEADERS), text.encode())


def _error_page(error: OAuthError) -> Reply:
    return _page(
        "Sign-in error",
        f'<p id="error">{html.escape(error.error)}: {html.escape(error.description)}</p>',
        400,
    )


def _redirect(location: str) -> Reply:
    return Reply(302, {"Location": location, "Cache-Control": "no-store"})


def _sign_in_page(fields: dict[str, str]) -> Reply:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in fields.items()
    )
    return _page(
        "Sign in to Lumiere (local)",
        f"""<p>The local stack's development identity: any name signs in as that user.</p>
<form method="post" action="{AUTHORIZE_PATH}">{hidden}
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<button id="sign-in" type="submit">Sign in</button></form>""",
    )


class OAuthRoutes:
    """Routes requests under ``/_local`` to ``server``; ``origins`` are the browser
    origins granted CORS on the token endpoint (the local web app's)."""

    def __init__(self, server: DevAuthorizationServer, origins: Collection[str]) -> None:
        self.server = server
        self.origins = frozenset(origins)

    def handles(self, path: str) -> bool:
        return path.split("?", 1)[0] in PATHS

    def handle(self, method: str, target: str, body: bytes, origin: str | None) -> Reply:
        path, _, query = target.partition("?")
        if method == "OPTIONS" and path == TOKEN_PATH:
            return Reply(204, self._cors(origin))
        if method == "GET" and path == AUTHORIZE_PATH:
            return self._authorize(dict(parse_qsl(query)), None)
        if method == "POST" and path == AUTHORIZE_PATH:
            form = _form(body)
            return self._authorize(form, form.get("username", ""))
        if method == "POST" and path == TOKEN_PATH:
            return self._token(_form(body), origin)
        if method == "GET" and path == LOGOUT_PATH:
            try:
                return _redirect(self.server.logout_target(dict(parse_qsl(query))))
            except OAuthError as e:
                return _error_page(e)
        return Reply(405, {"Allow": "GET, POST, OPTIONS"})

    def _authorize(self, params: dict[str, str], username: str | None) -> Reply:
        try:
            request = self.server.check_authorization(params)
        except UntrustedRedirect as e:
            return _error_page(e)
        except OAuthError as e:
            return _redirect(self.server.redirect_with_error(params, e))
        if username is None:
            return _sign_in_page(request.form_fields())
        try:
            code = self.server.grant(request, username)
        except OAuthError as e:
            return _redirect(self.server.redirect_with_error(params, e))
        return _redirect(self.server.redirect_with_code(request, code))

    def _token(self, form: dict[str, str], origin: str | None) -> Reply:
        headers = {
            **self._cors(origin),
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
        }
        try:
            tokens = self.server.token(form)
        except OAuthError as e:
            body = {"error": e.error, "error_description": e.description}
            return Reply(400, headers, json.dumps(body).encode())
        return Reply(200, headers, json.dumps(tokens.as_json()).encode())

    def _cors(self, origin: str | None) -> dict[str, str]:
        # Cognito's token endpoint answers any origin (*); the code and its verifier are
        # the protection. Here only the local web app is granted, as for /_local/token.
        if origin not in self.origins:
            return {}
        return {
            "Access-Control-Allow-Origin": str(origin),
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Vary": "Origin",
        }
