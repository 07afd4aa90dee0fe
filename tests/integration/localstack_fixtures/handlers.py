"""A handler that records what it was given and fails on request (by message body):
"raise" always raises, "fail-once" is reported failed on its first delivery only."""

from __future__ import annotations

import threading
from typing import Any

SEEN: list[dict[str, Any]] = []
CONTEXTS: list[Any] = []
_lock = threading.Lock()


def record(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    with _lock:
        CONTEXTS.append(context)
        for r in event["Records"]:
            SEEN.append(r)
            if r["body"] == "raise":
                raise RuntimeError("asked to raise")
            if r["body"] == "fail-once" and r["attributes"]["ApproximateReceiveCount"] == "1":
                failures.append({"itemIdentifier": r["messageId"]})
    return {"batchItemFailures": failures}
