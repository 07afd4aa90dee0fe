"""Who is calling. The auth issue puts a Cognito authorizer in front of the API; its
claims arrive in the request context. Without one (the local stack, for now) every
caller is the same anonymous owner."""

from __future__ import annotations

from typing import Any

ANONYMOUS = "anonymous"


def caller_id(request_context: dict[str, Any] | None) -> str:
    claims = ((request_context or {}).get("authorizer") or {}).get("claims") or {}
    sub = claims.get("sub")
    return str(sub) if sub else ANONYMOUS
