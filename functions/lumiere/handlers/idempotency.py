"""Powertools idempotency for the steps with side effects outside S3.

The conditional status writes already stop a duplicate event from redoing finished work;
this adds the in-flight half: while one invocation works on an object or a task, a
duplicate delivered in parallel fails fast (and is retried later) instead of probing or
encoding the same thing a second time, and once the step completed a duplicate gets the
stored result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

from lumiere.handlers import runtime

T = TypeVar("T")

# How long a completed step is remembered: longer than any redelivery (SQS keeps a
# message at most 14 days, but redeliveries come within the visibility timeouts).
REMEMBER_SECONDS = 24 * 3600


def once(
    step: str, key_expression: str, context: Any
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate ``fn(*, item: dict)`` so each distinct key runs once.

    ``key_expression`` is a JMESPath over ``item``. The Lambda context lets an
    in-progress record expire when the invocation that took it has timed out.
    """
    config = IdempotencyConfig(
        event_key_jmespath=key_expression,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=REMEMBER_SECONDS,
    )
    config.register_lambda_context(context)

    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        return idempotent_function(  # type: ignore[no-any-return]
            fn,
            data_keyword_argument="item",
            persistence_store=runtime.idempotency_store(step),
            config=config,
            key_prefix=f"lumiere.{step}",
        )

    return wrap
