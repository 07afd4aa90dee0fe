"""Lambda's SQS event-source mappings, played in this process.

Each function gets ``workers_per_function`` threads. A worker receives a batch from the function's
queue, invokes the handler with the event Lambda would deliver, deletes what succeeded and
leaves the rest to SQS, which (moto included) moves a message to the dead-letter queue
once it has been received maxReceiveCount times.

The one deliberate difference from Lambda: a failed message becomes visible again after
``retry_delay_seconds`` (default 1) instead of when the queue's VisibilityTimeout runs
out (12 minutes for a queue sized for a 2-minute function), so retries and redrive take
seconds locally.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import boto3
from botocore.exceptions import ClientError

from lumiere_dev.lambda_runtime import (
    Handler,
    LocalLambdaContext,
    failed_message_ids,
    import_handler,
    to_lambda_record,
)
from lumiere_dev.template import FunctionSpec, QueueSpec, SqsEventSpec, StackContext, StackSpec

__all__ = [
    "EventSourceMapping",
    "FunctionRunner",
    "LocalLambdaContext",
    "import_handler",
    "to_lambda_record",
]

log = logging.getLogger(__name__)


class EventSourceMapping:
    """One SQS event of one function: receive a batch, invoke, settle each message."""

    def __init__(
        self,
        function: FunctionSpec,
        event: SqsEventSpec,
        queue: QueueSpec,
        ctx: StackContext,
        *,
        retry_delay_seconds: int = 1,
        handler: Handler | None = None,
    ) -> None:
        self.function, self.event, self.queue, self.ctx = function, event, queue, ctx
        self.retry_delay_seconds = retry_delay_seconds
        self.handler = handler or import_handler(function.handler)

    def receive(self, sqs: Any, wait_seconds: int = 1) -> list[dict[str, Any]]:
        return list(
            sqs.receive_message(
                QueueUrl=self.queue.url,
                MaxNumberOfMessages=min(self.event.batch_size, 10),
                WaitTimeSeconds=wait_seconds,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        )

    def poll_once(self, sqs: Any, wait_seconds: int = 1) -> int:
        """Receive one batch and run it; the number of messages handled."""
        messages = self.receive(sqs, wait_seconds)
        if messages:
            self.invoke(sqs, messages)
        return len(messages)

    def invoke(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [to_lambda_record(m, self.queue, self.ctx.region) for m in messages]}
        context = LocalLambdaContext(
            function_name=self.function.name,
            memory_limit_in_mb=self.function.memory,
            timeout_seconds=self.function.timeout,
            region=self.ctx.region,
            account_id=self.ctx.account_id,
        )
        ids = {m["MessageId"] for m in messages}
        started = time.monotonic()
        try:
            result = self.handler(event, context)
            failed = failed_message_ids(result, ids, self.event.report_batch_item_failures)
        except Exception:
            log.exception("%s raised; its whole batch will be retried", self.function.logical_id)
            failed = ids
        if time.monotonic() - started > self.function.timeout:
            log.warning(
                "%s ran past its Timeout; Lambda would have stopped it", self.function.logical_id
            )
        for m in messages:
            self._settle(sqs, m, retry=m["MessageId"] in failed)

    def _settle(self, sqs: Any, message: dict[str, Any], *, retry: bool) -> None:
        try:
            if retry:  # see the module docstring: Lambda would wait out VisibilityTimeout
                sqs.change_message_visibility(
                    QueueUrl=self.queue.url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self.retry_delay_seconds,
                )
            else:
                sqs.delete_message(QueueUrl=self.queue.url, ReceiptHandle=message["ReceiptHandle"])
        except ClientError as e:
            # The receipt handle outlived the visibility timeout: SQS redelivers, as it would.
            log.warning("could not settle message %s: %s", message["MessageId"], e)


class FunctionRunner:
    """All event-source mappings of a stack, with ``workers_per_function`` concurrent
    invocations per function at most (Lambda's reserved concurrency, in effect)."""

    def __init__(
        self,
        spec: StackSpec,
        *,
        session: boto3.session.Session,
        workers_per_function: int = 2,
        retry_delay_seconds: int = 1,
    ) -> None:
        self.spec, self.session = spec, session
        self.workers_per_function = workers_per_function
        self.mappings: dict[str, list[EventSourceMapping]] = {
            fn.logical_id: [
                EventSourceMapping(
                    fn,
                    event,
                    spec.queues[event.queue_logical_id],
                    spec.context,
                    retry_delay_seconds=retry_delay_seconds,
                )
                for event in fn.sqs_events
            ]
            for fn in spec.functions.values()
            if fn.sqs_events
        }
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def queue_urls(self) -> list[str]:
        return sorted({m.queue.url for ms in self.mappings.values() for m in ms})

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def start(self) -> None:
        self._stop.clear()
        for function_id, mappings in self.mappings.items():
            for i in range(self.workers_per_function):
                # Made here: clients are thread-safe, but creating them from one session
                # in several threads at once is not.
                sqs = self._sqs()
                t = threading.Thread(
                    target=self._work, args=(mappings, sqs), name=f"{function_id}-{i}", daemon=True
                )
                t.start()
                self._threads.append(t)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop polling and wait for running invocations (up to ``timeout`` in total)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    def _sqs(self) -> Any:
        return self.session.client("sqs", endpoint_url=self.spec.context.endpoint_url)

    def _work(self, mappings: list[EventSourceMapping], sqs: Any) -> None:
        while not self._stop.is_set():
            for mapping in mappings:
                try:
                    self._poll(mapping, sqs)
                except Exception:  # a poller that dies would silently stop a function
                    log.exception("poller of %s failed; retrying", mapping.function.logical_id)
                    self._stop.wait(1)

    def _poll(self, mapping: EventSourceMapping, sqs: Any) -> None:
        messages = mapping.receive(sqs)
        if not messages:
            return
        # From receive until here the batch counts as NotVisible in the queue itself.
        with self._lock:
            self._in_flight += 1
        try:
            mapping.invoke(sqs, messages)
        finally:
            with self._lock:
                self._in_flight -= 1

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Block until every polled queue is empty (nothing visible, in flight or delayed)
        and no handler runs; TimeoutError otherwise. Quiet must hold for a few checks in
        a row, as a handler may be between sending its next message and returning."""
        sqs = self._sqs()
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        deadline, quiet = time.monotonic() + timeout, 0
        while quiet < 3:
            if time.monotonic() > deadline:
                raise TimeoutError(f"functions still busy after {timeout} s")
            pending = sum(
                int(v)
                for url in self.queue_urls
                for v in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)[
                    "Attributes"
                ].values()
            )
            quiet = quiet + 1 if pending == 0 and self.in_flight == 0 else 0
            time.sleep(0.1)
