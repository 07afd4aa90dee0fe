"""Defensive readers for ffprobe's JSON. ffprobe prints what the file claims, and the file
is the attacker's: every field may be missing, null, of the wrong type, negative, NaN or
absurdly large. These return a clean value or None, never raise."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

_MAX_INT = 2**63 - 1


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def as_float(value: Any) -> float | None:
    """A finite, non-negative number from a JSON number or numeric string."""
    number = as_signed_float(value)
    return number if number is not None and number >= 0 else None


def as_int(value: Any) -> int | None:
    number = as_float(value)
    return int(number) if number is not None else None


def as_signed_float(value: Any) -> float | None:
    """A finite number (negative allowed: rotations are signed)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and abs(number) <= _MAX_INT else None


def as_rate(value: Any) -> float | None:
    """ffprobe frame rates are fractions like "30000/1001"; 0/0 means unknown."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        rate = Fraction(value)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    if rate <= 0 or rate > 100_000:
        return None
    return round(float(rate), 3)
