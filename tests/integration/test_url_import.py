"""Imports from a URL through the local stack: ``POST /uploads/url``, then ImportFunction
fetching from a real HTTP server on loopback (the one network this stack allows) into the
upload key, whose S3 event ingest takes from there. Refusals, server failures, limits
and duplicates end as the README says, with nothing left behind."""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from lumiere.cloud.remote_source import open_remote
from lumiere.config import parse_networks
from lumiere.errors import PermanentError, ReasonCode
from lumiere.pipeline.import_urls import IpAddress, parse_import_url
from lumiere_dev.client import ApiError, LumiereClient
from lumiere_dev.stack import LocalStack

from tests.conftest import REPO, Media
from tests.integration.helpers import deliver, drain, receive, transcode_all

MIB = 1024 * 1024
MAX_BYTES = 64 * MIB


@dataclass
class Origin:
    """A web server with the files and the misbehaviours an import meets."""

    files: dict[str, bytes]
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    url: str = ""
    finished: list[str] = field(default_factory=list)  # slow bodies sent whole
    cut_off: list[str] = field(default_factory=list)  # slow bodies the client hung up on

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)


def _handler(origin: Origin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            origin.requests.append((path, dict(self.headers)))
            if path in origin.files:
                body = origin.files[path]
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif path.startswith("/unsized/") and path[8:] in origin.files:
                # No Content-Length: the body ends when the connection closes.
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(origin.files[path[8:]])
                self.close_connection = True
            elif path.startswith("/slow/") and path[5:] in origin.files:
                # A slow server: a MiB every 80 ms, so the import's progress can be seen.
                body = origin.files[path[5:]]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for start in range(0, len(body), MIB):
                        self.wfile.write(body[start : start + MIB])
                        time.sleep(0.08)
                    origin.finished.append(path)
                except OSError:
                    origin.cut_off.append(path)  # the importer hung up
            elif path == "/drip":
                # A byte at a time, forever: only the fetch's deadline ends it.
                self.send_response(200)
                self.send_header("Content-Length", str(MIB))
                self.end_headers()
                with suppress(OSError):
                    for _ in range(MIB):
                        self.wfile.write(b"\0")
                        self.wfile.flush()
                        time.sleep(0.2)
            elif path == "/drip-headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                with suppress(OSError):
                    for n in range(10_000):
                        self.wfile.write(f"X-Slow-{n}: y\r\n".encode())
                        self.wfile.flush()
                        time.sleep(0.2)
                self.close_connection = True
            elif path == "/gzipped":
                body = gzip.compress(bytes(MIB), mtime=0)
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif path == "/odd-length":
                self.send_response(200)
                self.send_header("Content-Length", "\u00b2")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b"abc")
                self.close_connection = True
            elif path == "/to-secret":
                self._redirect("http://me:hunter2@169.254.169.254/x?X-Amz-Signature=abc")
            elif path == "/to-nonsense":
                self._redirect("http://[::1")
            elif path == "/moved":
                self._redirect(f"{origin.url}/clip.mp4")
            elif path == "/to-metadata":
                self._redirect("http://169.254.169.254/latest/meta-data/")
            elif path == "/loop":
                self._redirect("/loop")
            elif path == "/busy":
                self._status(503)
            elif path == "/huge":
                self.send_response(200)
                self.send_header("Content-Length", str(10**12))
                self.end_headers()
            elif path == "/endless":
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"\0" * MIB
                try:
                    for _ in range(4 * MAX_BYTES // MIB):
                        self.wfile.write(chunk)
                except OSError:
                    pass  # the importer hung up, as it should
                self.close_connection = True
            else:
                self._status(404)

        def _redirect(self, location: str) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _status(self, code: int) -> None:
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def padded_clip(media: Media, total: int) -> bytes:
    """The test clip followed by an ISO BMFF ``free`` box up to ``total`` bytes: a valid
    MP4 large enough to go up to S3 in parts."""
    clip = media.clip.read_bytes()
    return clip + struct.pack(">I4s", total - len(clip), b"free") + bytes(total - len(clip) - 8)


@pytest.fixture(scope="module")
def origin(media: Media) -> Iterator[Origin]:
    origin = Origin(
        files={"/clip.mp4": media.clip.read_bytes(), "/big.mp4": padded_clip(media, 40 * MIB)}
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(origin))
    origin.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield origin
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """No event-source mappings (the tests deliver each message), loopback's 127.0.0.1
    opened for the origin above, a 64 MiB limit the tests can exceed quickly, and
    progress written every half second."""
    with LocalStack(
        REPO / "template.yaml",
        run_functions=False,
        stack_name="imports",
        parameters={"AnalysisBackend": "off"},
        overrides={
            "IMPORT_ALLOWED_NETWORKS": "127.0.0.1/32",
            "MAX_UPLOAD_BYTES": str(MAX_BYTES),
            "PROGRESS_INTERVAL_SECONDS": "0.5",
        },
    ) as s:
        yield s


@pytest.fixture
def client(stack: LocalStack, origin: Origin) -> LumiereClient:
    for queue_id in ("ImportQueue", "IngestQueue", "TranscodeQueue"):
        drain(stack, queue_id)
    for seen in (origin.requests, origin.finished, origin.cut_off):
        seen.clear()
    return stack.api_client()


def run_import(stack: LocalStack) -> list[dict[str, Any]]:
    """Deliver the queued import task (BatchSize 1); the messages ImportFunction failed."""
    messages = receive(stack, "ImportQueue")
    assert len(messages) == 1
    return list(deliver(stack, "ImportFunction", messages)["batchItemFailures"])


def uploads(stack: LocalStack, asset_id: str) -> dict[str, Any]:
    s3, bucket = stack.client("s3"), stack.spec.buckets["UploadsBucket"].name
    prefix = f"uploads/{asset_id}/"
    return {
        "objects": s3.list_object_versions(Bucket=bucket, Prefix=prefix).get("Versions", []),
        "multipart": s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", []),
    }


def test_an_imported_file_is_processed_like_an_upload(
    stack: LocalStack, client: LumiereClient, origin: Origin, media: Media
) -> None:
    answer = client.import_url(f"{origin.url}/clip.mp4?token=s3cret", title="From the web")
    asset_id = answer["asset_id"]
    assert answer["source_url"] == f"{origin.url}/clip.mp4"  # the token is not echoed
    asset = client.get_asset(asset_id)
    assert (asset["status"], asset["filename"], asset["title"]) == (
        "CREATED",
        "clip.mp4",
        "From the web",
    )
    assert asset["source_url"] == f"{origin.url}/clip.mp4"
    assert origin.requests == []  # the API only queues; ImportFunction fetches

    assert run_import(stack) == []
    (path, headers), *_ = origin.requests
    assert path == "/clip.mp4"
    assert headers["User-Agent"].startswith("Lumiere-Import/")
    s3 = stack.client("s3")
    stored = s3.get_object(
        Bucket=stack.spec.buckets["UploadsBucket"].name, Key=f"uploads/{asset_id}/clip.mp4"
    )
    assert stored["Body"].read() == media.clip.read_bytes()
    assert stored["ContentType"] == "video/mp4"

    # From here it is an upload: its S3 event reaches ingest, then the parts run.
    assert deliver(stack, "IngestFunction", receive(stack, "IngestQueue")) == {
        "batchItemFailures": []
    }
    transcode_all(stack)
    asset = client.get_asset(asset_id)
    assert asset["status"] == "READY", asset.get("error")
    assert asset["outputs"]["hls"]["renditions"]
    assert asset["source_url"] == f"{origin.url}/clip.mp4"


def test_a_large_file_of_unknown_size_goes_up_in_parts_after_a_redirect(
    stack: LocalStack, client: LumiereClient, origin: Origin
) -> None:
    asset_id = client.import_url(f"{origin.url}/unsized/big.mp4", filename="big.mp4")["asset_id"]
    assert run_import(stack) == []
    head = stack.client("s3").head_object(
        Bucket=stack.spec.buckets["UploadsBucket"].name, Key=f"uploads/{asset_id}/big.mp4"
    )
    expected = origin.files["/big.mp4"]
    assert head["ContentLength"] == len(expected)
    assert head["ETag"].strip('"').endswith("-3")  # three 16 MiB parts
    body = (
        stack.client("s3")
        .get_object(
            Bucket=stack.spec.buckets["UploadsBucket"].name, Key=f"uploads/{asset_id}/big.mp4"
        )["Body"]
        .read()
    )
    assert hashlib.sha256(body).digest() == hashlib.sha256(expected).digest()

    moved = client.import_url(f"{origin.url}/moved")["asset_id"]
    assert run_import(stack) == []
    assert [p for p, _ in origin.requests][-2:] == ["/moved", "/clip.mp4"]
    assert uploads(stack, moved)["objects"][0]["Key"] == f"uploads/{moved}/moved"


def test_an_import_shows_its_bytes_as_they_arrive(
    stack: LocalStack, client: LumiereClient, origin: Origin
) -> None:
    size = len(origin.files["/big.mp4"])
    asset_id = client.import_url(f"{origin.url}/slow/big.mp4")["asset_id"]
    messages = receive(stack, "ImportQueue")
    worker = threading.Thread(target=deliver, args=(stack, "ImportFunction", messages))
    worker.start()
    seen: list[dict[str, int]] = []
    while worker.is_alive():
        asset = client.get_asset(asset_id)
        if asset["status"] == "CREATED" and asset.get("import_progress"):
            seen.append(asset["import_progress"])
        time.sleep(0.2)
    worker.join()
    partial = [p for p in seen if p["received"] < size]
    assert partial, seen  # seen on the way, not only at the end
    assert {p["total"] for p in seen} == {size}  # the server's Content-Length
    assert [p["received"] for p in seen] == sorted(p["received"] for p in seen)
    assert client.get_asset(asset_id)["import_progress"] == {"received": size, "total": size}
    listed = {a["asset_id"]: a for a in client.list_assets(limit=100)["items"]}
    assert listed[asset_id]["import_progress"]["received"] == size


def test_deleting_an_asset_stops_its_import_in_flight(
    stack: LocalStack, client: LumiereClient, origin: Origin
) -> None:
    asset_id = client.import_url(f"{origin.url}/slow/big.mp4")["asset_id"]
    messages = receive(stack, "ImportQueue")
    outcome: list[dict[str, Any]] = []
    worker = threading.Thread(
        target=lambda: outcome.append(deliver(stack, "ImportFunction", messages))
    )
    worker.start()
    while not client.get_asset(asset_id).get("import_progress"):
        time.sleep(0.1)
    assert client.delete_asset(asset_id) == 204
    worker.join(timeout=30)
    assert outcome == [{"batchItemFailures": []}]  # stopped, not failed, not retried
    time.sleep(0.5)  # the server notices the closed connection at its next write
    assert "/slow/big.mp4" in origin.cut_off
    assert "/slow/big.mp4" not in origin.finished
    assert uploads(stack, asset_id) == {"objects": [], "multipart": []}
    assert receive(stack, "IngestQueue", wait=0) == []


@pytest.mark.parametrize(
    ("path", "reason", "words"),
    [
        ("/missing.mp4", "fetch_failed", "answered 404"),
        ("/to-metadata", "fetch_refused", "169.254.169.254"),
        ("/loop", "fetch_failed", "more than 5 times"),
        ("/huge", "too_large", "says the file is 1,000,000,000,000 bytes"),
        ("/to-nonsense", "fetch_refused", "an address that is not valid"),
        ("/to-secret", "fetch_refused", "redirected to http://169.254.169.254/x, which"),
        ("/endless", "too_large", "sent more than 67,108,864 bytes"),
    ],
)
def test_a_source_that_cannot_be_had_fails_the_asset_and_leaves_nothing(
    stack: LocalStack, client: LumiereClient, origin: Origin, path: str, reason: str, words: str
) -> None:
    asset_id = client.import_url(f"{origin.url}{path}")["asset_id"]
    assert run_import(stack) == []  # a permanent failure is recorded, not retried
    asset = client.get_asset(asset_id)
    assert asset["status"] == "FAILED"
    assert asset["error"]["reason"] == reason
    assert words in asset["error"]["message"]
    # what the owner reads never carries a password or a signature
    assert "hunter2" not in asset["error"]["message"]
    assert "Signature" not in asset["error"]["message"]
    assert uploads(stack, asset_id) == {"objects": [], "multipart": []}
    assert receive(stack, "IngestQueue", wait=0) == []


def test_a_failing_server_is_retried_then_the_asset_fails_with_its_words(
    stack: LocalStack, client: LumiereClient, origin: Origin
) -> None:
    asset_id = client.import_url(f"{origin.url}/busy")["asset_id"]
    queue_url = stack.spec.queues["ImportQueue"].url
    sqs = stack.client("sqs")
    for attempt in (1, 2, 3):
        messages = receive(stack, "ImportQueue")
        assert messages[0]["Attributes"]["ApproximateReceiveCount"] == str(attempt)
        failures = deliver(stack, "ImportFunction", messages)["batchItemFailures"]
        if attempt < 3:
            assert failures == [{"itemIdentifier": messages[0]["MessageId"]}]
            assert client.get_asset(asset_id)["status"] == "CREATED"
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            # The last attempt: the owner is told, and the message is done with.
            assert failures == []
    assert origin.count("/busy") == 3
    error = client.get_asset(asset_id)["error"]
    assert error["reason"] == "fetch_failed"
    assert "answered 503" in error["message"]


def test_a_duplicate_task_fetches_once_and_a_deleted_asset_not_at_all(
    stack: LocalStack, client: LumiereClient, origin: Origin
) -> None:
    asset_id = client.import_url(f"{origin.url}/clip.mp4")["asset_id"]
    message = receive(stack, "ImportQueue")
    assert deliver(stack, "ImportFunction", message) == {"batchItemFailures": []}
    assert deliver(stack, "ImportFunction", message) == {"batchItemFailures": []}
    assert origin.count("/clip.mp4") == 1
    assert len(uploads(stack, asset_id)["objects"]) == 1

    gone = client.import_url(f"{origin.url}/clip.mp4")["asset_id"]
    assert client.delete_asset(gone) == 204
    assert run_import(stack) == []
    assert origin.count("/clip.mp4") == 1  # nothing fetched for a deleted asset
    assert uploads(stack, gone) == {"objects": [], "multipart": []}


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({}, 400, "invalid_request"),
        ({"url": "ftp://example.com/a.mp4"}, 400, "invalid_request"),
        ({"url": "http://169.254.169.254/latest/meta-data/"}, 400, "fetch_refused"),
        ({"url": "http://[::1]:8600/"}, 400, "fetch_refused"),
        ({"url": "https://me:pw@example.com/a.mp4"}, 400, "invalid_request"),
        ({"url": "https://example.com/a.pdf", "content_type": "application/pdf"}, 400,
         "invalid_request"),
        ({"url": "https://example.com/a.mp4", "visibility": "secret"}, 400, "invalid_request"),
    ],
)  # fmt: skip
def test_the_api_refuses_what_cannot_be_imported_and_makes_no_asset(
    stack: LocalStack, client: LumiereClient, body: dict[str, Any], status: int, reason: str
) -> None:

    def listed() -> list[str]:  # ids only: the views' signed URLs change with the clock
        return [a["asset_id"] for a in client.list_assets(limit=100)["items"]]

    before = listed()
    r = client.api.post(f"{client.api_url}/uploads/url", json=body, timeout=10)
    with pytest.raises(ApiError) as e:
        client._json(r)
    assert e.value.status == status
    assert e.value.body["error"]["reason"] == reason
    assert listed() == before
    assert receive(stack, "ImportQueue", wait=0) == []


