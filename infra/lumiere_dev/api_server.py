"""A function's Chalice app over HTTP, served by Chalice's own local server (the one
`chalice local` uses), so routing, CORS and error responses are Chalice's.

With a user pool, it also plays API Gateway's Cognito authorizer: every route the
template does not mark ``Authorizer: NONE`` needs a valid ID token in ``Authorization``
(401 otherwise, before the function runs), and the token's claims reach the function in
``requestContext.authorizer.claims``, where API Gateway puts them. ``POST /_local/token``
stands in for signing in to Cognito (there is no such route in AWS); a browser may call
it only from the origins named in ``token_origins`` (the local web app), so another page
open in the same browser cannot mint tokens for the local API. The local managed-login
pages (``/_local/oauth2/authorize``, ``/_local/oauth2/token``, ``/_local/logout``: see
oauth_routes) answer here too, where the web app signs in with the OAuth code flow.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Iterable
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.deploy.validate import validate_routes
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LambdaContext,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayAuthorizer,
    NotAuthorizedError,
)

from lumiere_dev.auth import DevUserPool, InvalidToken, gateway_claims
from lumiere_dev.background import SHUTDOWN_POLL
from lumiere_dev.lambda_runtime import import_handler
from lumiere_dev.oauth_routes import MAX_FORM_BYTES, OAuthRoutes

TOKEN_PATH = "/_local/token"  # noqa: S105 - a route, not a secret
_UNAUTHORIZED = b'{"message":"Unauthorized"}'


class CognitoAuthorizer(LocalGatewayAuthorizer):
    """What API Gateway does before invoking the function: verify, then pass the claims."""

    def __init__(
        self, app: Chalice, pool: DevUserPool, public_routes: Iterable[tuple[str, str]]
    ) -> None:
        super().__init__(app)
        self.pool = pool
        self.public_routes = set(public_routes)

    def authorize(
        self, raw_path: str, lambda_event: dict[str, Any], lambda_context: LambdaContext
    ) -> tuple[dict[str, Any], LambdaContext]:
        context = lambda_event["requestContext"]
        if (context["resourcePath"], context["httpMethod"]) in self.public_routes:
            return lambda_event, lambda_context
        try:
            claims = self.pool.verify((lambda_event.get("headers") or {}).get("authorization"))
        except InvalidToken as e:
            raise NotAuthorizedError(
                {
                    "x-amzn-RequestId": lambda_context.aws_request_id,
                    "x-amzn-ErrorType": "UnauthorizedException",
                    # The template's gateway responses add CORS to 4XX, so browsers see it.
                    "Access-Control-Allow-Origin": "*",
                },
                _UNAUTHORIZED,
            ) from e
        context["authorizer"] = {"claims": gateway_claims(claims)}
        return lambda_event, lambda_context


def _loopback(server: Any) -> bool:
    return ipaddress.ip_address(server.server_address[0]).is_loopback


def _handler_class(
    pool: DevUserPool | None,
    public_routes: frozenset[tuple[str, str]],
    token_origins: frozenset[str],
    oauth: OAuthRoutes | None,
    access_log: bool,
) -> type[ChaliceRequestHandler]:
    class Handler(ChaliceRequestHandler):
        def __init__(self, request: Any, client_address: Any, server: Any, **kw: Any) -> None:
            self._pool = pool
            self._public_routes = public_routes
            super().__init__(request, client_address, server, **kw)

        def log_message(self, format: str, *args: Any) -> None:
            if access_log:
                super().log_message(format, *args)

        def _token_route(self) -> bool:
            return self.path == TOKEN_PATH and self._pool is not None and _loopback(self.server)

        def _token_cors(self) -> dict[str, str]:
            # Echoed only for the local web app: CORS is what keeps other pages out.
            origin = self.headers.get("origin")
            if origin not in token_origins:
                return {}
            return {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": "Content-Type",
                "Vary": "Origin",
            }

        def _oauth_route(self) -> bool:
            # Signing in without a password: tolerable on the loopback interface only.
            return oauth is not None and oauth.handles(self.path) and _loopback(self.server)

        def _answer_oauth(self) -> None:
            assert oauth is not None
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_FORM_BYTES:
                self._send_http_response(413, {}, b"")
                return
            body = self.rfile.read(length) if length else b""
            reply = oauth.handle(self.command, self.path, body, self.headers.get("origin"))
            self._send_http_response(reply.status, dict(reply.headers), reply.body or None)

        def do_GET(self) -> None:
            if self._oauth_route():
                self._answer_oauth()
            else:
                self._generic_handle()

        def do_OPTIONS(self) -> None:
            if self._token_route():
                self._send_http_response(204, self._token_cors(), None)
            elif self._oauth_route():
                self._answer_oauth()
            else:
                self._generic_handle()

        def setup(self) -> None:
            super().setup()
            gateway: LocalGateway = self.local_gateway
            if self._pool is not None:
                gateway._authorizer = CognitoAuthorizer(
                    gateway._app_object, self._pool, self._public_routes
                )

        def do_POST(self) -> None:
            # Minting tokens for anyone who asks is only tolerable on the loopback interface.
            if self._token_route():
                self._issue_token()
            elif self._oauth_route():
                self._answer_oauth()
            else:
                self._generic_handle()

        def _issue_token(self) -> None:
            assert self._pool is not None
            length = int(self.headers.get("content-length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                username = str(body["username"])
            except (ValueError, KeyError, TypeError):
                self._send_http_response(
                    400, self._token_cors(), b'{"message":"send {\\"username\\": ...}"}'
                )
                return
            token = self._pool.issue(username)
            payload = {"IdToken": token, "TokenType": "Bearer", "ExpiresIn": 3600}
            headers = {**self._token_cors(), "Cache-Control": "no-store"}
            self._send_http_response(200, headers, json.dumps(payload).encode())

    return Handler


class ApiServer:
    """Serves the Chalice app named by ``handler`` (dotted path) on host:port (0: any)."""

    def __init__(
        self,
        handler: str,
        host: str,
        port: int,
        *,
        timeout: int = 30,
        memory: int = 128,
        user_pool: DevUserPool | None = None,
        public_routes: Iterable[tuple[str, str]] = (),
        token_origins: Iterable[str] = (),
        oauth: OAuthRoutes | None = None,
        access_log: bool = True,
    ) -> None:
        """``token_origins``: browser origins allowed to call ``POST /_local/token``;
        ``oauth``: the local managed-login pages, if any; ``access_log``: a line per
        request on stderr."""
        app = import_handler(handler)
        if not isinstance(app, Chalice):
            raise TypeError(f"{handler} is a {type(app).__name__}, not a Chalice app")
        validate_routes(app.routes)  # what `chalice local` and `chalice deploy` refuse
        config = Config.create(
            app_name=app.app_name, lambda_timeout=timeout, lambda_memory_size=memory
        )
        if not isinstance(app, LocalChalice):
            # What chalice.local.create_local_server does before serving: the app's class
            # becomes a local subclass with a thread-local current_request (once per app).
            CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
            app.__class__ = CustomLocalChalice
        handler_cls = _handler_class(
            user_pool, frozenset(public_routes), frozenset(token_origins), oauth, access_log
        )
        self._server = LocalDevServer(app, config, host, port, handler_cls=handler_cls)
        self._thread = threading.Thread(
            target=self._server.server.serve_forever,
            kwargs=SHUTDOWN_POLL,
            name=f"api-{handler}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server.server_close()
