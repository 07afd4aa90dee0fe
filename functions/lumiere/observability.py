"""Logger, metrics and tracer, shared by every function.

Library modules log through ``logging.getLogger(__name__)``: their loggers are children
of the Powertools logger named "lumiere", so their lines come out as the same JSON with
the same keys (the asset id among them). Metrics are CloudWatch EMF lines, one set per
invocation flushed when it ends; the tracer is X-Ray (off outside Lambda).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

SERVICE = "lumiere"
NAMESPACE = "Lumiere"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
# The running invocation's metrics. Powertools' Metrics keeps one set per process, which
# the local runner's threads (several functions at once) would share: one function's
# counts flushed on another's line, or flushed twice.
_invocation_metrics: ContextVar[EphemeralMetrics | None] = ContextVar(
    "lumiere_metrics", default=None
)

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
    same. Keys a handler adds (the asset id) go when the invocation ends. Its metrics
    (``add_metric``) are its own too, flushed as one EMF line when it ends.
    """
    traced = tracer.capture_lambda_handler(handler)

    @functools.wraps(handler)
    def invoke(event: Any, context: Any) -> Any:
        cold_start = not _warm.is_set()
        _warm.set()
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(
            cold_start=cold_start, **build_lambda_context_model(context).__dict__
        )
        metric_set = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
        token = _invocation_metrics.set(metric_set)
        try:
            return traced(event, context)
        finally:
            _invocation_metrics.reset(token)
            if metric_set.metric_set:  # an invocation that counted nothing prints nothing
                metric_set.flush_metrics()
            logger.thread_safe_clear_keys()

    return invoke  # type: ignore[return-value]


def add_metric(name: str, unit: MetricUnit, value: float) -> None:
    """Count or time something in the running invocation. Outside one (a script, a
    test calling library code) nothing would flush it: it is dropped."""
    metric_set = _invocation_metrics.get()
    if metric_set is not None:
        metric_set.add_metric(name=name, unit=unit, value=value)


def count_outcome(status: str, reason: str | None = None) -> None:
    """Assets finished, by status and (for failures) by reason code: a line of its own,
    as its dimensions are not the invocation's."""
    outcome = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    outcome.add_dimension(name="status", value=status)
    if reason:
        outcome.add_dimension(name="reason", value=reason)
    outcome.add_metric(name="AssetsFinished", unit=MetricUnit.Count, value=1)
    outcome.flush_metrics()


def record_step(step: str, seconds: float, source_bytes: int | None = None) -> None:
    add_metric(f"{step}Duration", MetricUnit.Milliseconds, seconds * 1000)
    if source_bytes is not None:
        add_metric(f"{step}Bytes", MetricUnit.Bytes, source_bytes)
