"""Lambda's SQS event-source mapping, played locally.

Each mapping polls its queue, hands the batch to the handler in this process with the
event shape Lambda delivers, deletes what succeeded and leaves the rest to SQS: moto moves
a message to the dead-letter queue once its receive count passes maxReceiveCount, exactly
as SQS does.

One deliberate difference from Lambda: a message that failed becomes visible again after
``retry_delay_seconds`` (default 1) instead of the queue's visibility timeout (12 minutes
for ingest), so retries and redrive take seconds locally.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from lumiere_dev.template import FunctionSpec, QueueSpec, SqsEventSpec, StackContext

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]


def import_handler(dotted: str) -> Handler:
    module, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


@dataclass
class LocalLambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    region: str
    account_id: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def to_lambda_record(message: dict[str, Any], queue: QueueSpec, region: str) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            k: attributes[k]
            for k in (
                "ApproximateReceiveCount",
                "SentTimestamp",
                "SenderId",
                "ApproximateFirstReceiveTimestamp",
            )
            if k in attributes
        },
        "messageAttributes": {
            name: {
                "stringValue": a.get("StringValue"),
                "binaryValue": a.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": a["DataType"],
            }
            for name, a in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": region,
    }


def failed_ids(result: Any, report_failures: bool) -> set[str] | None:
    """Message ids to keep. None: the whole batch failed."""
    if not report_failures or not isinstance(result, dict):
        return set()
    return {f["itemIdentifier"] for f in result.get("batchItemFailures") or []}


class EventSourceMapping:
    def __init__(
        self,
        function: FunctionSpec,
        event: SqsEventSpec,
        queue: QueueSpec,
        ctx: StackContext,
        *,
        workers: int = 2,
        retry_delay_seconds: int = 1,
    ) -> None:
        self.function, self.event, self.queue, self.ctx = function, event, queue, ctx
        self.workers = workers
        self.retry_delay_seconds = retry_delay_seconds
        self.handler = import_handler(function.handler)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._busy > 0

    def start(self) -> None:
        for i in range(self.workers):
            t = threading.Thread(
                target=self._loop, name=f"{self.function.logical_id}-{i}", daemon=True
            )
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def _loop(self) -> None:
        sqs = boto3.session.Session().client(
            "sqs", endpoint_url=self.ctx.endpoint_url, region_name=self.ctx.region
        )
        while not self._stop.is_set():
            try:
                self.poll_once(sqs)
            except Exception:
                log.exception("poller for %s failed; retrying", self.function.logical_id)
                self._stop.wait(1)

    def poll_once(self, sqs: Any) -> int:
        messages = sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=min(self.event.batch_size, 10),
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if messages:
            # Between receive and here the messages count as in flight in SQS itself.
            with self._lock:
                self._busy += 1
            try:
                self._invoke(sqs, messages)
            finally:
                with self._lock:
                    self._busy -= 1
        return len(messages)

    def _invoke(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [to_lambda_record(m, self.queue, self.ctx.region) for m in messages]}
        context = LocalLambdaContext(
            function_name=self.function.logical_id,
            memory_limit_in_mb=self.function.memory,
            timeout_seconds=self.function.timeout,
            region=self.ctx.region,
            account_id=self.ctx.account_id,
        )
        try:
            keep = failed_ids(self.handler(event, context), self.event.report_batch_item_failures)
        except Exception:
            log.exception("%s raised; the whole batch will be retried", self.function.logical_id)
            keep = None
        for m in messages:
            if keep is None or m["MessageId"] in keep:
                sqs.change_message_visibility(
                    QueueUrl=self.queue.url,
                    ReceiptHandle=m["ReceiptHandle"],
                    VisibilityTimeout=self.retry_delay_seconds,
                )
            else:
                sqs.delete_message(QueueUrl=self.queue.url, ReceiptHandle=m["ReceiptHandle"])
