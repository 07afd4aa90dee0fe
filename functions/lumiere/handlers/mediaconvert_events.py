"""MediaConvertEventsFunction: EventBridge "MediaConvert Job State Change" events for the
jobs this deployment submitted (the rule matches their userMetadata) -> the asset's
progress, then READY or FAILED.

EventBridge invokes it asynchronously: an exception is retried by Lambda and then goes to
the function's dead-letter queue, so a transient DynamoDB error does not lose a COMPLETE.
"""

from __future__ import annotations

from typing import Any

from lumiere.handlers import runtime
from lumiere.mediaconvert.job_events import parse_job_event
from lumiere.observability import MetricUnit, add_metric, instrumented, logger
from lumiere.pipeline.mediaconvert import handle_job_event


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job = parse_job_event(event)
    logger.thread_safe_append_keys(asset_id=job.asset_id, job_id=job.job_id)
    outcome = handle_job_event(job, runtime.catalogue(), runtime.settings())
    add_metric("MediaConvertEvents", MetricUnit.Count, 1)
    logger.info("job state change", status=job.status, outcome=outcome)
    return {"asset_id": job.asset_id, "job_id": job.job_id, "outcome": outcome.value}