def test_an_import_is_its_owners_alone(stack: LocalStack, client: LumiereClient) -> None:
    asset_id = client.import_url("https://example.com/private/clip.mp4")["asset_id"]
    drain(stack, "ImportQueue")
    other = stack.api_client("someone-else")
    with pytest.raises(ApiError) as e:
        other.get_asset(asset_id)
    assert e.value.status == 404
    assert asset_id not in {a["asset_id"] for a in other.list_assets()["items"]}


def test_the_fetch_connects_to_the_address_it_checked(origin: Origin) -> None:
    """The name is resolved once, by the check; the connection goes to that address with
    the name in Host, so a second, different answer (DNS rebinding) is never asked for.
    The name here exists in no DNS: only the checked address can have been used."""
    port = origin.url.rsplit(":", 1)[1]
    url = parse_import_url(f"http://media.example.test:{port}/clip.mp4")
    asked: list[str] = []

    def resolver(host: str, _port: int) -> list[IpAddress]:
        asked.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    with open_remote(url, parse_networks("127.0.0.1/32"), resolver=resolver) as remote:
        assert remote.content_length == len(origin.files["/clip.mp4"])
        assert remote.read() == origin.files["/clip.mp4"]
    assert asked == ["media.example.test"]
    assert origin.requests[-1][1]["Host"] == f"media.example.test:{port}"
    # Without the allowance the same answer is refused before any connection is made.
    before = len(origin.requests)
    with pytest.raises(PermanentError) as e, open_remote(url, (), resolver=resolver):
        pass
    assert e.value.reason is ReasonCode.FETCH_REFUSED
    assert len(origin.requests) == before


