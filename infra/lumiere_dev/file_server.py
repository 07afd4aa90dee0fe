"""A local static file server that honours single byte ranges, as S3 and CDNs do: ffmpeg
seeks with ranges (to reach an index at the end of an MP4), and Lumiere's commands accept
nothing but http(s) input. Used by the tests and the benchmarks."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lumiere_dev.background import SHUTDOWN_POLL


class RangeFileHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def send_head(self) -> Any:
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if not match or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        start = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        if start >= size:
            self.send_error(416)
            return None
        fh = path.open("rb")
        fh.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        # copyfile reads to EOF; ffmpeg asks for open-ended ranges, so that is the range.
        return fh if end == size - 1 else _Limited(fh, end - start + 1)


class _Limited:
    """A file object that stops after ``left`` bytes (a closed range)."""

    def __init__(self, fh: Any, left: int) -> None:
        self._fh, self._left = fh, left

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        data = self._fh.read(n)
        self._left -= len(data)
        return bytes(data)

    def close(self) -> None:
        self._fh.close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # ffmpeg drops connections mid-body whenever it seeks: not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on a free loopback port; yields the base URL."""
    server = _QuietServer(("127.0.0.1", 0), partial(RangeFileHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, kwargs=SHUTDOWN_POLL, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
