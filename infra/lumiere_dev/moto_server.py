"""moto's server, with DynamoDB writes as atomic as DynamoDB's.

moto applies an UpdateItem as Python code on shared objects, without a lock. Two
concurrent writes to one item can interleave:
- one of two first ``ADD``s to a string set can be lost (2 of 200 trials, four writers,
  on a busy 2-core machine);
- the request can fail with "dictionary changed size during iteration".

DynamoDB applies each write atomically, and the fan-in relies on it: every finished part
``ADD``s itself to ``parts_done``, and the one that completes the set publishes. A lost
member leaves an asset PROCESSING for ever (seen once in a full test run). So this server
handles DynamoDB requests one at a time. Everything else stays concurrent, SQS long polls
included.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from lumiere_dev.background import SHUTDOWN_POLL

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerialDynamoDB:
    """WSGI middleware: DynamoDB and DynamoDB Streams requests (``X-Amz-Target:
    DynamoDB_20120810.*`` / ``DynamoDBStreams_*``) run one at a time."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            return self._app(environ, start_response)
        with self._lock:
            # The body is built inside the lock: moto serialises the item while answering.
            return list(self._app(environ, start_response))


class LocalMotoServer:
    """moto's whole API on ``host:port``, served from a daemon thread. The port is bound
    in ``start``, in the caller's thread (werkzeug exits the process if it is taken:
    LocalStack checks it first)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        app = SerialDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs=SHUTDOWN_POLL, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
