"""Start an upload: register the asset, then hand the client a presigned POST."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.content_keys import ContentKeys
from lumiere.cloud.public_assets import PublicAssetIndex
from lumiere.cloud.storage import PresignedPost, presign_upload
from lumiere.config import ENCRYPTION_AES_128, FFMPEG, Settings
from lumiere.errors import (
    InvalidRequestError,
    LimitExceededError,
    QuotaExceededError,
    ReasonCode,
)
from lumiere.media.ladder import load_preset
from lumiere.pipeline.clock import utc_now
from lumiere.pipeline.keys import UploadKey, clean_filename
from lumiere.pipeline.models import UploadRequest, Visibility
from lumiere.pipeline.search_text import searchable
from lumiere.pipeline.status import AssetStatus

# The browser's claim only routes the request; ingest decides the real type from bytes.
ACCEPTED_TYPE_FAMILIES = ("video/", "audio/", "image/")
GENERIC_TYPES = ("application/octet-stream", "application/mp4", "application/ogg")
NO_PUBLIC_PATH = (
    "This deployment serves media only with signed URLs (no public path): visibility "
    "must be private."
)


@dataclass(frozen=True)
class UploadTicket:
    asset_id: str
    key: str
    upload: PresignedPost
    expires_in: int


def new_asset_id() -> str:
    """128 random bits: ids are unguessable, so they can appear in URLs."""
    return uuid.uuid4().hex


def register_asset(
    request: UploadRequest,
    catalogue: Catalogue,
    settings: Settings,
    *,
    owner: str,
    public_index: PublicAssetIndex | None = None,
    content_keys: ContentKeys | None = None,
    extra: dict[str, str] | None = None,
) -> UploadKey:
    """Check the request and create the asset (CREATED) with the one key its file may
    be written to; shared by uploads and imports (``extra``: the import's source)."""
    if not (
        request.content_type.startswith(ACCEPTED_TYPE_FAMILIES)
        or request.content_type in GENERIC_TYPES
    ):
        raise InvalidRequestError(
            f"content_type {request.content_type!r} is not a video, audio or image type."
        )
    if request.size is not None and request.size > settings.max_upload_bytes:
        raise LimitExceededError(
            f"The file is {request.size:,} bytes; the limit is {settings.max_upload_bytes:,}.",
            reason=ReasonCode.TOO_LARGE,
        )
    public = request.visibility is Visibility.PUBLIC
    if public and public_index is None:
        raise InvalidRequestError(NO_PUBLIC_PATH)
    encryption = request.encryption or settings.hls_encryption
    encrypted = encryption == ENCRYPTION_AES_128
    if encrypted and content_keys is None:
        raise InvalidRequestError(
            "This deployment has no KMS key for HLS encryption (CONTENT_KEY_ID): "
            "encryption must be none."
        )
    if encrypted and settings.transcode_engine != FFMPEG:
        raise InvalidRequestError("HLS AES-128 needs the ffmpeg engine, not MediaConvert.")
    # Refused now (400, with the choices) rather than failing the upload later.
    preset = load_preset(request.preset or settings.ladder_preset).name
    upload = UploadKey(asset_id=new_asset_id(), filename=clean_filename(request.filename))
    # Made now, once: the asset's parts encrypt in parallel and must share one key.
    wrapped_key = content_keys.new_key(upload.asset_id)[1] if encrypted and content_keys else None
    now = utc_now()
    catalogue.create(
        {
            "asset_id": upload.asset_id,
            "owner": owner,
            "status": AssetStatus.CREATED.value,
            "filename": upload.filename,
            "content_type": request.content_type,
            **({"declared_size": request.size} if request.size is not None else {}),
            "upload_key": upload.key,
            "preset": preset,
            "visibility": request.visibility.value,
            "encryption": encryption,
            **({"content_key": wrapped_key} if wrapped_key else {}),
            **({"language": request.language} if request.language else {}),
            **({"title": request.title} if request.title else {}),
            "search_text": searchable(request.title, upload.filename),
            **({"passthrough": request.passthrough} if request.passthrough else {}),
            **(extra or {}),
            "created_at": now,
            "updated_at": now,
        }
    )
    if public and public_index is not None:
        # After the record: the store never lists an asset the catalogue calls private.
        try:
            public_index.publish(upload.asset_id)
        except QuotaExceededError:
            catalogue.set_visibility(upload.asset_id, Visibility.PRIVATE.value, utc_now())
            raise
    return upload


def create_upload(
    request: UploadRequest,
    catalogue: Catalogue,
    settings: Settings,
    *,
    owner: str,
    public_index: PublicAssetIndex | None = None,
    content_keys: ContentKeys | None = None,
) -> UploadTicket:
    """``public_index``: where public assets are listed for the CDN; an upload asking to
    be public is refused (400) without one. ``content_keys``: makes the asset's HLS key
    when it is to be encrypted (refused without)."""
    if request.size is None:
        raise InvalidRequestError("size is required: the file's size in bytes (> 0).")
    upload = register_asset(
        request,
        catalogue,
        settings,
        owner=owner,
        public_index=public_index,
        content_keys=content_keys,
    )
    post = presign_upload(
        settings.uploads_bucket,
        upload.key,
        content_type=request.content_type,
        max_bytes=request.size,
        ttl_seconds=settings.upload_url_ttl_seconds,
    )
    return UploadTicket(
        asset_id=upload.asset_id,
        key=upload.key,
        upload=post,
        expires_in=settings.upload_url_ttl_seconds,
    )
