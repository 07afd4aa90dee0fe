"""Logger, metrics and tracer, shared by every function.

Library modules log through ``logging.getLogger(__name__)``: their loggers are children
of the Powertools logger named "lumiere", so their lines come out as the same JSON with
the same keys (the asset id among them). Metrics are CloudWatch EMF lines, flushed by
each handler; the tracer is X-Ray (off outside Lambda).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = "lumiere"
NAMESPACE = "Lumiere"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)


def count_outcome(status: str, reason: str | None = None) -> None:
    """Assets finished, by status and (for failures) by reason code."""
    with single_metric(
        name="AssetsFinished", unit=MetricUnit.Count, value=1, namespace=NAMESPACE
    ) as metric:
        metric.add_dimension(name="status", value=status)
        if reason:
            metric.add_dimension(name="reason", value=reason)


def record_step(step: str, seconds: float, source_bytes: int | None = None) -> None:
    metrics.add_metric(name=f"{step}Duration", unit=MetricUnit.Milliseconds, value=seconds * 1000)
    if source_bytes is not None:
        metrics.add_metric(name=f"{step}Bytes", unit=MetricUnit.Bytes, value=source_bytes)
