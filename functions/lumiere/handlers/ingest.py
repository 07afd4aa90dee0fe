"""IngestFunction: S3 ObjectCreated notifications (through SQS) -> probe -> plan."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lumiere.errors import MalformedEventError
from lumiere.handlers import runtime
from lumiere.handlers.batch import process_sqs_batch, record_and_raise
from lumiere.handlers.idempotency import once
from lumiere.media.tools import timeout_from_remaining
from lumiere.observability import instrumented, logger, record_step
from lumiere.pipeline.ingest import ingest_object
from lumiere.pipeline.keys import parse_upload_key
from lumiere.pipeline.models import SourceObject
from lumiere.pipeline.outcomes import record_failure


def s3_objects(body: str) -> list[SourceObject]:
    """The objects an S3 notification names, keys decoded. Test events name none."""
    try:
        message = json.loads(body)
    except json.JSONDecodeError as e:
        raise MalformedEventError("SQS body is not JSON") from e
    if not isinstance(message, dict):
        raise MalformedEventError("SQS body is not an S3 notification")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise MalformedEventError("SQS body is not an S3 notification")
    objects = []
    for r in records:
        try:
            if not str(r["eventName"]).startswith("ObjectCreated:"):
                continue
            obj = r["s3"]["object"]
            key = parse_upload_key(obj["key"], url_encoded=True)
            objects.append(
                SourceObject(
                    bucket=r["s3"]["bucket"]["name"],
                    key=key.key if key else obj["key"],
                    size=int(obj.get("size", 0)),
                    etag=obj.get("eTag"),
                )
            )
        except (KeyError, TypeError, ValueError) as e:
            raise MalformedEventError(f"S3 record lacks {e}") from e
    return objects


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings, catalogue = runtime.settings(), runtime.catalogue()

    # One object (bucket, key, ETag) is ingested once, however often S3 announces it.
    @once("ingest", "[bucket, key, etag]", context)
    def ingest(*, item: dict[str, Any]) -> str:
        timeout = timeout_from_remaining(
            context.get_remaining_time_in_millis(), settings.tool_timeout_margin_seconds
        )
        source = SourceObject(**item)
        return ingest_object(source, catalogue, settings, probe_timeout=timeout).value

    def record_handler(record: SQSRecord) -> None:
        for source in s3_objects(record.body):
            upload = parse_upload_key(source.key, url_encoded=False)
            # Every line logged while handling this object carries its asset id.
            logger.thread_safe_append_keys(asset_id=upload.asset_id if upload else None)
            started = time.monotonic()
            try:
                outcome = ingest(item=asdict(source))
                record_step("Ingest", time.monotonic() - started, source.size)
                logger.info("ingested", key=source.key, outcome=outcome)
            except Exception as e:
                record_and_raise(
                    record,
                    e,
                    upload.asset_id if upload else None,
                    settings.max_attempts,
                    lambda a, r, m: record_failure(catalogue, settings, a, r, m),
                )

    return process_sqs_batch(event, context, record_handler)
