"""Ingest one uploaded object: check it is ours, probe it from S3, record, plan the work.

Safe to run twice for the same object: every step is a conditional write, and a
duplicate that finds the asset already PROBED only re-sends the (idempotent) task.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from enum import StrEnum
from typing import Any

from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.source_proxy import SourceProxy
from lumiere.cloud.storage import head_object, presign_get, read_head
from lumiere.cloud.tasks import send_part_tasks
from lumiere.config import Settings
from lumiere.errors import (
    LimitExceededError,
    PermanentError,
    ReasonCode,
    StaleTransitionError,
    ToolError,
    TransientError,
)
from lumiere.media.image_probe import image_info
from lumiere.media.ladder import load_preset, plan_ladder
from lumiere.media.probe import (
    Limits,
    MediaInfo,
    MediaKind,
    build_ffprobe_args,
    check_limits,
    classify,
    explain_probe_failure,
    parse_probe,
)
from lumiere.media.sniff import (
    SNIFF_BYTES,
    bmff_image_format,
    check_image_pixels,
    refuse_non_media,
)
from lumiere.media.streams import ImageInfo, VideoStream
from lumiere.media.tools import find_binaries, run_tool
from lumiere.pipeline import mediaconvert
from lumiere.pipeline.clock import utc_now
from lumiere.pipeline.keys import parse_upload_key
from lumiere.pipeline.models import SourceObject, TranscodeTask
from lumiere.pipeline.outcomes import record_failure
from lumiere.pipeline.plan import ANALYSIS, ChunkPolicy, TaskBudget, plan_parts
from lumiere.pipeline.status import AssetStatus

log = logging.getLogger(__name__)


class IngestOutcome(StrEnum):
    QUEUED = "queued"  # probed and handed to transcode
    REQUEUED = "requeued"  # a duplicate found it PROBED: task sent again
    FAILED = "failed"  # permanent problem recorded on the asset
    IGNORED = "ignored"  # not an upload we issued, or already past ingest


def ingest_object(
    source: SourceObject,
    catalogue: Catalogue,
    settings: Settings,
    *,
    probe_timeout: float | None,
) -> IngestOutcome:
    upload = parse_upload_key(source.key, url_encoded=False)
    if source.bucket != settings.uploads_bucket or upload is None:
        log.warning(
            "ignoring object outside the upload layout: s3://%s/%s", source.bucket, source.key
        )
        return IngestOutcome.IGNORED
    asset = catalogue.get(upload.asset_id)
    # Only the exact key the API issued for this asset may be read: anything else under
    # the prefix was not granted by an upload ticket.
    if asset is None or asset.get("upload_key") != upload.key:
        log.warning("ignoring object no upload ticket names: %s", source.key)
        return IngestOutcome.IGNORED
    status = AssetStatus(asset["status"])
    if status is AssetStatus.PROBED:
        _start_work(asset, catalogue, settings)
        return IngestOutcome.REQUEUED
    if status not in (AssetStatus.CREATED, AssetStatus.UPLOADED):
        # Includes a second write to the same key (a re-upload): one ticket, one object.
        log.info("duplicate event for asset %s in status %s", upload.asset_id, status)
        return IngestOutcome.IGNORED
    try:
        if status is AssetStatus.CREATED:
            pinned = _pin_version(source)
            if pinned is None:
                record_failure(
                    catalogue,
                    settings,
                    upload.asset_id,
                    ReasonCode.UPLOAD_MISSING,
                    "The uploaded file was deleted before Lumiere could read it. Upload it again.",
                )
                return IngestOutcome.FAILED
            asset = catalogue.transition(
                upload.asset_id, AssetStatus.UPLOADED, utc_now(), source=asdict(pinned)
            )
        source = SourceObject(**asset["source"])
        info, kind = _probe_and_check(source, settings, probe_timeout)
        preset = load_preset(asset.get("preset") or settings.ladder_preset)
        budget = TaskBudget(settings.task_budget_seconds, settings.encode_pixel_rate)
        chunking = ChunkPolicy(
            settings.chunk_threshold_seconds, settings.chunk_seconds, settings.segment_seconds
        )
        parts = plan_parts(
            info,
            kind,
            preset,
            settings.video_tasks,
            budget,
            analysis=settings.analysis_enabled,
            chunking=chunking,
        )
        planned = {r for p in parts for r in p.rungs}
        dropped = [r.name for r in plan_ladder(info, preset) if r.name not in planned]
        asset = catalogue.transition(
            upload.asset_id,
            AssetStatus.PROBED,
            utc_now(),
            kind=kind.value,
            probe=info.to_dict(),
            # The plan is fixed here, so every part (and any retry) agrees on the split
            # even if the deployment's settings change meanwhile.
            plan={
                "preset": preset.name,
                "parts": {p.name: p.to_dict() for p in parts},
                # Top rungs one task could not encode in time (pipeline/plan.py).
                "dropped_rungs": dropped if kind is MediaKind.VIDEO else [],
            },
            part_outputs={},
            part_progress={},
        )
    except StaleTransitionError:
        log.info("asset %s moved on while ingesting; leaving it", upload.asset_id)
        return IngestOutcome.IGNORED
    except PermanentError as e:
        log.info("asset %s rejected: %s (%s)", upload.asset_id, e.reason, e.message)
        record_failure(catalogue, settings, upload.asset_id, e.reason, e.message)
        return IngestOutcome.FAILED
    _start_work(asset, catalogue, settings)
    return IngestOutcome.QUEUED


def _pin_version(source: SourceObject) -> SourceObject | None:
    """S3's own size, ETag and version of the object, or None if it is gone.

    S3 notifications carry the versionId on versioned buckets; moto's do not, so the
    HEAD supplies it. The probed version is what every later step reads.
    """
    head = head_object(source.bucket, source.key, source.version_id)
    if head is None:
        return None
    return replace(
        source,
        size=int(head.get("ContentLength", source.size)),
        etag=str(head.get("ETag", "")).strip('"') or source.etag,
        version_id=head.get("VersionId") or source.version_id,
    )


def _probe_and_check(
    source: SourceObject, settings: Settings, timeout: float | None
) -> tuple[MediaInfo, MediaKind]:
    if source.size == 0:
        raise PermanentError("The uploaded file is empty (0 bytes).", reason=ReasonCode.EMPTY_FILE)
    # S3's own size, not the client's claim: presigned POST policies can be bypassed.
    if source.size > settings.max_upload_bytes:
        raise LimitExceededError(
            f"The file is {source.size:,} bytes; the limit is {settings.max_upload_bytes:,}.",
            reason=ReasonCode.TOO_LARGE,
        )
    head = read_head(source.bucket, source.key, SNIFF_BYTES, source.version_id)
    refuse_non_media(head)
    check_image_pixels(head, settings.max_pixels)
    still = bmff_image_format(head)
    image = image_info(head) if still else None
    if image is not None:
        # HEIC and AVIF: ffprobe 6 cannot read HEIF and sees an AVIF as a one-frame
        # video with no duration; Pillow (pillow-heif) reads both.
        info, kind = _bmff_image(source, image), MediaKind.IMAGE
    else:
        info = _ffprobe(source, settings, timeout, head)
        kind = classify(info)
        if kind is MediaKind.IMAGE:
            info = replace(info, image=image_info(head))
    check_limits(
        info,
        kind,
        Limits(
            max_bytes=settings.max_upload_bytes,
            max_duration_seconds=settings.max_duration_seconds,
            max_pixels=settings.max_pixels,
            max_streams=settings.max_streams,
        ),
    )
    return info, kind


def _bmff_image(source: SourceObject, image: ImageInfo) -> MediaInfo:
    """The probe record of a HEIC or AVIF still, in the shape ffprobe gives a JPEG's."""
    codec = "av1" if image.format == "AVIF" else "hevc"
    return MediaInfo(
        format_name=image.format.lower(),
        duration=None,
        size=source.size,
        bit_rate=None,
        video=(VideoStream(index=0, codec=codec, width=image.width, height=image.height),),
        stream_count=1,
        format_long_name=f"{image.format} image",
        image=image,
    )


