"""A function's Chalice app over HTTP, served by Chalice's own local server (the one
`chalice local` uses), so routing, CORS and error responses are Chalice's."""

from __future__ import annotations

import threading

from chalice import Chalice
from chalice.config import Config
from chalice.deploy.validate import validate_routes
from chalice.local import LocalChalice, LocalDevServer, create_local_server

from lumiere_dev.lambda_runtime import import_handler


class ApiServer:
    """Serves the Chalice app named by ``handler`` (dotted path) on host:port (0: any)."""

    def __init__(
        self, handler: str, host: str, port: int, *, timeout: int = 30, memory: int = 128
    ) -> None:
        app = import_handler(handler)
        if not isinstance(app, Chalice):
            raise TypeError(f"{handler} is a {type(app).__name__}, not a Chalice app")
        validate_routes(app.routes)  # what `chalice local` and `chalice deploy` refuse
        config = Config.create(
            app_name=app.app_name, lambda_timeout=timeout, lambda_memory_size=memory
        )
        if isinstance(app, LocalChalice):
            # create_local_server swaps the app's class for a local subclass, and fails if
            # asked again: the app of an earlier server in this process has been swapped.
            self._server = LocalDevServer(app, config, host, port)
        else:
            self._server = create_local_server(app, config, host, port)
        self._thread = threading.Thread(
            target=self._server.server.serve_forever, name=f"api-{handler}", daemon=True
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
