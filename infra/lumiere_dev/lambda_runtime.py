"""What Lambda hands a Python handler for an SQS event source, and how it reads the reply:
the event records, the context object, and the partial-batch response."""

from __future__ import annotations

import base64
import importlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lumiere_dev.template import QueueSpec

Handler = Callable[[dict[str, Any], Any], Any]

# The system attributes Lambda copies into a record, when SQS reports them.
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
)


def import_handler(dotted: str) -> Handler:
    """The object a template's ``Handler: package.module.attr`` names."""
    module, _, attr = dotted.rpartition(".")
    if not module:
        raise ValueError(f"handler {dotted!r} is not of the form module.attr")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


@dataclass
class LocalLambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read.

    The deadline is only reported: a thread cannot be stopped from outside, so a handler
    that overruns its Timeout finishes locally where Lambda would have killed it.
    """

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    region: str
    account_id: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
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
        return f"{time.strftime('%Y/%m/%d')}/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _message_attribute(a: dict[str, Any]) -> dict[str, Any]:
    # Lambda's spelling: camelCase, binary as base64 text, empty list fields present.
    value: dict[str, Any] = {}
    if "StringValue" in a:
        value["stringValue"] = a["StringValue"]
    if "BinaryValue" in a:
        value["binaryValue"] = base64.b64encode(a["BinaryValue"]).decode("ascii")
    return {**value, "stringListValues": [], "binaryListValues": [], "dataType": a["DataType"]}


def to_lambda_record(message: dict[str, Any], queue: QueueSpec, region: str) -> dict[str, Any]:
    """One ReceiveMessage message as a record of the event Lambda delivers."""
    attributes = message.get("Attributes") or {}
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: attributes[k] for k in _RECORD_ATTRIBUTES if k in attributes},
        "messageAttributes": {
            name: _message_attribute(a)
            for name, a in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": region,
    }


def failed_message_ids(result: Any, batch_ids: set[str], report_failures: bool) -> set[str]:
    """The messages of a batch that must not be deleted, judged by the handler's reply.

    As Lambda: without ReportBatchItemFailures any return is success; with it, an empty
    or absent list is success, and an item identifier that is empty or names no message of
    the batch fails the whole batch.
    """
    if not report_failures or not result:
        return set()
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if not failures:
        return set()
    ids = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
    if not ids <= batch_ids:
        return set(batch_ids)
    return {str(i) for i in ids}
