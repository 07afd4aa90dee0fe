"""SQS batch mechanics shared by the queue-driven functions.

Powertools reports failed records so SQS redelivers only those. On a record's last
delivery (``ApproximateReceiveCount`` reaching the queue's maxReceiveCount) the failure is
also recorded on the asset: it ends FAILED with a reason instead of sitting half-done,
and the message still goes on to the dead-letter queue, where a person can inspect it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lumiere.errors import MalformedEventError, ReasonCode
from lumiere.observability import MetricUnit, add_metric, logger

# (asset_id, reason, message) -> None
FailureRecorder = Callable[[str, ReasonCode, str], None]


def process_sqs_batch(
    event: dict[str, Any], context: Any, record_handler: Callable[[SQSRecord], Any]
) -> dict[str, Any]:
    # A processor per call: it holds per-batch state, and the local runner invokes
    # handlers from several threads at once.
    # Report a wholly failed batch item by item too, rather than raising: SQS then
    # retries exactly the same records either way, and the response says which.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    add_metric("RecordsReceived", MetricUnit.Count, len(event.get("Records", [])))
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )


def is_last_attempt(record: SQSRecord, max_attempts: int) -> bool:
    return int(record.attributes.approximate_receive_count or "1") >= max_attempts


def record_and_raise(
    record: SQSRecord,
    error: Exception,
    asset_id: str | None,
    max_attempts: int,
    record_failure: FailureRecorder,
) -> None:
    """Called with the error of a failed record. Always re-raises, so SQS retries it and
    finally moves it to the DLQ; on the last attempt the asset is marked FAILED first."""
    add_metric("RecordsFailed", MetricUnit.Count, 1)
    if isinstance(error, MalformedEventError) or asset_id is None:
        raise error  # nothing to mark
    if not is_last_attempt(record, max_attempts):
        # Logged with its traceback: a retry that succeeds later still leaves a trace.
        logger.warning("attempt failed; SQS will retry", exc_info=error, asset_id=asset_id)
        raise error
    logger.exception("giving up on asset after %s attempts", max_attempts, asset_id=asset_id)
    record_failure(
        asset_id,
        ReasonCode.PROCESSING_ERROR,
        f"Processing failed {max_attempts} times and was stopped ({type(error).__name__}). "
        "This is on our side, not your file's: try uploading again later, and contact "
        "support with the asset id if it persists.",
    )
    raise error
