"""Imports: an asset whose file Lumiere fetches from a URL (``POST /uploads/url``), as
Mux's "create asset from URL" and Cloudflare Stream's "upload via link" do.

The API registers the asset (CREATED, like any upload) and queues an ``ImportTask``;
ImportFunction streams the file into the asset's one upload key, and from there the
upload's own S3 event drives ingest exactly as for a file a browser sent. Nothing
downstream knows the difference, and every check ingest makes (size from S3's own
figure, type from the bytes) applies unchanged.
"""

from __future__ import annotations

import logging
import mimetypes
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from enum import StrEnum
from typing import Any

from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.content_keys import ContentKeys
from lumiere.cloud.public_assets import PublicAssetIndex
from lumiere.cloud.remote_source import RemoteFile, open_remote
from lumiere.cloud.storage import delete_prefix, head_object, upload_stream
from lumiere.config import Settings
from lumiere.errors import (
    InvalidRequestError,
    LimitExceededError,
    PermanentError,
    ReasonCode,
    TransientError,
)
from lumiere.pipeline import keys
from lumiere.pipeline.clock import utc_now
from lumiere.pipeline.import_urls import (
    ImportUrl,
    filename_from_url,
    is_public_address,
    literal_address,
    parse_import_url,
)
from lumiere.pipeline.models import ImportTask, UploadRequest
from lumiere.pipeline.outcomes import record_failure
from lumiere.pipeline.status import AssetStatus
from lumiere.pipeline.uploads import register_asset

log = logging.getLogger(__name__)

GENERIC_TYPE = "application/octet-stream"
MEDIA_TYPES = ("video/", "audio/", "image/")

# open_remote's shape: (url, allowed networks, seconds=...) -> the body to read.
Opener = Callable[..., AbstractContextManager[RemoteFile]]
TaskSender = Callable[[str, ImportTask], None]


class _Stopped(Exception):
    """The asset stopped waiting for its file (deleted, or failed) while it arrived."""


class ImportOutcome(StrEnum):
    IMPORTED = "imported"  # the file is in the upload key; its S3 event carries on
    FAILED = "failed"  # recorded on the asset
    IGNORED = "ignored"  # not an import still waiting, or an earlier attempt finished


def import_request(body: Any, settings: Settings) -> tuple[UploadRequest, ImportUrl]:
    """The API's body -> what to register and what to fetch. ``filename`` and
    ``content_type`` are optional: the URL's last segment and its extension's type."""
    if not isinstance(body, dict):
        raise InvalidRequestError('Send a JSON object: {"url": "https://..."}.')
    url = parse_import_url(body.get("url"))
    literal = literal_address(url.host)
    if literal is not None and not is_public_address(literal, settings.import_networks):
        raise InvalidRequestError(
            f"url names {literal}, which is not on the public internet; an import can only "
            "fetch from public web servers.",
            reason=ReasonCode.FETCH_REFUSED,
        )
    filename = body.get("filename") or filename_from_url(url)
    content_type = body.get("content_type") or _type_of(filename)
    request = UploadRequest.from_json(
        {**body, "filename": filename, "content_type": content_type}, sized=False
    )
    return request, url


def start_import(
    request: UploadRequest,
    url: ImportUrl,
    catalogue: Catalogue,
    settings: Settings,
    send: TaskSender,
    *,
    owner: str,
    public_index: PublicAssetIndex | None = None,
    content_keys: ContentKeys | None = None,
) -> str:
    """Register the asset and queue its fetch; the asset id."""
    if not settings.import_queue_url:
        raise InvalidRequestError("This deployment does not import from URLs; upload the file.")
    upload = register_asset(
        request,
        catalogue,
        settings,
        owner=owner,
        public_index=public_index,
        content_keys=content_keys,
        extra={"source_url": url.display},
    )
    try:
        send(settings.import_queue_url, ImportTask(asset_id=upload.asset_id, url=url.url))
    except TransientError:
        record_failure(
            catalogue,
            settings,
            upload.asset_id,
            ReasonCode.PROCESSING_ERROR,
            "Lumiere could not start the import (its queue refused the task); try again.",
        )
        raise
    return upload.asset_id


# Read from the server in pieces this size, whatever the uploader asks for at a time (a
# whole 16 MiB part), so the limits and the progress are checked as bytes arrive.
READ_PIECE_BYTES = 1024 * 1024

ProgressSink = Callable[[int], None]


