"""One exception hierarchy for the whole pipeline.

Permanent errors end an asset FAILED with a stable reason code and a sentence a person
can act on; they are never retried. Transient errors propagate so SQS redelivers the
message (and, after maxReceiveCount, parks it in the dead-letter queue).
"""

from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    """Stable failure codes, documented in the README. Never rename one."""

    UNSUPPORTED_FORMAT = "unsupported_format"
    CORRUPT = "corrupt"
    NO_STREAMS = "no_streams"
    TOO_LARGE = "too_large"
    TOO_LONG = "too_long"
    TOO_MANY_PIXELS = "too_many_pixels"
    EMPTY_FILE = "empty_file"
    UPLOAD_MISSING = "upload_missing"
    PROCESSING_ERROR = "processing_error"
    INVALID_REQUEST = "invalid_request"
    # Analysis steps only: they are recorded on the step, never fail the asset.
    ANALYSIS_FAILED = "analysis_failed"
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    # URL imports (POST /uploads/url): the source could not be fetched (the server
    # refused, failed or was unreachable), or the URL or a redirect leads somewhere an
    # import may not go (not http(s), not on the public internet).
    FETCH_FAILED = "fetch_failed"
    FETCH_REFUSED = "fetch_refused"
    # API only: an account-wide limit, not the request, stands in the way.
    QUOTA_EXCEEDED = "quota_exceeded"


class LumiereError(Exception):
    """Base of every error Lumiere raises on purpose."""


class PermanentError(LumiereError):
    """The input can never succeed: record FAILED, do not retry."""

    reason: ReasonCode = ReasonCode.PROCESSING_ERROR

    def __init__(self, message: str, *, reason: ReasonCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class UnsupportedMediaError(PermanentError):
    reason = ReasonCode.UNSUPPORTED_FORMAT


class CorruptInputError(PermanentError):
    reason = ReasonCode.CORRUPT


class NoStreamsError(PermanentError):
    reason = ReasonCode.NO_STREAMS


class LimitExceededError(PermanentError):
    """Size, duration or pixel limits; the reason code says which."""


class InvalidRequestError(PermanentError):
    """A client request the API refuses (HTTP 400)."""

    reason = ReasonCode.INVALID_REQUEST


class QuotaExceededError(PermanentError):
    """A limit of the deployment, not of the request (the CloudFront KeyValueStore of
    public assets is full): the API answers 409 until something is freed."""

    reason = ReasonCode.QUOTA_EXCEEDED


class AnalysisError(PermanentError):
    """An analysis step or backend cannot succeed on this input (a picture Rekognition
    cannot read, a language Transcribe does not know). Recorded as the analysis step's
    own failure: it never fails the asset's playback outputs."""

    reason = ReasonCode.ANALYSIS_FAILED


class TransientError(LumiereError):
    """Worth retrying: throttling, a timeout, a dependency briefly down."""


class RemoteSourceError(TransientError):
    """An import's source server failed in a way that may pass (a 503, a reset, a
    timeout). Retried; the last attempt records ``message`` (a sentence for the owner)
    as the asset's ``fetch_failed`` error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedEventError(LumiereError):
    """An event we cannot even parse. Left to fail so it lands in the DLQ for a human."""


class PartPending(LumiereError):
    """A part handed its work to an outside service (Amazon Transcribe); the service's
    completion event, not this invocation, records the part done."""


class StaleTransitionError(LumiereError):
    """A conditional status write lost: the asset already moved on (duplicate event)."""


class AssetNotFoundError(LumiereError):
    """No such asset (or not visible to the caller)."""


class ToolError(LumiereError):
    """ffmpeg or ffprobe failed. Carries what is needed to understand why."""

    def __init__(self, argv: list[str], returncode: int | None, stderr_tail: str) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        tool = argv[0].rsplit("/", 1)[-1] if argv else "tool"
        status = "timed out" if returncode is None else f"exited with {returncode}"
        super().__init__(f"{tool} {status}: {stderr_tail.strip()[-500:]}")
