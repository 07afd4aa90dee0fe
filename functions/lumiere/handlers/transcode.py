"""TranscodeFunction: one part of an asset (rungs, audio, previews or image variants); the
last part done publishes the manifests and marks the asset READY."""

from __future__ import annotations

from typing import Any

from lumiere.handlers.parts import handle_parts
from lumiere.observability import instrumented


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_parts(event, context, step="Transcode")
