"""A client of Lumiere's HTTP API, used by the CLI, the demo and the end-to-end tests.

It uploads exactly as a browser would: POST /uploads for a ticket, then the presigned
POST form straight to S3. The API never sees the bytes.
"""

from __future__ import annotations

import mimetypes
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from lumiere.api.image_links import sign_path

FINAL_STATUSES = frozenset({"READY", "FAILED", "DELETED"})


# What a browser that reads every modern format sends: f_auto then picks AVIF.
IMAGE_ACCEPT = "image/avif,image/webp,image/*,*/*;q=0.8"


@dataclass(frozen=True)
class RenderedImage:
    data: bytes
    content_type: str
    cache: str  # "hit" or "miss": whether the API rendered it for this request


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        super().__init__(f"HTTP {status}: {body}")


def ffmpeg_cookies(cookies: list[dict[str, Any]]) -> str:
    """Signed cookies as ffmpeg's http ``-cookies`` option wants them (one Set-Cookie
    value per line); its HLS demuxer sends them with every playlist and segment. No
    ``domain``: ffmpeg compares it with host:port, so a CDN on a port would never match;
    without one, ffmpeg sends them to the host it reads from (the CDN, and only it)."""
    return "".join(f"{c['name']}={c['value']}; path={c['path']}\n" for c in cookies)


def cookie_jar(cookies: list[dict[str, Any]]) -> requests.cookies.RequestsCookieJar:
    jar = requests.cookies.RequestsCookieJar()
    for c in cookies:
        jar.set(str(c["name"]), str(c["value"]), domain=str(c["domain"]), path=str(c["path"]))
    return jar


@dataclass(frozen=True)
class UploadResult:
    asset_id: str
    key: str
    upload_status: int


def local_token(api_url: str, username: str, *, timeout: float = 10.0) -> str:
    """Sign in to a local stack's stand-in user pool (``POST /_local/token``; no such
    route exists in AWS, where tokens come from Cognito)."""
    r = requests.post(
        f"{api_url.rstrip('/')}/_local/token", json={"username": username}, timeout=timeout
    )
    if r.status_code != 200:
        raise ApiError(r.status_code, r.text[:500])
    return str(r.json()["IdToken"])


ProgressCallback = Callable[[int, int], None]


class MultipartFile:
    """A multipart/form-data body (the presigned POST's fields, then the file) read in
    chunks, so the sender can report bytes as they go. Its length is known, so requests
    sends a Content-Length (S3 refuses chunked POST uploads)."""

    CHUNK = 256 * 1024

    def __init__(
        self,
        fields: dict[str, str],
        path: Path,
        content_type: str,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.boundary = f"lumiere-{uuid.uuid4().hex}"
        head = b"".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
            for name, value in fields.items()
        )
        head += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: {content_type}\r\n\r\n'
        ).encode()
        self._parts = [head, None, f"\r\n--{self.boundary}--\r\n".encode()]
        self._file = path.open("rb")
        self.file_size = path.stat().st_size
        self._length = len(head) + self.file_size + len(self._parts[2] or b"")
        self._sent_file = 0
        self._on_progress = on_progress

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        size = self.CHUNK if size is None or size < 0 else size
        while self._parts:
            part = self._parts[0]
            if part is None:  # the file itself
                chunk = self._file.read(size)
                if chunk:
                    self._sent_file += len(chunk)
                    if self._on_progress is not None:
                        self._on_progress(self._sent_file, self.file_size)
                    return chunk
                self._file.close()
                self._parts.pop(0)
                continue
            self._parts.pop(0)
            if part:
                return part
        return b""

    def close(self) -> None:
        self._file.close()


