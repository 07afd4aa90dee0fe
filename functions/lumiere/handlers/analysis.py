"""AnalysisFunction: the analysis part of an asset (faces, audio facts, captions). Its
failures are recorded on the part and never fail the asset; if it was the last part
done, it publishes the manifests (with the captions) and marks the asset READY."""

from __future__ import annotations

from typing import Any

from lumiere.handlers.parts import handle_parts
from lumiere.observability import logger, metrics, tracer
from lumiere.pipeline.parts.analysis import give_up_analysis


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_parts(event, context, step="Analysis", give_up=give_up_analysis)
