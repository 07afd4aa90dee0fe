"""ImportFunction: import tasks (SQS) -> the file fetched from its URL into the upload
key, where the upload's S3 event takes over (pipeline/url_import.py)."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lumiere.errors import ReasonCode, RemoteSourceError
from lumiere.handlers import runtime
from lumiere.handlers.batch import is_last_attempt, process_sqs_batch, record_and_raise
from lumiere.handlers.idempotency import once
from lumiere.observability import instrumented, logger, record_step
from lumiere.pipeline.models import ImportTask
from lumiere.pipeline.outcomes import record_failure
from lumiere.pipeline.url_import import import_source


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings, catalogue = runtime.settings(), runtime.catalogue()

    # One fetch per asset at a time; a duplicate delivered meanwhile waits its turn.
    @once("import", "asset_id", context)
    def fetch(*, item: dict[str, Any]) -> str:
        seconds_left = (
            context.get_remaining_time_in_millis() / 1000 - settings.tool_timeout_margin_seconds
        )
        return import_source(
            ImportTask(**item), catalogue, settings, seconds_left=seconds_left
        ).value

    def record_handler(record: SQSRecord) -> None:
        task = ImportTask.from_json(record.body)
        logger.thread_safe_append_keys(asset_id=task.asset_id)
        started = time.monotonic()
        try:
            outcome = fetch(item=asdict(task))
        except RemoteSourceError as e:
            if not is_last_attempt(record, settings.max_attempts):
                logger.warning("import failed; SQS will retry", exc_info=e)
                raise
            # The source's server, not Lumiere, failed: the owner gets its words and
            # the message is done (nothing for a person to inspect in the DLQ).
            record_failure(catalogue, settings, task.asset_id, ReasonCode.FETCH_FAILED, e.message)
            return
        except Exception as e:
            record_and_raise(
                record,
                e,
                task.asset_id,
                settings.max_attempts,
                lambda a, r, m: record_failure(catalogue, settings, a, r, m),
            )
        record_step("Import", time.monotonic() - started)
        logger.info("import finished", outcome=outcome)

    return process_sqs_batch(event, context, record_handler)
