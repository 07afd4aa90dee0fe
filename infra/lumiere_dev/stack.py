"""The local stack: moto's server, the template's resources, the API, the media CDN and
the SQS event-source mappings, all in one process."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from cryptography.hazmat.primitives.asymmetric import rsa
from lumiere.cloud.playback_signing import PlaybackSigner
from lumiere.cloud.public_assets import TablePublicAssets

from lumiere_dev.api_server import ApiServer
from lumiere_dev.auth import DevUserPool, new_rsa_key, private_pem, public_pem
from lumiere_dev.cdn import MediaServer
from lumiere_dev.cfn import load_template
from lumiere_dev.client import LumiereClient
from lumiere_dev.environment import (
    LOCAL_CREDENTIALS,
    apply_environment,
    handler_environment,
    restore_environment,
)
from lumiere_dev.lambda_runtime import import_handler
from lumiere_dev.moto_server import LocalMotoServer
from lumiere_dev.oauth import DevAuthorizationServer, OAuthClient
from lumiere_dev.oauth_routes import AUTHORIZE_PATH, LOGOUT_PATH, TOKEN_PATH, OAuthRoutes
from lumiere_dev.resources import create_resources
from lumiere_dev.runner import FunctionRunner
from lumiere_dev.site_headers import local_csp
from lumiere_dev.template import (
    BucketSpec,
    KeyValueStoreSpec,
    StackContext,
    StackSpec,
    read_stack,
)
from lumiere_dev.web_server import WEB_DIR, AuthConfig, SiteConfig, WebServer

log = logging.getLogger(__name__)

# `lumiere dev` listens here, so a browser tab or a second terminal can find the stack.
DEV_MOTO_PORT, DEV_API_PORT, DEV_CDN_PORT, DEV_WEB_PORT = 8600, 8601, 8602, 8603


def reserve_port(host: str) -> socket.socket:
    """A socket bound (not listening) to a free port, held until the server that will use
    the port has bound it. A port picked and released at once is back in the ephemeral
    range: the boto clients' own connections to moto can take it before the API or CDN
    server binds (seen in CI as EADDRINUSE). While this socket holds the port, connect()
    skips it; SO_REUSEADDR lets the servers (which set it too) bind alongside."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    return s


def _check_free(host: str, port: int) -> None:
    # werkzeug's make_server answers a taken port with sys.exit(1): check first, and say
    # what the likely cause is. With SO_REUSEADDR, as the servers bind: the connections
    # a stack that just stopped left in TIME_WAIT do not count (a second `make demo` at
    # once failed on them), a server still listening does.
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise OSError(f"{host}:{port} is taken (is another local stack running?)") from e


# Parameters a deployment must choose but a laptop need not: a fixed signing key for
# /img/ links, useless anywhere but 127.0.0.1.
LOCAL_PARAMETERS = {"ImageSigningSecret": "lumiere-local-development-only"}


def _local_defaults(template_path: Path, playback: PlaybackKeys) -> dict[str, str]:
    declared = load_template(template_path).get("Parameters") or {}
    values = {
        **LOCAL_PARAMETERS,
        "PlaybackPublicKey": public_pem(playback.key),
        "PlaybackKeySecretName": playback.secret_name,
    }
    return {k: v for k, v in values.items() if k in declared}


@dataclass(frozen=True)
class PlaybackKeys:
    """The CloudFront key pair of this run: its public half goes to the template (and so
    to the local CDN's trusted keys), its private half into moto's Secrets Manager, where
    the API reads it as it does in AWS."""

    secret_name: str
    key: rsa.RSAPrivateKey