class LumiereClient:
    def __init__(self, api_url: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        """``token``: a Cognito ID token, sent as ``Authorization`` to the API only (the
        API needs one); LUMIERE_TOKEN when not given."""
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        # The API's session only: the presigned upload and media requests go elsewhere
        # and must not carry the token.
        self.api = requests.Session()
        token = token if token is not None else os.environ.get("LUMIERE_TOKEN", "")
        if token:
            self.api.headers["Authorization"] = token

    def _json(self, response: requests.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            raise ApiError(response.status_code, body)
        return body

    def request_upload(
        self,
        filename: str,
        content_type: str,
        size: int,
        *,
        preset: str | None = None,
        language: str | None = None,
        visibility: str | None = None,
        encryption: str | None = None,
        title: str | None = None,
        passthrough: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"filename": filename, "content_type": content_type, "size": size}
        optional = {
            "preset": preset,
            "language": language,
            "visibility": visibility,
            "encryption": encryption,
            "title": title,
            "passthrough": passthrough,
        }
        body.update({name: value for name, value in optional.items() if value})
        r = self.api.post(f"{self.api_url}/uploads", json=body, timeout=self.timeout)
        return dict(self._json(r))

    def import_url(self, url: str, **fields: Any) -> dict[str, Any]:
        """``POST /uploads/url``: the asset is made from the file at ``url`` (fields as
        for an upload: filename, content_type, title, preset, visibility...)."""
        body = {"url": url, **{name: value for name, value in fields.items() if value}}
        r = self.api.post(f"{self.api_url}/uploads/url", json=body, timeout=self.timeout)
        return dict(self._json(r))

    def upload_file(
        self,
        path: Path,
        *,
        content_type: str | None = None,
        filename: str | None = None,
        declared_size: int | None = None,
        preset: str | None = None,
        language: str | None = None,
        visibility: str | None = None,
        encryption: str | None = None,
        title: str | None = None,
        passthrough: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> UploadResult:
        """``declared_size`` lets tests play a client that lies about the size;
        ``on_progress(sent, total)`` is called as the file's bytes go out."""
        content_type = (
            content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        )
        size = path.stat().st_size if declared_size is None else declared_size
        ticket = self.request_upload(
            filename or path.name,
            content_type,
            size,
            preset=preset,
            language=language,
            visibility=visibility,
            encryption=encryption,
            title=title,
            passthrough=passthrough,
        )
        form = ticket["upload"]
        body = MultipartFile(form["fields"], path, content_type, on_progress)
        try:
            # The storage session: the presigned URL must not receive the API's token.
            r = self.http.post(
                form["url"],
                data=body,
                headers={"Content-Type": body.content_type, "Content-Length": str(len(body))},
                timeout=max(self.timeout, 300.0),
            )
        finally:
            body.close()
        if r.status_code not in (200, 201, 204):
            raise ApiError(r.status_code, r.text[:500])
        return UploadResult(
            asset_id=ticket["asset_id"], key=ticket["key"], upload_status=r.status_code
        )

    def upload_file_multipart(
        self,
        path: Path,
        *,
        content_type: str,
        declared_size: int | None = None,
        on_part: Callable[[int, int], None] | None = None,
    ) -> UploadResult:
        """A multipart upload, as a browser uploads a large file: the API hands out part
        URLs (100 at a time), each part is PUT straight to S3, then the API completes."""
        size = path.stat().st_size if declared_size is None else declared_size
        body = {"filename": path.name, "content_type": content_type, "size": size}
        ticket = self._json(
            self.api.post(f"{self.api_url}/uploads/multipart", json=body, timeout=self.timeout)
        )
        asset_id, part_size = ticket["asset_id"], int(ticket["part_size"])
        count = -(-path.stat().st_size // part_size)
        done: list[dict[str, Any]] = []
        with path.open("rb") as fh:
            for first in range(1, count + 1, 100):
                numbers = list(range(first, min(first + 100, count + 1)))
                urls = self._json(
                    self.api.post(
                        f"{self.api_url}/uploads/{asset_id}/parts",
                        json={"part_numbers": numbers},
                        timeout=self.timeout,
                    )
                )["parts"]
                for part in urls:
                    fh.seek((part["part_number"] - 1) * part_size)
                    r = self.http.put(part["url"], data=fh.read(part_size), timeout=300.0)
                    if r.status_code != 200:
                        raise ApiError(r.status_code, r.text[:500])
                    done.append({"part_number": part["part_number"], "etag": r.headers["ETag"]})
                    if on_part is not None:
                        on_part(part["part_number"], count)
        self._json(
            self.api.post(
                f"{self.api_url}/uploads/{asset_id}/complete",
                json={"parts": done},
                timeout=max(self.timeout, 120.0),
            )
        )
        return UploadResult(asset_id=asset_id, key=ticket["key"], upload_status=200)

    def list_assets(self, **params: str | int) -> dict[str, Any]:
        r = self.api.get(f"{self.api_url}/assets", params=params, timeout=self.timeout)
        return dict(self._json(r))

    def delete_asset(self, asset_id: str) -> int:
        r = self.api.delete(f"{self.api_url}/assets/{asset_id}", timeout=self.timeout)
        if r.status_code >= 400:
            self._json(r)
        return r.status_code

    def get_asset(self, asset_id: str) -> dict[str, Any]:
        r = self.api.get(f"{self.api_url}/assets/{asset_id}", timeout=self.timeout)
        return dict(self._json(r))

    def render_image(
        self, asset_id: str, options: str, *, secret: str, accept: str = IMAGE_ACCEPT
    ) -> RenderedImage:
        """``GET /img/{asset_id}/{options}`` signed with the deployment's secret, as a
        customer's backend would sign it, and the picture its redirect leads to."""
        path = f"/img/{asset_id}/{options}"
        r = self.api.get(
            f"{self.api_url}{path}",
            params={"s": sign_path(secret, path)},
            headers={"Accept": accept},
            timeout=self.timeout,
            allow_redirects=False,
        )
        if r.status_code != 302:
            self._json(r)  # the API's error, as an ApiError
            raise ApiError(r.status_code, r.text[:500])
        picture = self.http.get(r.headers["Location"], timeout=self.timeout)
        if picture.status_code != 200:
            raise ApiError(picture.status_code, picture.text[:500])
        return RenderedImage(
            data=picture.content,
            content_type=picture.headers.get("Content-Type", ""),
            cache=r.headers.get("X-Lumiere-Cache", ""),
        )

    def update_asset(self, asset_id: str, **changes: Any) -> dict[str, Any]:
        """PATCH the asset: ``visibility``, ``poster_time``, ``title``, ``passthrough``
        (None sends null: the automatic poster, no title, no passthrough)."""
        r = self.api.patch(f"{self.api_url}/assets/{asset_id}", json=changes, timeout=self.timeout)
        return dict(self._json(r))

    def set_visibility(self, asset_id: str, visibility: str) -> dict[str, Any]:
        """``public`` (plain URLs anyone may fetch) or ``private`` (signed URLs only)."""
        return self.update_asset(asset_id, visibility=visibility)

    def set_poster_time(self, asset_id: str, seconds: float | None) -> dict[str, Any]:
        """Make a video's frame at ``seconds`` its poster; None: the automatic one."""
        return self.update_asset(asset_id, poster_time=seconds)

    def original(self, asset_id: str) -> dict[str, Any]:
        """A short-lived link to the uploaded file (``url``, ``expires_at``, ``filename``,
        ``size``)."""
        r = self.api.get(f"{self.api_url}/assets/{asset_id}/original", timeout=self.timeout)
        return dict(self._json(r))

    def content_key(self, asset_id: str) -> bytes:
        """An encrypted asset's 16-byte HLS key (what a player fetches from EXT-X-KEY)."""
        r = self.api.get(f"{self.api_url}/assets/{asset_id}/key", timeout=self.timeout)
        if r.status_code != 200:
            self._json(r)
        return r.content

    def playback(self, asset_id: str) -> dict[str, Any]:
        """Manifest URLs and, when playback is signed, the signed query and cookies."""
        r = self.api.get(f"{self.api_url}/assets/{asset_id}/playback", timeout=self.timeout)
        return dict(self._json(r))

    def wait_until_final(
        self,
        asset_id: str,
        *,
        timeout: float = 600.0,
        interval: float = 0.5,
        on_change: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: tuple[Any, Any] | None = None
        while True:
            asset = self.get_asset(asset_id)
            seen = (asset.get("status"), asset.get("progress"))
            if seen != last and on_change is not None:
                on_change(asset)
            last = seen
            if asset.get("status") in FINAL_STATUSES:
                return asset
            if time.monotonic() > deadline:
                raise TimeoutError(f"asset {asset_id} still {asset.get('status')} after {timeout}s")
            time.sleep(interval)
