"""Open an import's source on its web server, refusing to go anywhere private.

The name is resolved here, every address it resolves to is checked
(``import_urls.is_public_address``), and the connection goes to the checked address
(with the name kept for the Host header, SNI and the certificate check), so a name that
resolves differently the second time (DNS rebinding) cannot slip past the check.
Redirects are followed by hand, each one checked the same way.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import urllib3
from botocore.httpsession import get_cert_path
from urllib3.exceptions import HTTPError

from lumiere.config import IpNetwork
from lumiere.errors import InvalidRequestError, PermanentError, ReasonCode, RemoteSourceError
from lumiere.pipeline.import_urls import (
    MAX_REDIRECTS,
    ImportUrl,
    IpAddress,
    is_public_address,
    literal_address,
    redirect_target,
)

CONNECT_SECONDS = 10.0
READ_SECONDS = 60.0  # between two reads of the body, not for the whole file
USER_AGENT = "Lumiere-Import/1.0"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Worth retrying: the server is busy or briefly down.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})

Resolver = Callable[[str, int], list[IpAddress]]


@dataclass
class RemoteFile:
    url: ImportUrl  # where the bytes come from, after redirects
    content_type: str | None
    content_length: int | None
    body: Any  # urllib3.HTTPResponse

    def read(self, size: int = -1) -> bytes:
        try:
            return bytes(self.body.read(None if size < 0 else size))
        except HTTPError as e:  # a reset, a stall past READ_SECONDS, a short body
            raise RemoteSourceError(
                f"The download from {self.url.host} broke off ({_reason(e)})."
            ) from e


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


def _pool(url: ImportUrl, address: IpAddress) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(connect=CONNECT_SECONDS, read=READ_SECONDS)
    if url.scheme == "https":
        return urllib3.HTTPSConnectionPool(
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
    return urllib3.HTTPConnectionPool(
        str(address), url.port, timeout=timeout, retries=False, maxsize=1
    )


@contextmanager
def open_remote(
    url: ImportUrl, allowed: Sequence[IpNetwork] = (), *, resolver: Resolver = resolve
) -> Iterator[RemoteFile]:
    """GET ``url`` and hand over the body unread. Permanent refusals (a 404, a private
    address, a redirect loop) raise ``PermanentError``; what may pass (a 503, a reset,
    a timeout) raises ``RemoteSourceError``."""
    for _ in range(MAX_REDIRECTS + 1):
        pool = _pool(url, checked_address(url, allowed, resolver))
        try:
            response = pool.urlopen(
                "GET",
                url.target,
                headers={
                    "Host": url.host_header,
                    "User-Agent": USER_AGENT,
                    # The file as stored: a gzip'd body's Content-Length is not the size.
                    "Accept-Encoding": "identity",
                },
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except HTTPError as e:
            pool.close()
            raise RemoteSourceError(f"{url.host} could not be reached ({_reason(e)}).") from e
        if response.status in REDIRECTS:
            location = response.headers.get("Location", "")
            response.drain_conn()
            pool.close()
            if not location:
                raise PermanentError(
                    f"{url.host} answered {response.status} without saying where to go.",
                    reason=ReasonCode.FETCH_FAILED,
                )
            try:
                url = redirect_target(url, location)
            except InvalidRequestError as e:
                raise PermanentError(
                    f"{url.host} redirected to {location[:200]!r}, which an import cannot "
                    f"follow: {e.message}",
                    reason=ReasonCode.FETCH_REFUSED,
                ) from e
            continue
        try:
            if response.status != 200:
                raise _refusal(url, response.status, response.reason)
            length = response.headers.get("Content-Length")
            yield RemoteFile(
                url=url,
                content_type=response.headers.get("Content-Type"),
                content_length=int(length) if length and length.isdigit() else None,
                body=response,
            )
            return
        finally:
            response.release_conn()
            pool.close()
    raise PermanentError(
        f"The URL redirected more than {MAX_REDIRECTS} times; give the file's final address.",
        reason=ReasonCode.FETCH_FAILED,
    )


def _refusal(url: ImportUrl, status: int, reason: str | None) -> Exception:
    said = f"{url.host} answered {status}{f' {reason}' if reason else ''}"
    if status in RETRYABLE:
        return RemoteSourceError(f"{said}; the server was busy or failing.")
    return PermanentError(
        f"{said} for this URL; check that the link is right and needs no sign-in.",
        reason=ReasonCode.FETCH_FAILED,
    )


def _reason(error: HTTPError) -> str:
    inner = getattr(error, "reason", None)
    return str(inner or error)
