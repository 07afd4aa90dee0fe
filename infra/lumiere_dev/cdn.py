"""MediaBucket over HTTP, standing in for CloudFront: what a player loads locally.

With trusted public keys (the template's key group) it serves only requests signed as
CloudFront requires (cloudfront_auth.py), answering 403 otherwise, as the distribution's
cache behaviours with TrustedKeyGroups do. With a public index it also plays the
/public/ behaviours and their viewer-request Function: ``/public/assets/{id}/...`` is
served unsigned as ``assets/{id}/...`` while the index lists the asset, 404 otherwise
(whatever signature it carries, as the public behaviours have no key group).
"""

from __future__ import annotations

import posixpath
from contextlib import closing
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa
from lumiere.cloud.public_assets import PublicAssetIndex
from lumiere.cloud.source_proxy import StreamingServer
from lumiere.pipeline.keys import PUBLIC_PATH_PREFIX, parse_public_path

from lumiere_dev.background import BackgroundServer
from lumiere_dev.cloudfront_auth import Denied, load_public_keys, verify

CHUNK = 64 * 1024
# What a CloudFront distribution for MediaBucket would expose: the published assets, not
# whatever else the bucket may hold.
SERVED_PREFIX = "assets/"


def object_key(raw_path: str, prefix: str = SERVED_PREFIX) -> str | None:
    """The S3 key a request path names, or None if it may not be served.

    Decoded before the check: ``/assets/%2e%2e/secret`` must not slip past as text that
    only becomes ``..`` after decoding.
    """
    path = unquote(urlsplit(raw_path).path)
    if "\x00" in path or "\\" in path:
        return None
    key = path.lstrip("/")
    if posixpath.normpath("/" + key) != "/" + key.rstrip("/") or ".." in key.split("/"):
        return None
    return key if key.startswith(prefix) and not key.endswith("/") else None


def request_cookies(header: str | None) -> dict[str, str]:
    """Cookie header -> {name: value}; the first of a repeated name wins (browsers send
    the most specific path first)."""
    cookies: dict[str, str] = {}
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name not in cookies:
            cookies[name] = value
    return cookies


def make_handler(
    s3: Any,
    bucket: str,
    prefix: str,
    public_keys: dict[str, rsa.RSAPublicKey] | None,
    public_index: PublicAssetIndex | None = None,
) -> type[BaseHTTPRequestHandler]:
    class MediaHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _cors(self) -> None:
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Headers", "Range")
            self.send_header("Access-Control-Expose-Headers", "Content-Length, Content-Range")

        def do_OPTIONS(self) -> None:
            self.send_response(204)
            self._cors()
            self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def do_GET(self) -> None:
            self._serve(body=True)

        def _error(self, status: int, message: str) -> None:
            payload = f"{message}\n".encode()
            self.send_response(status)
            self._cors()
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _signed(self) -> bool:
            if public_keys is None:
                return True
            parts = urlsplit(self.path)
            try:
                verify(
                    scheme_host=f"http://{self.headers.get('Host', '')}",
                    path=parts.path,
                    query=parts.query,
                    cookies=request_cookies(self.headers.get("Cookie")),
                    client_ip=self.client_address[0],
                    public_keys=public_keys,
                )
            except Denied as e:
                self._error(403, f"Forbidden: {e}")
                return False
            return True

        def _public_key(self) -> str | None:
            """The object a /public/ request may read: only while the asset is public
            (asked on every request, as the edge Function asks the store)."""
            # Not decoded, as the Function sees the URI: its rule admits no escapes.
            found = parse_public_path(urlsplit(self.path).path)
            if found is None or public_index is None:
                return None
            asset_id, key = found
            return key if public_index.is_public(asset_id) else None

        def _serve(self, body: bool) -> None:
            if public_index is not None and urlsplit(self.path).path.startswith(
                f"/{PUBLIC_PATH_PREFIX}"
            ):
                key = self._public_key()
            elif not self._signed():
                return
            else:
                key = object_key(self.path, prefix)
            if key is None:
                self._error(404, "Not Found")
                return
            params: dict[str, Any] = {"Bucket": bucket, "Key": key}
            if self.headers.get("Range"):
                params["Range"] = self.headers["Range"]
            try:
                obj = s3.get_object(**params) if body else s3.head_object(Bucket=bucket, Key=key)
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code")
                if code in ("NoSuchKey", "404", "NotFound"):
                    self._error(404, "Not Found")
                elif code == "InvalidRange":
                    self._error(416, "Range Not Satisfiable")
                else:  # as CloudFront answers when its origin fails
                    self._error(502, f"Bad Gateway: {code}")
                return
            partial = body and "ContentRange" in obj
            self.send_response(206 if partial else 200)
            self._cors()
            self.send_header("Content-Type", obj.get("ContentType", "application/octet-stream"))
            if obj.get("CacheControl"):
                self.send_header("Cache-Control", obj["CacheControl"])
            if partial:
                self.send_header("Content-Range", obj["ContentRange"])
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(obj["ContentLength"]))
            if obj.get("ETag"):
                self.send_header("ETag", obj["ETag"])
            self.end_headers()
            if body:
                # Streamed: segments and sources can be large, and players often hang up
                # half-way (the body is closed either way, returning the connection).
                with closing(obj["Body"]) as stream:
                    for chunk in stream.iter_chunks(CHUNK):
                        self.wfile.write(chunk)

    return MediaHandler


class MediaServer(BackgroundServer):
    """Serves ``bucket`` under ``prefix`` on host:port (0: any free port); with
    ``public_keys`` ({key id: PEM}), only to signed requests; with ``public_index``, the
    public path of the assets it lists to anyone."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        host: str,
        port: int,
        *,
        prefix: str = SERVED_PREFIX,
        public_keys: dict[str, str] | None = None,
        public_index: PublicAssetIndex | None = None,
    ) -> None:
        keys = load_public_keys(public_keys) if public_keys is not None else None
        handler = make_handler(s3, bucket, prefix, keys, public_index)
        server = StreamingServer((host, port), handler)
        super().__init__(server, "media-cdn")
