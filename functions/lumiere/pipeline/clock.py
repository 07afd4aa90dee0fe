from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> str:
    """ISO 8601 with milliseconds and a Z: sortable as a string, readable by JavaScript."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
