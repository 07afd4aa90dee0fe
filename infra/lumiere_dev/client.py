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

FINAL_STATUSES = frozenset({"READY", "FAILED", "DELETED"})


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        super().__init__(f"HTTP {status}: {body}")


@dataclass(frozen=True)
class UploadResult:
    asset_id: str
    key: str
    upload_status: int


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
        """``token``: a bearer token for an API with an authorizer (LUMIERE_TOKEN when
        not given; none means anonymous)."""
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        token = token if token is not None else os.environ.get("LUMIERE_TOKEN")
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

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
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"filename": filename, "content_type": content_type, "size": size}
        if preset:
            body["preset"] = preset
        if language:
            body["language"] = language
        r = self.http.post(f"{self.api_url}/uploads", json=body, timeout=self.timeout)
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
        on_progress: ProgressCallback | None = None,
    ) -> UploadResult:
        """``declared_size`` lets tests play a client that lies about the size;
        ``on_progress(sent, total)`` is called as the file's bytes go out."""
        content_type = (
            content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        )
        size = path.stat().st_size if declared_size is None else declared_size
        ticket = self.request_upload(
            filename or path.name, content_type, size, preset=preset, language=language
        )
        form = ticket["upload"]
        body = MultipartFile(form["fields"], path, content_type, on_progress)
        try:
            # Not through self.http: the storage URL must not receive the API's token.
            r = requests.post(
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

    def list_assets(self, **params: str | int) -> dict[str, Any]:
        r = self.http.get(f"{self.api_url}/assets", params=params, timeout=self.timeout)
        return dict(self._json(r))

    def delete_asset(self, asset_id: str) -> int:
        r = self.http.delete(f"{self.api_url}/assets/{asset_id}", timeout=self.timeout)
        if r.status_code >= 400:
            self._json(r)
        return r.status_code

    def get_asset(self, asset_id: str) -> dict[str, Any]:
        r = self.http.get(f"{self.api_url}/assets/{asset_id}", timeout=self.timeout)
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
