"""The owner's own upload back, byte for byte (Mux's master access, Cloudflare Stream's
downloads): a short-lived presigned GET of the version ingest probed, which the browser
saves under the file's name."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from lumiere.cloud.storage import presign_get
from lumiere.config import Settings
from lumiere.pipeline.models import SourceObject


@dataclass(frozen=True)
class OriginalLink:
    url: str
    expires_at: int
    filename: str
    size: int


def attachment(filename: str) -> str:
    """A Content-Disposition that saves the file under its name: RFC 6266's UTF-8
    ``filename*`` for browsers, and an ASCII ``filename`` for the rest."""
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def original_link(
    item: dict[str, Any], settings: Settings, now: float | None = None
) -> OriginalLink:
    """``item`` has a ``source`` (it was uploaded); the link names that exact version."""
    source = SourceObject(**item["source"])
    filename = str(item.get("filename") or source.key.rsplit("/", 1)[-1])
    ttl = settings.download_url_ttl_seconds
    url = presign_get(
        source.bucket,
        source.key,
        ttl_seconds=ttl,
        version_id=source.version_id,
        disposition=attachment(filename),
    )
    issued = time.time() if now is None else now
    return OriginalLink(url=url, expires_at=int(issued) + ttl, filename=filename, size=source.size)
