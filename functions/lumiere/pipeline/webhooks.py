"""Signed webhooks, in the style of Stripe's: the receiver recomputes an HMAC-SHA256 over
``{timestamp}.{body}`` with the shared secret, compares in constant time, and refuses
stale timestamps, so a captured request cannot be replayed later."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

import urllib3

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Lumiere-Signature"
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5  # then 1 s; a webhook must not hold a worker long
CONNECT_SECONDS = 3.0
READ_SECONDS = 10.0
MIN_ATTEMPT_SECONDS = 0.2  # less left than this: not worth another attempt


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (and what the tests use)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def deliver_webhook(
    url: str, secret: str, payload: dict[str, Any], *, budget_seconds: float | None = None
) -> bool:
    """POST with retries on connection errors and 5xx; True once a 2xx is received.
    ``budget_seconds``: the most time all attempts may take together (an API request
    must answer inside API Gateway's 29 s); the attempts then stop early."""
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    event_id = str(uuid.uuid4())  # the same on every retry, so receivers can dedupe
    http = urllib3.PoolManager(retries=False)
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    for attempt in range(1, ATTEMPTS + 1):
        timeout = urllib3.Timeout(connect=CONNECT_SECONDS, read=READ_SECONDS)
        if deadline is not None:
            left = deadline - time.monotonic()
            if left < MIN_ATTEMPT_SECONDS:
                log.warning("webhook to %s: out of time after %s attempts", url, attempt - 1)
                return False
            timeout = urllib3.Timeout(
                connect=min(CONNECT_SECONDS, left), read=min(READ_SECONDS, left), total=left
            )
        headers = {
            "Content-Type": "application/json",
            "Lumiere-Event-Id": event_id,
            SIGNATURE_HEADER: sign(secret, int(time.time()), body),
        }
        try:
            status = http.request("POST", url, body=body, headers=headers, timeout=timeout).status
        except urllib3.exceptions.HTTPError as e:
            log.warning("webhook attempt %s to %s failed: %s", attempt, url, e)
        else:
            if 200 <= status < 300:
                return True
            log.warning("webhook attempt %s to %s answered %s", attempt, url, status)
            if status < 500 and status != 429:
                return False  # the receiver refuses it; retrying will not help
        if attempt < ATTEMPTS:
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    return False
