"""AnalysisFunction: the analysis part of an asset (faces, moderation, audio facts,
captions), and Amazon Transcribe's completion events for the captions it hands over.
Its failures are recorded on the part and never fail the asset; if it was the last part
done, it publishes the manifests (with the captions) and marks the asset READY."""

from __future__ import annotations

from typing import Any

from lumiere.handlers import runtime
from lumiere.handlers.parts import handle_parts
from lumiere.observability import instrumented
from lumiere.pipeline.parts.analysis import give_up_analysis, resume_captions


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_parts(
        event, context, step="Analysis", give_up=give_up_analysis, on_event=transcribe_done
    )


def transcribe_done(event: dict[str, Any]) -> str | None:
    """Amazon Transcribe's "Transcribe Job State Change": the captions can be finished."""
    from lumiere.cloud.transcribe import parse_job_state_change

    job_name, status = parse_job_state_change(event)
    done = resume_captions(job_name, status, runtime.catalogue(), runtime.settings())
    return done.value if done else None