def _ffprobe(
    source: SourceObject, settings: Settings, timeout: float | None, head: bytes
) -> MediaInfo:
    url = presign_get(
        source.bucket,
        source.key,
        ttl_seconds=settings.source_url_ttl_seconds,
        version_id=source.version_id,
    )
    try:
        with SourceProxy(url) as local_url:
            raw = run_tool(
                build_ffprobe_args(str(find_binaries().ffprobe), local_url), timeout=timeout
            )
    except ToolError as e:
        if e.returncode is None:
            raise TransientError("ffprobe timed out") from e
        if e.returncode < 0:
            # Killed by a signal: a crash of the reader, which a retry would repeat.
            raise PermanentError(
                f"Lumiere's media reader crashed on this file (signal {-e.returncode}); "
                "this is on our side, not necessarily your file's. Remux or export it to "
                "MP4 and upload it again, and contact support with the asset id.",
                reason=ReasonCode.PROCESSING_ERROR,
            ) from e
        raise explain_probe_failure(e.stderr_tail, head) from e
    return parse_probe(raw)


def _start_work(asset: dict[str, Any], catalogue: Catalogue, settings: Settings) -> None:
    """Hand the planned work to the engine the deployment uses (config TRANSCODE_ENGINE)."""
    tasks = _tasks(asset)
    if mediaconvert.uses_mediaconvert(asset, settings):
        mediaconvert.submit(asset, catalogue, settings)
        # MediaConvert makes every media part; the analysis part is still ours.
        tasks = [t for t in tasks if t.part == ANALYSIS]
    send_part_tasks(settings, tasks)


def _tasks(asset: dict[str, Any]) -> list[TranscodeTask]:
    return [
        TranscodeTask(
            asset_id=asset["asset_id"],
            kind=MediaKind(asset["kind"]),
            source=SourceObject(**asset["source"]),
            part=name,
        )
        for name in asset["plan"]["parts"]
    ]
