"""Serve one presigned S3 URL on 127.0.0.1, for ffmpeg.

The static ffmpeg/ffprobe build cannot resolve host names: glibc linked statically
loses NSS, and a lookup (even of ``localhost``) segfaults. So ffmpeg is never given a
name: it reads ``http://127.0.0.1:PORT/source`` and this proxy, in Python, resolves
S3's name, verifies its TLS certificate (ffmpeg's TLS does not by default) and streams
the bytes through, passing Range requests on so ffmpeg can seek without the file being
downloaded. It serves that single object and nothing else.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import urllib3
from botocore.httpsession import get_cert_path

_PASS_HEADERS = ("Content-Length", "Content-Range", "Content-Type", "Accept-Ranges", "ETag")
CHUNK = 256 * 1024


def _handler(upstream: str, path: str, http: urllib3.PoolManager) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_HEAD(self) -> None:
            self._relay("HEAD")

        def do_GET(self) -> None:
            self._relay("GET")

        def _relay(self, method: str) -> None:
            if self.path != path:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            headers = {"Range": self.headers["Range"]} if self.headers.get("Range") else {}
            # Presigned URLs are signed for GET only; a HEAD is a GET whose body is not read.
            upstream_response = http.request(
                "GET", upstream, headers=headers, preload_content=False, redirect=False
            )
            try:
                self.send_response(upstream_response.status)
                for name in _PASS_HEADERS:
                    if name in upstream_response.headers:
                        self.send_header(name, upstream_response.headers[name])
                self.end_headers()
                if method == "GET":
                    shutil.copyfileobj(upstream_response, self.wfile, CHUNK)
            finally:
                # Not released to the pool: after a seek or a HEAD the body is unread.
                upstream_response.close()

    return Handler


class StreamingServer(ThreadingHTTPServer):
    """A threaded server for media readers: ffmpeg and players close connections
    mid-body whenever they seek or switch renditions, which is not an error."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class SourceProxy:
    """``with SourceProxy(presigned_url) as local_url: run ffmpeg on local_url``."""

    def __init__(self, upstream_url: str, *, suffix: str = "") -> None:
        self.upstream_url = upstream_url
        # An unguessable path: another process on the host cannot read through it.
        self.path = f"/{secrets.token_urlsafe(16)}{suffix}"
        self._http = urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED",
            ca_certs=get_cert_path(True),
            timeout=urllib3.Timeout(connect=5.0, read=60.0),
            retries=urllib3.Retry(total=3, backoff_factor=0.2, redirect=0),
        )
        self._server = StreamingServer(
            ("127.0.0.1", 0), _handler(upstream_url, self.path, self._http)
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}{self.path}"

    def __enter__(self) -> str:
        self._thread.start()
        return self.url

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.clear()
