"""The ApiFunction's Chalice app over HTTP, served by Chalice's own local server (the one
`chalice local` uses), so routing, CORS and error responses are Chalice's."""

from __future__ import annotations

import threading

from chalice import Chalice
from chalice.config import Config
from chalice.local import LocalChalice, LocalDevServer, create_local_server

from lumiere_dev.runner import import_handler


class ApiServer:
    def __init__(self, handler: str, host: str, port: int, *, timeout: int, memory: int) -> None:
        app = import_handler(handler)
        if not isinstance(app, Chalice):
            raise TypeError(f"{handler} is not a Chalice app")
        config = Config.create(
            app_name=app.app_name, lambda_timeout=timeout, lambda_memory_size=memory
        )
        if isinstance(app, LocalChalice):
            # create_local_server swaps the app's class for a thread-safe local one, and
            # cannot do it twice: a second stack in the same process reuses the swap.
            self._server = LocalDevServer(app, config, host, port)
        else:
            self._server = create_local_server(app, config, host, port)
        self._thread = threading.Thread(target=self._server.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server.server_close()
