"""Who is calling. API Gateway's Cognito authorizer (template.yaml, Globals.Api.Auth)
verifies the ID token and puts its claims in the request context; the local stack's
API server does the same with its development user pool. The `sub` claim, stable for
the life of a user, owns their assets."""

from __future__ import annotations

from typing import Any

from chalice import UnauthorizedError


def caller_id(request_context: dict[str, Any] | None) -> str:
    """The caller's `sub`. No claims means no authorizer ran: refuse rather than serve
    everyone as one shared user (fail closed if the authorizer is ever removed)."""
    claims = ((request_context or {}).get("authorizer") or {}).get("claims") or {}
    sub = claims.get("sub")
    if not sub:
        raise UnauthorizedError("Sign in: send a Cognito ID token in Authorization.")
    return str(sub)