class _LimitedReader:
    """The body as ``upload_stream`` reads it, stopped at the size limit, so a server
    that sends forever cannot fill S3 (the fetch's deadline stops a slow one);
    ``on_progress(received)`` is told at most every ``progress_seconds``, and at the end."""

    def __init__(
        self,
        remote: RemoteFile,
        max_bytes: int,
        on_progress: ProgressSink,
        progress_seconds: float,
    ) -> None:
        self.remote, self.max_bytes = remote, max_bytes
        self.on_progress, self.progress_seconds = on_progress, progress_seconds
        self.received = 0
        self.reported_at = time.monotonic()

    def read(self, size: int = -1) -> bytes:
        want = self.max_bytes + 1 if size is None or size < 0 else size
        pieces: list[bytes] = []
        while want > 0:
            data = self.remote.read(min(want, READ_PIECE_BYTES))
            if not data:
                self.on_progress(self.received)  # the end: the whole count
                break
            self._count(len(data))
            pieces.append(data)
            want -= len(data)
        return b"".join(pieces)

    def _count(self, n: int) -> None:
        self.received += n
        if self.received > self.max_bytes:
            raise LimitExceededError(
                f"{self.remote.url.host} sent more than {self.max_bytes:,} bytes, the "
                "largest file Lumiere accepts; the import was stopped.",
                reason=ReasonCode.TOO_LARGE,
            )
        now = time.monotonic()
        if now - self.reported_at >= self.progress_seconds:
            self.reported_at = now
            self.on_progress(self.received)


def import_source(
    task: ImportTask,
    catalogue: Catalogue,
    settings: Settings,
    *,
    seconds_left: float,
    opener: Opener = open_remote,
) -> ImportOutcome:
    """Fetch the task's URL into the asset's upload key. Permanent failures are
    recorded on the asset; ``RemoteSourceError`` and other transient errors propagate
    for SQS to retry."""
    asset = catalogue.get(task.asset_id)
    if asset is None or asset.get("status") != AssetStatus.CREATED or not asset.get("source_url"):
        log.info("asset %s is not an import waiting for its file; ignoring", task.asset_id)
        return ImportOutcome.IGNORED
    key = str(asset["upload_key"])
    if head_object(settings.uploads_bucket, key) is not None:
        log.info("asset %s: an earlier attempt already stored the file", task.asset_id)
        return ImportOutcome.IGNORED
    try:
        url = parse_import_url(task.url)
        with opener(url, settings.import_networks, seconds=seconds_left) as remote:
            declared = remote.content_length
            if declared is not None and declared > settings.max_upload_bytes:
                raise LimitExceededError(
                    f"{remote.url.host} says the file is {declared:,} bytes; the "
                    f"limit is {settings.max_upload_bytes:,}.",
                    reason=ReasonCode.TOO_LARGE,
                )

            def progress(received: int) -> None:
                # The asset deleted meanwhile: stop now (the upload is aborted), not when
                # the whole file has been fetched for nothing.
                if not catalogue.set_import_progress(task.asset_id, received, declared, utc_now()):
                    raise _Stopped

            upload_stream(
                settings.uploads_bucket,
                key,
                _LimitedReader(
                    remote,
                    settings.max_upload_bytes,
                    progress,
                    settings.progress_interval_seconds,
                ),
                _stored_type(remote.content_type, str(asset.get("content_type") or GENERIC_TYPE)),
            )
    except InvalidRequestError as e:
        # Only a task the API did not write gets here (it checked the URL).
        record_failure(catalogue, settings, task.asset_id, ReasonCode.FETCH_REFUSED, e.message)
        return ImportOutcome.FAILED
    except PermanentError as e:
        record_failure(catalogue, settings, task.asset_id, e.reason, e.message)
        return ImportOutcome.FAILED
    except _Stopped:
        log.info("asset %s stopped waiting for its file; import stopped", task.asset_id)
        return ImportOutcome.IGNORED
    now = catalogue.get(task.asset_id)
    if now is None or now.get("status") == AssetStatus.DELETED:
        # Deleted after the last progress write: its clean-up ran before the file landed.
        delete_prefix(
            settings.uploads_bucket, f"{keys.UPLOADS_PREFIX}{task.asset_id}/", all_versions=True
        )
        return ImportOutcome.IGNORED
    return ImportOutcome.IMPORTED


def _type_of(filename: object) -> str:
    """The media type the name's extension suggests; a name with none ("download",
    "file.bin") registers as generic, and the bytes decide."""
    guessed = mimetypes.guess_type(filename)[0] if isinstance(filename, str) else None
    return guessed if guessed and guessed.startswith(MEDIA_TYPES) else GENERIC_TYPE


def _stored_type(served: str | None, registered: str) -> str:
    """The server's Content-Type when it names media, else the one registered. Only a
    label: ingest decides the type from the bytes."""
    served_type = (served or "").split(";", 1)[0].strip().lower()
    return served_type if served_type.startswith(MEDIA_TYPES) else registered
