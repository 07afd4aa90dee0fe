import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from lumiere.pipeline.webhooks import ATTEMPTS, deliver_webhook, sign, verify

BODY = b'{"type":"Asset Ready","data":{"asset_id":"a"}}'


def test_signature_verifies_with_the_right_secret_and_time() -> None:
    header = sign("s3cret", 1_700_000_000, BODY)
    assert header.startswith("t=1700000000,v1=")
    assert verify("s3cret", header, BODY, now=1_700_000_100)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("wrong", BODY, 1_700_000_000),  # another key
        ("s3cret", BODY.replace(b"a", b"b"), 1_700_000_000),  # tampered body
        ("s3cret", BODY, 1_700_000_301),  # replayed after the tolerance
    ],
)
def test_signature_refuses_tampering_and_replays(secret: str, body: bytes, now: int) -> None:
    assert not verify(secret, sign("s3cret", 1_700_000_000, BODY), body, now=now)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=x,v1=abc", "garbage"])
def test_malformed_headers_do_not_verify(header: str) -> None:
    assert not verify("s3cret", header, BODY, now=1_700_000_000)


class _Hanging(BaseHTTPRequestHandler):
    """A receiver that takes the request and never answers in time."""

    def do_POST(self) -> None:
        self.server.hits += 1  # type: ignore[attr-defined]
        time.sleep(3)

    def log_message(self, *args: object) -> None:
        pass


class _Busy(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.server.hits += 1  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.hits = 0  # type: ignore[attr-defined]
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_budget_bounds_the_attempts_against_a_hanging_receiver() -> None:
    server = _serve(_Hanging)
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        started = time.monotonic()
        assert deliver_webhook(url, "s", {"type": "x"}, budget_seconds=1.0) is False
        assert time.monotonic() - started < 2.0  # not 3 x 13 s
        assert server.hits >= 1  # type: ignore[attr-defined]
    finally:
        server.shutdown()


def test_without_a_budget_a_busy_receiver_gets_every_attempt() -> None:
    server = _serve(_Busy)
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        assert deliver_webhook(url, "s", {"type": "x"}) is False
        assert server.hits == ATTEMPTS  # type: ignore[attr-defined]
    finally:
        server.shutdown()
