"""Which URLs an import (``POST /uploads/url``) may fetch, and what it keeps of them.

Only http(s), never with credentials in the URL, and never to an address that is not
on the public internet: an import must not become a way to read the instance metadata
service, a VPC neighbour or (locally) moto's unauthenticated S3. The addresses are
checked after the name is resolved and again at every redirect, by the fetcher
(``cloud/remote_source.py``), which connects to the address it checked. Pure.
"""

from __future__ import annotations

import ipaddress
import posixpath
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from lumiere.config import IpNetwork
from lumiere.errors import InvalidRequestError

MAX_URL_CHARS = 2048
MAX_REDIRECTS = 5
DEFAULT_FILENAME = "download"

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class ImportUrl:
    scheme: str  # "http" | "https"
    host: str  # lower case, IDNA (punycode), no brackets around IPv6
    port: int
    path: str  # "/..." as given (still percent-encoded)
    query: str

    @property
    def target(self) -> str:
        """What the request line carries."""
        return self.path + (f"?{self.query}" if self.query else "")

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return urlunsplit((self.scheme, self.host_header, self.path, self.query, ""))

    @property
    def display(self) -> str:
        """What the catalogue keeps and shows: no query, whose tokens (a presigned URL's
        signature) are the owner's secret."""
        return urlunsplit((self.scheme, self.host_header, self.path, "", ""))


def parse_import_url(raw: object) -> ImportUrl:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidRequestError("url is required: the http(s) address of the file to import.")
    raw = raw.strip()
    if len(raw) > MAX_URL_CHARS:
        raise InvalidRequestError(f"url is {len(raw)} characters; the limit is {MAX_URL_CHARS}.")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in raw):
        raise InvalidRequestError("url contains spaces or control characters; percent-encode them.")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as e:
        raise InvalidRequestError(f"url is not a valid address ({e}).") from e
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidRequestError(
            f"url must start with http:// or https://, not {parts.scheme or 'nothing'}:."
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidRequestError(
            "url carries a user name or password; give a link that needs none, such as a "
            "presigned URL."
        )
    if not parts.hostname:
        raise InvalidRequestError("url has no host name.")
    try:
        # "example.com." is example.com; kept, its dot would fail the certificate check.
        host = parts.hostname.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError as e:
        raise InvalidRequestError(f"url's host name {parts.hostname!r} is not valid.") from e
    if port == 0:
        raise InvalidRequestError("url's port must be between 1 and 65535.")
    return ImportUrl(
        scheme=scheme,
        host=host,
        port=port or (443 if scheme == "https" else 80),
        path=parts.path or "/",
        query=parts.query,
    )


def literal_address(host: str) -> IpAddress | None:
    """The address a host names by itself, including the IPv4 forms the resolver also
    reads ("127.1", "2130706433", "0x7f.1", "0177.0.0.1"), so the API can refuse those
    at once instead of after queueing."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if any(ch.isdigit() for ch in host) and all(ch in "0123456789abcdefx." for ch in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


# IPv6 ranges whose last 32 bits are an IPv4 address that translators or old stacks
# reach: IPv4-compatible (::/96), SIIT (::ffff:0:0/96), NAT64 well-known and local-use.
_IPV4_CARRIERS = tuple(
    ipaddress.ip_network(n) for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48")
)
# Deprecated site-local space (RFC 3879), which some Pythons call global.
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")


def is_public_address(address: IpAddress, allowed: Sequence[IpNetwork] = ()) -> bool:
    """On the public internet (IANA's special-purpose registries: not loopback,
    private, link-local, shared, reserved or documentation space), or in ``allowed``
    (the local stack's test servers). An IPv4 address inside IPv6 (``::ffff:10.0.0.1``,
    NAT64, 6to4) is judged as the IPv4 address it reaches."""
    if any(address in network for network in allowed):
        return True
    if isinstance(address, ipaddress.IPv6Address):
        if address in _SITE_LOCAL:
            return False
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is None and any(address in n for n in _IPV4_CARRIERS):
            if int(address) <= 1:  # :: and ::1 are themselves, not 0.0.0.0 and 0.0.0.1
                return False
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded, allowed)
    return address.is_global and not address.is_multicast


def redirect_target(current: ImportUrl, location: str) -> ImportUrl:
    """A redirect's Location, resolved against the URL that answered, checked again."""
    if not location:
        raise InvalidRequestError("a redirect named no Location")
    try:
        joined = urljoin(current.url, location)
    except ValueError as e:
        raise InvalidRequestError(f"the redirect is not a valid address ({e}).") from e
    return parse_import_url(joined)


def shown(location: str) -> str:
    """A URL as a message may quote it: scheme, host and path, never a user name,
    password or query (where presigned URLs keep their signatures)."""
    try:
        parts = urlsplit(location)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an address that is not valid"
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))[:200] or "nowhere"


def filename_from_url(url: ImportUrl) -> str:
    """The last path segment, decoded ("My%20clip.mp4" -> "My clip.mp4"); the upload's
    key cleans it further. No segment (a bare host, a path ending in /): "download"."""
    name = posixpath.basename(unquote(url.path))
    return name if name.strip(" .") else DEFAULT_FILENAME
