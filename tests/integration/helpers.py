"""Deliver queue messages to handlers the way Lambda does, for tests that drive steps."""

from __future__ import annotations

from typing import Any

from lumiere_dev.runner import LocalLambdaContext, import_handler, to_lambda_record
from lumiere_dev.stack import LocalStack


def receive(stack: LocalStack, queue_id: str, *, wait: int = 2) -> list[dict[str, Any]]:
    queue = stack.spec.queues[queue_id]
    return (
        stack.client("sqs")
        .receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        .get("Messages", [])
    )


def deliver(stack: LocalStack, function_id: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Invoke a function with these messages as one SQS batch; returns its response."""
    fn = stack.spec.functions[function_id]
    queue = stack.spec.queues[fn.sqs_events[0].queue_id]
    event = {"Records": [to_lambda_record(m, queue, stack.spec.context.region) for m in messages]}
    context = LocalLambdaContext(
        function_name=function_id,
        memory_limit_in_mb=fn.memory,
        timeout_seconds=fn.timeout,
        region=stack.spec.context.region,
        account_id=stack.spec.context.account_id,
    )
    return dict(import_handler(fn.handler)(event, context))


def drain(stack: LocalStack, queue_id: str) -> None:
    """Delete whatever an earlier test left (PurgeQueue is limited to once a minute)."""
    sqs = stack.client("sqs")
    url = stack.spec.queues[queue_id].url
    while messages := receive(stack, queue_id, wait=0):
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
