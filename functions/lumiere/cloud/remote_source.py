"""Open an import's source on its web server, refusing to go anywhere private.

The name is resolved here, every address it resolves to is checked
(``import_urls.is_public_address``), and the connection goes to the checked address
(with the name kept for the Host header, SNI and the certificate check), so a name that
resolves differently the second time (DNS rebinding) cannot slip past the check.
Redirects are followed by hand, each one checked the same way.

A deadline covers the whole fetch, every redirect, the headers and the body: when it
passes, the connection's socket is shut down from a timer, so a server that drips a byte
a minute cannot hold the function until Lambda stops it (which would record nothing).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import urllib3
from botocore.httpsession import get_cert_path
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)

from lumiere.config import IpNetwork
from lumiere.errors import InvalidRequestError, PermanentError, ReasonCode, RemoteSourceError
from lumiere.pipeline.import_urls import (
    MAX_REDIRECTS,
    ImportUrl,
    IpAddress,
    is_public_address,
    literal_address,
    redirect_target,
    shown,
)

CONNECT_SECONDS = 10.0
READ_SECONDS = 60.0  # between two reads of the body, not for the whole file
USER_AGENT = "Lumiere-Import/1.0"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Worth retrying: the server is busy or briefly down.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})

Resolver = Callable[[str, int], list[IpAddress]]


@dataclass
class Deadline:
    """Shuts down every socket registered with it once ``seconds`` have passed."""

    seconds: float
    expired: bool = False
    sockets: list[Any] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.ends_at = time.monotonic() + self.seconds
        self._timer = threading.Timer(max(self.seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        return self.ends_at - time.monotonic()

    def watch(self, sock: Any) -> None:
        with self._lock:
            self.sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self.sockets)
        for sock in sockets:
            _shut(sock)

    def failure(self, host: str, received: int) -> PermanentError:
        return PermanentError(
            f"The download from {host} did not finish within the {self.seconds:,.0f} s an "
            f"import may take ({received / 1e6:,.1f} MB had arrived); the server is too slow. "
            "Upload the file directly instead.",
            reason=ReasonCode.FETCH_FAILED,
        )


def _shut(sock: Any) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


@dataclass
class RemoteFile:
    url: ImportUrl  # where the bytes come from, after redirects
    content_type: str | None
    content_length: int | None
    body: Any  # urllib3.HTTPResponse
    deadline: Deadline
    received: int = 0

    def read(self, size: int = -1) -> bytes:
        try:
            data = bytes(self.body.read(None if size < 0 else size))
        except HTTPError as e:  # a reset, a stall past READ_SECONDS, a short body
            if self.deadline.expired:
                raise self.deadline.failure(self.url.host, self.received) from e
            raise RemoteSourceError(
                f"The download from {self.url.host} broke off ({_said(e)})."
            ) from e
        if self.deadline.expired:  # the socket shut under a read that then ended early
            raise self.deadline.failure(self.url.host, self.received)
        self.received += len(data)
        return data


def resolve(host: str, port: int) -> list[IpAddress]:
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        if e.errno == socket.EAI_NONAME:
            raise PermanentError(
                f"The host name {host} does not exist; check the URL.",
                reason=ReasonCode.FETCH_FAILED,
            ) from e
        raise RemoteSourceError(f"The host name {host} could not be looked up ({e}).") from e
    addresses: list[IpAddress] = []
    for info in infos:
        address = literal_address(str(info[4][0]).split("%", 1)[0])
        if address is not None and address not in addresses:
            addresses.append(address)
    return addresses


def checked_address(
    url: ImportUrl, allowed: Sequence[IpNetwork], resolver: Resolver = resolve
) -> IpAddress:
    """The address to connect to; refused when any address of the name is private (a
    name that also points inside is not one to trust with either)."""
    addresses = resolver(url.host, url.port)
    if not addresses:
        raise RemoteSourceError(f"The host name {url.host} has no address.")
    for address in addresses:
        if not is_public_address(address, allowed):
            raise PermanentError(
                f"{url.host} is at {address}, which is not on the public internet; an "
                "import can only fetch from public web servers.",
                reason=ReasonCode.FETCH_REFUSED,
            )
    return addresses[0]


def _watched(base: type[HTTPConnection], deadline: Deadline) -> type[HTTPConnection]:
    """``base`` whose socket the deadline can shut, from before the TLS handshake on."""

    class Watched(base):  # type: ignore[valid-type, misc]
        def _new_conn(self) -> Any:
            sock = super()._new_conn()
            deadline.watch(sock)
            return sock

    return Watched


def _pool(url: ImportUrl, address: IpAddress, deadline: Deadline) -> urllib3.HTTPConnectionPool:
    left = max(deadline.left(), 0.001)
    timeout = urllib3.Timeout(connect=min(CONNECT_SECONDS, left), read=min(READ_SECONDS, left))
    pool: urllib3.HTTPConnectionPool
    if url.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            str(address),
            url.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=get_cert_path(True),
            server_hostname=url.host,
            assert_hostname=url.host,
        )
        pool.ConnectionCls = _watched(HTTPSConnection, deadline)
    else:
        pool = urllib3.HTTPConnectionPool(
            str(address), url.port, timeout=timeout, retries=False, maxsize=1
        )
        pool.ConnectionCls = _watched(HTTPConnection, deadline)
    return pool


@contextmanager
def open_remote(
    url: ImportUrl,
    allowed: Sequence[IpNetwork] = (),
    *,
    seconds: float = 840.0,
    resolver: Resolver = resolve,
) -> Iterator[RemoteFile]:
    """GET ``url`` and hand over the body unread, all of it within ``seconds``.
    Permanent refusals (a 404, a private address, a redirect loop, the deadline) raise
    ``PermanentError``; what may pass (a 503, a reset, a timeout) ``RemoteSourceError``."""
    deadline = Deadline(seconds)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            pool = _pool(url, checked_address(url, allowed, resolver), deadline)
            try:
                response = pool.urlopen(
                    "GET",
                    url.target,
                    headers={
                        "Host": url.host_header,
                        "User-Agent": USER_AGENT,
                        "Accept-Encoding": "identity",
                    },
                    redirect=False,
                    retries=False,
                    preload_content=False,
                    # The file as the server stores it, even if it compresses anyway:
                    # what is counted, limited and kept are the bytes that were sent.
                    decode_content=False,
                    assert_same_host=False,
                )
            except HTTPError as e:
                pool.close()
                if deadline.expired:
                    raise deadline.failure(url.host, 0) from e
                raise RemoteSourceError(f"{url.host} could not be reached ({_said(e)}).") from e
            if response.status in REDIRECTS:
                location = response.headers.get("Location", "")
                response.close()  # its body is of no use: not read
                pool.close()
                url = _follow(url, response.status, location)
                continue
            try:
                if response.status != 200:
                    raise _refusal(url, response.status, response.reason)
                length = response.headers.get("Content-Length", "")
                yield RemoteFile(
                    url=url,
                    content_type=response.headers.get("Content-Type"),
                    content_length=int(length) if length.isascii() and length.isdigit() else None,
                    body=response,
                    deadline=deadline,
                )
                return
            finally:
                response.release_conn()
                pool.close()
        raise PermanentError(
            f"The URL redirected more than {MAX_REDIRECTS} times; give the file's final address.",
            reason=ReasonCode.FETCH_FAILED,
        )
    finally:
        deadline.cancel()


def _follow(url: ImportUrl, status: int, location: str) -> ImportUrl:
    if not location:
        raise PermanentError(
            f"{url.host} answered {status} without saying where to go.",
            reason=ReasonCode.FETCH_FAILED,
        )
    try:
        return redirect_target(url, location)
    except InvalidRequestError as e:
        raise PermanentError(
            f"{url.host} redirected to {shown(location)}, which an import cannot follow: "
            f"{e.message}",
            reason=ReasonCode.FETCH_REFUSED,
        ) from e


def _refusal(url: ImportUrl, status: int, reason: str | None) -> Exception:
    said = f"{url.host} answered {status}{f' {reason}' if reason else ''}"
    if status in RETRYABLE:
        return RemoteSourceError(f"{said}; the server was busy or failing.")
    return PermanentError(
        f"{said} for this URL; check that the link is right and needs no sign-in.",
        reason=ReasonCode.FETCH_FAILED,
    )


def _said(error: HTTPError) -> str:
    """What went wrong, in a person's words rather than urllib3's."""
    if isinstance(error, ConnectTimeoutError):
        return f"no answer within {CONNECT_SECONDS:.0f} s"
    if isinstance(error, NewConnectionError):
        return "the connection was refused"
    if isinstance(error, SSLError):
        return "its TLS certificate could not be verified"
    if isinstance(error, ReadTimeoutError):
        return f"it sent nothing for {READ_SECONDS:.0f} s"
    return "the connection broke off"
