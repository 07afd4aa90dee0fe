"""TranscodeFunction: one part of an asset (rungs, audio or poster); the last part done
publishes the manifests and marks the asset READY."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lumiere.errors import PermanentError
from lumiere.handlers import runtime
from lumiere.handlers.batch import process_sqs_batch, record_and_raise
from lumiere.handlers.idempotency import once
from lumiere.observability import logger, metrics, record_step, tracer
from lumiere.pipeline.deletion import delete_outputs
from lumiere.pipeline.models import TranscodeTask
from lumiere.pipeline.outcomes import record_failure
from lumiere.pipeline.status import AssetStatus
from lumiere.pipeline.transcode import transcode_part


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings, catalogue = runtime.settings(), runtime.catalogue()

    # A task (deterministic id per asset and part) is encoded once, however often it is
    # delivered.
    @once("transcode", "task_id", context)
    def transcode(*, item: dict[str, Any]) -> str | None:
        task = TranscodeTask.from_dict(item)
        try:
            status = transcode_part(
                task, catalogue, settings, remaining_ms=context.get_remaining_time_in_millis
            )
        except PermanentError as e:
            record_failure(catalogue, settings, task.asset_id, e.reason, e.message)
            # Nothing of a failed asset is served; parts still running take back their
            # own files when their completion write is refused.
            delete_outputs(task.asset_id, settings)
            return AssetStatus.FAILED.value
        return status.value if status else None

    def record_handler(record: SQSRecord) -> None:
        task = TranscodeTask.from_json(record.body)
        logger.thread_safe_append_keys(asset_id=task.asset_id)
        started = time.monotonic()
        try:
            status = transcode(item=asdict(task))
            record_step("Transcode", time.monotonic() - started, task.source.size)
            logger.info("transcoded", status=status)
        except Exception as e:
            record_and_raise(
                record,
                e,
                task.asset_id,
                settings.max_attempts,
                lambda a, r, m: record_failure(catalogue, settings, a, r, m),
            )

    return process_sqs_batch(event, context, record_handler)
