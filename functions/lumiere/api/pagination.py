"""Opaque, owner-bound cursors for GET /assets."""

from __future__ import annotations

import base64
import json
from typing import Any

from lumiere.errors import InvalidRequestError

MAX_LIMIT = 100
DEFAULT_LIMIT = 25


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if last_key is None:
        return None
    raw = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, owner: str) -> dict[str, Any] | None:
    """The key to continue after. A cursor names its owner: one made for someone else's
    listing is refused rather than used to page through their index."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except ValueError as e:
        raise InvalidRequestError("cursor is not one this API issued.") from e
    if not isinstance(key, dict) or set(key) != {"asset_id", "owner", "created_at"}:
        raise InvalidRequestError("cursor is not one this API issued.")
    if key["owner"] != owner:
        raise InvalidRequestError("cursor belongs to another listing.")
    return key


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequestError(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)
