"""The MediaConvert engine's two steps: submit an asset's job (from ingest, instead of
queueing transcode tasks), and take the job's state changes (from EventBridge) to the
asset: progress, then READY with its outputs or FAILED with a reason.

Duplicates are harmless both ways: a resubmission of the same plan carries the same
ClientRequestToken, and every status change is a conditional write, so a repeated or
late event finds the asset already moved on.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.mediaconvert import submit_job
from lumiere.config import MEDIACONVERT, Settings
from lumiere.errors import StaleTransitionError
from lumiere.media.ladder import LadderPreset, load_preset
from lumiere.media.streams import MediaInfo, MediaKind
from lumiere.mediaconvert.job_events import (
    COMPLETE,
    STATUS_UPDATE,
    JobEvent,
    failure_from_event,
    outputs_from_complete,
)
from lumiere.mediaconvert.job_request import (
    PLAN_KEY,
    EngineUnsupported,
    JobTarget,
    build_create_job,
    check_supported,
)
from lumiere.pipeline.clock import utc_now
from lumiere.pipeline.deletion import delete_outputs
from lumiere.pipeline.fan_in import MEDIACONVERT_OUTPUTS, finish_if_complete
from lumiere.pipeline.models import SourceObject
from lumiere.pipeline.outcomes import record_failure, record_ready
from lumiere.pipeline.plan import ANALYSIS
from lumiere.pipeline.status import TERMINAL, AssetStatus

log = logging.getLogger(__name__)

ENGINE_KINDS = frozenset({MediaKind.VIDEO, MediaKind.AUDIO})


class JobOutcome(StrEnum):
    READY = "ready"
    FAILED = "failed"
    PROGRESS = "progress"
    IGNORED = "ignored"  # not ours, another job of the asset, or already final


def _preset(asset: dict[str, Any]) -> LadderPreset:
    return load_preset((asset.get("plan") or {}).get("preset") or "default")


def uses_mediaconvert(asset: dict[str, Any], settings: Settings) -> bool:
    """Whether this asset's video/audio work goes to MediaConvert: the deployment says so,
    it is video or audio, and its preset asks for nothing this engine lacks (VP9, the
    FFT denoise), in which case the ffmpeg functions do it as before."""
    if settings.transcode_engine != MEDIACONVERT:
        return False
    if MediaKind(asset["kind"]) not in ENGINE_KINDS:
        return False
    try:
        check_supported(_preset(asset))
    except EngineUnsupported as e:
        log.info("asset %s goes to ffmpeg: %s", asset["asset_id"], e)
        return False
    return True


def job_request(asset: dict[str, Any], settings: Settings) -> dict[str, Any]:
    source = SourceObject(**asset["source"])
    target = JobTarget(
        asset_id=asset["asset_id"],
        source_bucket=source.bucket,
        source_key=source.key,
        media_bucket=settings.media_bucket,
        role_arn=settings.mediaconvert_role_arn,
        segment_seconds=settings.segment_seconds,
        queue=settings.mediaconvert_queue,
        stack=settings.stack_name,
    )
    info = MediaInfo.from_dict(asset["probe"])
    return build_create_job(target, info, MediaKind(asset["kind"]), _preset(asset))


def submit(asset: dict[str, Any], catalogue: Catalogue, settings: Settings) -> str:
    """Start the asset's job and record it; returns the job id."""
    request = job_request(asset, settings)
    job_id = submit_job(request, settings.mediaconvert_endpoint)
    try:
        catalogue.transition(
            asset["asset_id"],
            AssetStatus.PROCESSING,
            utc_now(),
            mediaconvert={"job_id": job_id, "plan": request["UserMetadata"][PLAN_KEY]},
        )
    except StaleTransitionError:
        # Failed or deleted meanwhile; the job's completion finds it so and cleans up.
        log.info("asset %s moved on while its job was submitted", asset["asset_id"])
    return job_id


def handle_job_event(event: JobEvent, catalogue: Catalogue, settings: Settings) -> JobOutcome:
    if event.asset_id is None or (settings.stack_name and event.stack != settings.stack_name):
        log.info("job %s is not one of this deployment's", event.job_id)
        return JobOutcome.IGNORED
    asset = catalogue.get(event.asset_id)
    if asset is None:
        return JobOutcome.IGNORED
    recorded = (asset.get("mediaconvert") or {}).get("job_id")
    if recorded and recorded != event.job_id:
        # A second job for the asset (resubmitted after MediaConvert's idempotency window
        # closed): the recorded one decides, so a late ERROR here cannot undo its READY.
        log.info("job %s is not asset %s's job %s", event.job_id, event.asset_id, recorded)
        return JobOutcome.IGNORED
    status = AssetStatus(asset["status"])
    if status is AssetStatus.DELETED and event.is_final:
        delete_outputs(event.asset_id, settings)  # deleted while the job ran
        return JobOutcome.IGNORED
    if status in TERMINAL:
        return JobOutcome.IGNORED  # a duplicate or late event
    if event.status == STATUS_UPDATE:
        _record_progress(asset, event, catalogue)
        return JobOutcome.PROGRESS
    if not event.is_final:
        return JobOutcome.IGNORED  # PROGRESSING, INPUT_INFORMATION, NEW_WARNING...
    if event.status == COMPLETE:
        outputs = outputs_from_complete(
            event,
            MediaInfo.from_dict(asset["probe"]),
            MediaKind(asset["kind"]),
            _preset(asset),
            settings.media_bucket,
        )
        # The job made every media part; the fan-in waits for the rest (the analysis part)
        # and, for a MediaConvert asset, keeps MediaConvert's own manifests.
        now = utc_now()
        media_parts = [p for p in (asset.get("plan") or {}).get("parts") or {} if p != ANALYSIS]
        try:
            if not media_parts:  # a plan of nothing but analysis cannot reach here; be safe
                record_ready(catalogue, settings, event.asset_id, outputs)
                return JobOutcome.READY
            for n, part in enumerate(media_parts):
                output = {MEDIACONVERT_OUTPUTS: outputs} if n == 0 else {}
                asset = catalogue.complete_part(event.asset_id, part, now, output)
        except StaleTransitionError:
            return JobOutcome.IGNORED  # another delivery of this event got there first
        done = finish_if_complete(asset, catalogue, settings)
        return JobOutcome.READY if done is AssetStatus.READY else JobOutcome.PROGRESS
    reason, message = failure_from_event(event)
    record_failure(catalogue, settings, event.asset_id, reason, message)
    return JobOutcome.FAILED


def _record_progress(asset: dict[str, Any], event: JobEvent, catalogue: Catalogue) -> None:
    """MediaConvert runs every planned part at once, so each part's progress is the
    job's; the API's weighted figure is then the job's percentage."""
    percent = event.percent
    if percent is None or asset["status"] != AssetStatus.PROCESSING:
        return
    now = utc_now()
    for part in (asset.get("plan") or {}).get("parts") or {}:
        catalogue.set_part_progress(event.asset_id or "", part, now, min(percent, 99))