class LocalStack:
    def __init__(
        self,
        template_path: Path,
        *,
        host: str = "127.0.0.1",
        moto_port: int = 0,
        api_port: int = 0,
        cdn_port: int = 0,
        web_port: int | None = 0,
        web_dir: Path = WEB_DIR,
        workers_per_function: int = 2,
        retry_delay_seconds: int = 1,
        overrides: dict[str, str] | None = None,
        parameters: dict[str, str] | None = None,
        stack_name: str = "lumiere-local",
        run_functions: bool = True,
        cold_start_hook: str | None = "lumiere.handlers.runtime.reset",
        csp_report_only: bool = False,
        quiet: bool = False,
    ) -> None:
        """Ports of 0 pick free ones. ``overrides`` are extra environment variables for
        the handlers; ``parameters`` override the template's parameter Defaults.
        ``cold_start_hook`` (dotted path, skipped if it does not import) is called once
        the environment points at this stack, so handlers drop clients cached from an
        earlier one. ``run_functions=False`` leaves the queues to the caller.
        ``web_port=None`` serves no web app. The web app gets the site distribution's CSP;
        ``csp_report_only`` sends it as Content-Security-Policy-Report-Only (violations
        are reported, not enforced: browser tests evaluate strings in the page).
        ``quiet``: functions log warnings and errors only, print no EMF metric lines, and
        the API logs no request lines (for a terminal telling its own story)."""
        self.host = host
        self._reserved: dict[int, socket.socket] = {}  # port -> the socket holding it
        self.moto_port = moto_port or self._reserve_port()
        self.api_port = api_port or self._reserve_port()
        self.cdn_port = cdn_port or self._reserve_port()
        self.web_port = None if web_port is None else (web_port or self._reserve_port())
        self.web_dir = web_dir
        self.workers_per_function = workers_per_function
        self.retry_delay_seconds = retry_delay_seconds
        self.run_functions = run_functions
        self.quiet = quiet
        self.overrides = dict(overrides or {})
        if quiet:
            self.overrides.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
            self.overrides.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        self.cold_start_hook = cold_start_hook
        self.playback_keys = PlaybackKeys(f"{stack_name}-playback-key", new_rsa_key())
        ctx = StackContext(
            stack_name=stack_name,
            endpoint_url=f"http://{host}:{self.moto_port}",
            parameters={**_local_defaults(template_path, self.playback_keys), **(parameters or {})},
        )
        self.template_path = template_path
        self.csp_report_only = csp_report_only
        self.spec: StackSpec = read_stack(template_path, ctx)
        # The template's Cognito authorizer, played by a development key made for this run.
        self.user_pool: DevUserPool | None = (
            DevUserPool(region=ctx.region) if self.spec.api_authorizer else None
        )
        # Its managed login (the web app's app client), played on the API server.
        self.authorization_server: DevAuthorizationServer | None = None
        if self.user_pool is not None and self.web_port is not None:
            pages = [f"{origin}/" for origin in self._web_origins()]
            client = OAuthClient(self.user_pool.web_client_id, frozenset(pages), frozenset(pages))
            self.authorization_server = DevAuthorizationServer(
                self.user_pool, {client.client_id: client}
            )
        self.runner: FunctionRunner | None = None
        self._moto: LocalMotoServer | None = None
        self._api: ApiServer | None = None
        self._cdn: MediaServer | None = None
        self._web: WebServer | None = None
        self._saved_env: dict[str, str | None] | None = None

    def _reserve_port(self) -> int:
        sock = reserve_port(self.host)
        port = int(sock.getsockname()[1])
        self._reserved[port] = sock
        return port

    def _release_ports(self) -> None:
        for sock in self._reserved.values():
            sock.close()
        self._reserved.clear()

    @property
    def endpoint_url(self) -> str:
        return self.spec.context.endpoint_url

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def media_url(self) -> str:
        return f"http://{self.host}:{self.cdn_port}"

    @property
    def web_url(self) -> str | None:
        return None if self.web_port is None else f"http://{self.host}:{self.web_port}"

    def _web_origins(self) -> list[str]:
        """Where the local web app's page comes from, as a browser names it."""
        if self.web_port is None:
            return []
        hosts = {self.host} | ({"localhost"} if self.host == "127.0.0.1" else set())
        return [f"http://{h}:{self.web_port}" for h in sorted(hosts)]

    @property
    def _csp_header(self) -> str:
        suffix = "-Report-Only" if self.csp_report_only else ""
        return f"Content-Security-Policy{suffix}"

    def auth_config(self) -> AuthConfig | None:
        """The web app's sign-in: the stand-in managed login on the API server, with the
        page's own address as the redirect URI, as the template's WebAppClient has."""
        if self.authorization_server is None or self.user_pool is None or not self.web_url:
            return None
        return AuthConfig(
            authorize_url=f"{self.api_url}{AUTHORIZE_PATH}",
            token_url=f"{self.api_url}{TOKEN_PATH}",
            logout_url=f"{self.api_url}{LOGOUT_PATH}",
            client_id=self.user_pool.web_client_id,
            redirect_uri=f"{self.web_url}/",
        )

    def site_config(self) -> SiteConfig:
        """What the web app reads from /config.json."""
        return SiteConfig(api_url=self.api_url, media_url=self.media_url, auth=self.auth_config())

    @property
    def media_bucket(self) -> BucketSpec | None:
        """The bucket the CDN fronts: the one the functions publish to (MEDIA_BUCKET)."""
        names = {fn.environment.get("MEDIA_BUCKET") for fn in self.spec.functions.values()}
        return next((b for b in self.spec.buckets.values() if b.name in names), None)

    def token(self, username: str = "developer") -> str:
        """An ID token for ``username`` (a user is created on first use), as Cognito would
        issue after sign-in; empty when the template's API has no authorizer."""
        return self.user_pool.issue(username) if self.user_pool else ""

    def api_client(self, username: str = "developer", **kwargs: Any) -> LumiereClient:
        """An API client signed in as ``username``."""
        return LumiereClient(self.api_url, token=self.token(username), **kwargs)

    def boto3_session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=self.spec.context.region,
        )

    def client(self, service: str) -> Any:
        return self.boto3_session().client(service, endpoint_url=self.endpoint_url)

    def environment(self) -> dict[str, str]:
        """What the handlers see in os.environ while the stack runs."""
        overrides = dict(self.overrides)
        if self.media_bucket is not None:
            overrides.setdefault("MEDIA_BASE_URL", self.media_url)
        # Encrypted playlists name the key's URL on the API: this stack's API.
        overrides.setdefault("API_URL", self.api_url)
        store = self.public_assets_store
        if store is not None:
            # The API writes public ids where the local CDN reads them (see cdn.py).
            overrides.setdefault("PUBLIC_ASSETS_TABLE", store.name)
        return handler_environment(self.spec, overrides)

    @property
    def public_assets_store(self) -> KeyValueStoreSpec | None:
        """The template's KeyValueStore of public asset ids (its stand-in table here)."""
        stores = list(self.spec.key_value_stores.values())
        if len(stores) > 1:
            raise ValueError("the local CDN plays one public-assets KeyValueStore")
        return stores[0] if stores else None

    def public_assets(self) -> TablePublicAssets | None:
        """The public index as the CDN reads it (and the API writes it)."""
        store = self.public_assets_store
        if store is None:
            return None
        return TablePublicAssets(store.name, dynamodb_client=self.client("dynamodb"))

    def start(self) -> LocalStack:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's line per request
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        if self.moto_port not in self._reserved:
            _check_free(self.host, self.moto_port)
        self._moto = LocalMotoServer(self.host, self.moto_port)
        self._moto.start()
        create_resources(self.spec, self.boto3_session())
        if self.spec.cdn_public_keys:
            self._store_playback_key()
        # Handlers run in this process and read their configuration from its environment;
        # it must be in place before a handler module is imported.
        self._saved_env = apply_environment(self.environment())
        self._cold_start()
        bucket = self.media_bucket
        if bucket is not None:
            self._cdn = MediaServer(
                self.client("s3"),
                bucket.name,
                self.host,
                self.cdn_port,
                public_keys=dict(self.spec.cdn_public_keys) or None,
                public_index=self.public_assets(),
            )
            self._cdn.start()
        api_functions = [f for f in self.spec.functions.values() if f.api_events]
        if len(api_functions) > 1:
            raise ValueError("the local stack serves one API function (one Chalice app)")
        for fn in api_functions:
            self._api = ApiServer(
                fn.handler,
                self.host,
                self.api_port,
                timeout=fn.timeout,
                memory=fn.memory,
                user_pool=self.user_pool,
                public_routes=fn.public_api_events,
                token_origins=self._web_origins(),
                access_log=not self.quiet,
                oauth=(
                    OAuthRoutes(self.authorization_server, self._web_origins())
                    if self.authorization_server is not None
                    else None
                ),
            )
            self._api.start()
        if self.web_port is not None and self.web_dir.is_dir():
            csp = local_csp(
                self.template_path,
                api_url=self.api_url,
                media_url=self.media_url,
                storage_url=self.endpoint_url,
            )
            self._web = WebServer(
                self.site_config(),
                self.host,
                self.web_port,
                web_dir=self.web_dir,
                headers={self._csp_header: csp} if csp else None,
            )
            self._web.start()
        self._release_ports()  # every server has bound its own
        if self.run_functions:
            self.start_functions()

    def _store_playback_key(self) -> None:
        secrets = self.client("secretsmanager")
        name, pem = self.playback_keys.secret_name, private_pem(self.playback_keys.key)
        try:
            secrets.create_secret(Name=name, SecretString=pem)
        except secrets.exceptions.ResourceExistsException:
            secrets.put_secret_value(SecretId=name, SecretString=pem)

    def playback_signer(self) -> PlaybackSigner:
        """Signs media URLs as the API does (for tests that sign their own)."""
        [key_id] = self.spec.cdn_public_keys
        return PlaybackSigner(self.media_url, key_id, private_pem(self.playback_keys.key))

    def start_functions(self) -> None:
        """Start the event-source mappings (done by start() unless run_functions=False)."""
        if self.runner is None:
            self.runner = FunctionRunner(
                self.spec,
                session=self.boto3_session(),
                workers_per_function=self.workers_per_function,
                retry_delay_seconds=self.retry_delay_seconds,
            )
            self.runner.start()

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Until every queue a function polls is empty and no handler runs."""
        if self.runner is not None:
            self.runner.wait_idle(timeout)

    def stop(self) -> None:
        """Stop everything that started, in reverse; safe to call twice."""
        if self.runner is not None:
            self.runner.stop()
            self.runner = None
        for server in (self._web, self._api, self._cdn):
            if server is not None:
                server.stop()
        self._api = self._cdn = self._web = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        self._release_ports()
        if self._saved_env is not None:
            restore_environment(self._saved_env)
            self._saved_env = None
            self._cold_start()

    def _cold_start(self) -> None:
        if not self.cold_start_hook:
            return
        try:
            hook = import_handler(self.cold_start_hook)
        except (ImportError, AttributeError):
            log.debug("no cold-start hook %s", self.cold_start_hook)
            return
        hook()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
