"""The web app (web/) over HTTP, with the /config.json a deployment writes next to it.

The page is static: it learns where the API, the media and the sign-in are from
/config.json, which this server generates from the running stack (`lumiere publish-site`
writes the same file into SiteBucket from the stack's outputs)."""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import asdict, dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from lumiere_dev.background import BackgroundServer

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
WEB_DIR = REPO / "web"
VENDORED = ("hls.min.js", "thumbhash.js")


DEFAULT_SCOPES = "openid email profile"


@dataclass(frozen=True)
class AuthConfig:
    """How the page signs in: OAuth 2.0 authorization code with PKCE against Cognito's
    managed login (a user pool domain), or the local stack's stand-in for it."""

    authorize_url: str
    token_url: str
    logout_url: str
    client_id: str
    redirect_uri: str  # one of the app client's callback URLs: the page's own address
    scopes: str = DEFAULT_SCOPES

    @classmethod
    def for_cognito_domain(cls, domain_url: str, client_id: str, redirect_uri: str) -> AuthConfig:
        """The endpoints of a user pool domain (``https://{prefix}.auth.{region}.
        amazoncognito.com`` or a custom domain)."""
        base = domain_url.rstrip("/")
        return cls(
            authorize_url=f"{base}/oauth2/authorize",
            token_url=f"{base}/oauth2/token",
            logout_url=f"{base}/logout",
            client_id=client_id,
            redirect_uri=redirect_uri,
        )


@dataclass(frozen=True)
class SiteConfig:
    """What the page reads from /config.json."""

    api_url: str
    media_url: str = ""
    # None: the API has no authorizer, and the page calls it without a token.
    auth: AuthConfig | None = None


def ensure_vendored(web_dir: Path = WEB_DIR) -> bool:
    """Vendor hls.js and thumbhash into web/vendor/ if bootstrap has not (a fresh clone
    running `lumiere dev` directly). False, with a warning, when that is not possible."""
    vendor = web_dir / "vendor"
    if all((vendor / name).is_file() for name in VENDORED):
        return True
    script = web_dir.parent / "scripts" / "vendor-web"
    if script.is_file():
        result = subprocess.run([str(script)], capture_output=True, text=True, timeout=300)
        if result.returncode == 0:
            return True
        log.warning("could not vendor the web app's libraries: %s", result.stderr.strip())
    return False


class _Handler(SimpleHTTPRequestHandler):
    config_body: bytes = b"{}"
    extra_headers: ClassVar[dict[str, str]] = {}
    extensions_map: ClassVar[dict[str, str]] = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript; charset=utf-8",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        # A development server: an edited page must show on reload.
        self.send_header("Cache-Control", "no-store")
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/config.json":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self.config_body)))
            self.end_headers()
            self.wfile.write(self.config_body)
            return
        super().do_GET()


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class WebServer(BackgroundServer):
    """Serves ``web_dir`` and a generated /config.json on host:port (0: any free port),
    with ``headers`` on every response (the site distribution's CSP, made local)."""

    def __init__(
        self,
        config: SiteConfig,
        host: str,
        port: int,
        *,
        web_dir: Path = WEB_DIR,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not ensure_vendored(web_dir):
            log.warning("web/vendor/ is incomplete: the player will not load (run make bootstrap)")
        handler = type(
            "WebHandler",
            (_Handler,),
            {
                "config_body": json.dumps(asdict(config)).encode(),
                "extra_headers": dict(headers or {}),
            },
        )
        super().__init__(_Server((host, port), partial(handler, directory=str(web_dir))), "web")