@pytest.mark.parametrize("path", ["/drip", "/drip-headers"])
def test_a_deadline_ends_a_server_that_drips(origin: Origin, path: str) -> None:
    """A byte every 0.2 s keeps every read timeout happy; the fetch's own deadline
    shuts the connection instead, in the headers as in the body."""
    url = parse_import_url(f"{origin.url}{path}")
    started = time.monotonic()

    def fetch_all() -> None:
        with open_remote(url, parse_networks("127.0.0.1/32"), seconds=1.5) as remote:
            while remote.read(65536):
                pass

    with pytest.raises(PermanentError) as e:
        fetch_all()
    assert time.monotonic() - started < 4
    assert e.value.reason is ReasonCode.FETCH_FAILED
    assert "did not finish within the 2 s an import may take" in e.value.message


def test_an_import_that_outlives_its_time_fails_with_a_sentence(
    stack: LocalStack, client: LumiereClient, origin: Origin
) -> None:
    from lumiere.handlers import runtime
    from lumiere.pipeline.models import ImportTask
    from lumiere.pipeline.url_import import ImportOutcome, import_source

    url = f"{origin.url}/drip"
    asset_id = client.import_url(url)["asset_id"]
    drain(stack, "ImportQueue")
    task = ImportTask(asset_id=asset_id, url=url)
    outcome = import_source(task, runtime.catalogue(), runtime.settings(), seconds_left=1.0)
    assert outcome is ImportOutcome.FAILED
    error = client.get_asset(asset_id)["error"]
    assert error["reason"] == "fetch_failed"
    assert "the server is too slow" in error["message"]
    assert uploads(stack, asset_id) == {"objects": [], "multipart": []}


def test_bytes_are_kept_as_sent_and_odd_headers_do_not_break_the_fetch(origin: Origin) -> None:
    allowed = parse_networks("127.0.0.1/32")
    # A server that compresses although asked not to: the bytes it sent are the file
    # (counted, limited and stored as they came), not a decompression of them.
    with open_remote(parse_import_url(f"{origin.url}/gzipped"), allowed) as remote:
        body = remote.read()
    assert body == gzip.compress(bytes(MIB), mtime=0)
    assert remote.content_length == len(body)
    # A Content-Length of U+00B2 (a digit to str.isdigit, not to int): no length.
    with open_remote(parse_import_url(f"{origin.url}/odd-length"), allowed) as remote:
        assert remote.content_length is None
        assert remote.read() == b"abc"
