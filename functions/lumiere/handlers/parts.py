"""The SQS mechanics shared by the functions that run an asset's parts: TranscodeFunction
(rungs, audio, previews, image variants) and AnalysisFunction (faces, audio facts,
captions). Both complete their part the same way; the last part done runs the fan-in."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lumiere.errors import PermanentError
from lumiere.handlers import runtime
from lumiere.handlers.batch import is_last_attempt, process_sqs_batch, record_and_raise
from lumiere.handlers.idempotency import once
from lumiere.observability import logger, record_step
from lumiere.pipeline.deletion import delete_outputs
from lumiere.pipeline.models import TranscodeTask
from lumiere.pipeline.outcomes import record_failure
from lumiere.pipeline.parts import Producer
from lumiere.pipeline.status import AssetStatus
from lumiere.pipeline.transcode import transcode_part

# A part whose failure must not fail the asset: its output when it gives up (given the
# number of attempts made).
GiveUp = Callable[[int], dict[str, Any]]


# An EventBridge event routed to the queue (e.g. Transcribe's job state change): handled
# instead of a part task, under an idempotency key of its own.
EventHandler = Callable[[dict[str, Any]], str | None]


def handle_parts(
    event: dict[str, Any],
    context: Any,
    *,
    step: str,
    give_up: GiveUp | None = None,
    on_event: EventHandler | None = None,
) -> dict[str, Any]:
    """Run each record's part. Without ``give_up`` a permanent error fails the asset (and
    takes its outputs down); with it, the part is completed with ``give_up``'s output, on
    a permanent error or on the queue's last delivery, so the asset still finishes.
    ``on_event`` takes the EventBridge events that share the queue."""
    settings, catalogue = runtime.settings(), runtime.catalogue()

    def fallback(attempts: int) -> Producer:
        assert give_up is not None
        return lambda _job, _published: give_up(attempts)

    # A task (deterministic id per asset and part) runs once, however often delivered.
    @once(step.lower(), "task_id", context)
    def run(*, item: dict[str, Any]) -> str | None:
        task = TranscodeTask.from_dict(item["task"])
        produce = fallback(settings.max_attempts) if item["last_attempt"] and give_up else None
        remaining = context.get_remaining_time_in_millis
        try:
            status = transcode_part(task, catalogue, settings, remaining, produce=produce)
        except PermanentError as e:
            if give_up is not None:
                logger.warning("part gave up", reason=str(e.reason), detail=e.message)
                status = transcode_part(task, catalogue, settings, remaining, produce=fallback(1))
                return status.value if status else None
            record_failure(catalogue, settings, task.asset_id, e.reason, e.message)
            # Nothing of a failed asset is served; parts still running take back their
            # own files when their completion write is refused.
            delete_outputs(task.asset_id, settings)
            return AssetStatus.FAILED.value
        return status.value if status else None

    @once(f"{step.lower()}-event", "id", context)
    def run_event(*, item: dict[str, Any]) -> str | None:
        assert on_event is not None
        return on_event(item)

    def record_handler(record: SQSRecord) -> None:
        if on_event is not None:
            routed = _eventbridge_event(record.body)
            if routed is not None:
                status = run_event(item=routed)
                logger.info(
                    "event handled", step=step, detail_type=routed["detail-type"], status=status
                )
                return
        task = TranscodeTask.from_json(record.body)
        logger.thread_safe_append_keys(asset_id=task.asset_id)
        started = time.monotonic()
        last = give_up is not None and is_last_attempt(record, settings.max_attempts)
        try:
            status = run(item={"task_id": task.task_id, "task": asdict(task), "last_attempt": last})
            record_step(step, time.monotonic() - started, task.source.size)
            logger.info("part done", step=step, part=task.part, status=status)
        except Exception as e:
            record_and_raise(
                record,
                e,
                task.asset_id,
                settings.max_attempts,
                lambda a, r, m: record_failure(catalogue, settings, a, r, m),
            )

    return process_sqs_batch(event, context, record_handler)


def _eventbridge_event(body: str) -> dict[str, Any] | None:
    """The EventBridge event a queue message carries (EventBridge sends the event itself
    as the body), or None for anything else."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict) and "detail-type" in data and "id" in data:
        return data
    return None
