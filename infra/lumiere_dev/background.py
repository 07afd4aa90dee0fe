"""An HTTP server of the local stack answering on a daemon thread until stopped."""

from __future__ import annotations

import threading
from socketserver import BaseServer
from typing import Any

# serve_forever's poll interval: shutdown() waits for the loop's next poll, and the
# default 0.5 s, paid by each of a local stack's servers, made stopping a stack take
# about a second longer, for every stack the tests start.
SHUTDOWN_POLL: dict[str, Any] = {"poll_interval": 0.05}


class BackgroundServer:
    def __init__(self, server: BaseServer, name: str) -> None:
        self.server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs=SHUTDOWN_POLL, name=name, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]  # type: ignore[misc]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join(timeout=10)
        self.server.server_close()
