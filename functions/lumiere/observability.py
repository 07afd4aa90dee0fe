"""Logger, metrics and tracer, shared by every function.

Library modules log through ``logging.getLogger(__name__)``: their loggers are children
of the Powertools logger named "lumiere", so their lines come out as the same JSON with
the same keys (the asset id among them). Metrics are CloudWatch EMF lines, flushed by
each handler; the tracer is X-Ray (off outside Lambda).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = "lumiere"
NAMESPACE = "Lumiere"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)

Handler = TypeVar("Handler", bound=Callable[..., Any])
_warm = threading.Event()


def instrumented(handler: Handler) -> Handler:
    """A Lambda handler with its context on every log line, its metrics flushed as EMF
    and an X-Ray segment.

    The context keys (function name, request id, cold start) are the invocation's own
    (Powertools' thread-safe keys, a ContextVar), not the formatter's shared ones that
    ``inject_lambda_context`` sets: the local runner runs several functions' handlers in
    threads of one process, where those would put one invocation's function name and
    request id on another's lines. In Lambda, one invocation per process, both read the
    same. Keys a handler adds (the asset id) go when the invocation ends.
    """
    traced = metrics.log_metrics(tracer.capture_lambda_handler(handler))

    @functools.wraps(handler)
    def invoke(event: Any, context: Any) -> Any:
        cold_start = not _warm.is_set()
        _warm.set()
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(
            cold_start=cold_start, **build_lambda_context_model(context).__dict__
        )
        try:
            return traced(event, context)
        finally:
            logger.thread_safe_clear_keys()

    return invoke  # type: ignore[return-value]


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
