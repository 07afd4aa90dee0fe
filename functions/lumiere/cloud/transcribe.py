"""Amazon Transcribe (batch): captions for an asset's speech, asynchronously.

The analysis step starts a job named after the asset and language (so a redelivered
message finds the job it already started instead of paying twice), Transcribe writes its
JSON to our bucket at a key we choose, and its "Transcribe Job State Change" event on
EventBridge says when. The words come back as the same ``Word`` lists the offline engine
gives, so cues and WebVTT are shared (``analysis.captions``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError

from lumiere.analysis.captions import parse_transcribe_json
from lumiere.analysis.models import Word
from lumiere.cloud import clients
from lumiere.cloud.rekognition import S3Image
from lumiere.cloud.storage import read_object
from lumiere.errors import AnalysisError, MalformedEventError, TransientError

JOB_NAME_MAX = 200  # TranscriptionJobName: 1..200 of [0-9a-zA-Z._-]
JOB_NAME_PREFIX = "lumiere-"
_UNSAFE = re.compile(r"[^0-9A-Za-z._-]")
STATUSES = ("QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED")
FINAL_STATUSES = ("COMPLETED", "FAILED")
EVENT_SOURCE = "aws.transcribe"
EVENT_DETAIL_TYPE = "Transcribe Job State Change"
TRANSIENT_CODES = frozenset(
    {"LimitExceededException", "InternalFailureException", "ThrottlingException"}
)


def transcription_job_name(asset_id: str, language: str) -> str:
    """``lumiere-{asset_id}-{language}``: the same inputs always give the same name,
    so starting a job twice is detected (ConflictException) rather than paid twice.
    Characters Transcribe refuses become "_", and then (or when the name would pass
    200 characters) a digest of the inputs is appended, so two inputs that clean up
    alike ("en GB", "en_GB") still get different names."""
    raw = f"{JOB_NAME_PREFIX}{asset_id}-{language}"
    safe = _UNSAFE.sub("_", raw)
    if safe == raw and len(raw) <= JOB_NAME_MAX:
        return raw
    digest = hashlib.sha256(f"{asset_id}\0{language}".encode()).hexdigest()[:16]
    return f"{safe[: JOB_NAME_MAX - len(digest) - 1]}-{digest}"


def _client_error(e: ClientError, what: str) -> Exception:
    error = e.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in TRANSIENT_CODES or status >= 500:
        return TransientError(f"Transcribe {what} is unavailable ({code})")
    message = str(error.get("Message", "")).strip().rstrip(".")
    if code == "AccessDeniedException":
        return AnalysisError(
            f"The analysis function may not {what}: grant it transcribe:{what} (and "
            "s3:GetObject on the media, s3:PutObject on the output bucket)."
        )
    return AnalysisError(f"Transcribe refused {what} ({code}): {message}.")


def start_transcription(
    job_name: str,
    media: S3Image,
    language_code: str | None,
    output_bucket: str,
    output_key: str,
) -> None:
    """Start (or find already started) the job transcribing ``media`` into
    ``s3://output_bucket/output_key``. ``language_code`` is a Transcribe code
    (``analysis.languages.transcribe_language_code``); None asks Transcribe to identify
    the language itself, and the job then reports the one it found.

    Transcribe reads the media's current version (it takes no version id); Lumiere's
    upload keys are unique per asset, so that is the upload."""
    if not output_key.endswith(".json"):
        # Without ".json" Transcribe takes the key as a folder and names the file after
        # the job, and the transcript would not be where the caller will read it.
        raise ValueError(f"output_key must end in .json, got {output_key!r}")
    params: dict[str, Any] = {
        "TranscriptionJobName": job_name,
        "Media": {"MediaFileUri": media.uri},
        "OutputBucketName": output_bucket,
        "OutputKey": output_key,
    }
    if language_code:
        params["LanguageCode"] = language_code
    else:
        params["IdentifyLanguage"] = True
    try:
        clients.client("transcribe").start_transcription_job(**params)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") == "ConflictException":
            return  # this job was started already (a redelivered message): nothing to do
        raise _client_error(e, "StartTranscriptionJob") from e
    except ParamValidationError as e:  # e.g. a media key Transcribe's pattern refuses
        raise AnalysisError(f"Transcribe cannot take {media.uri}: {e}") from e
    except clients.NETWORK_ERRORS as e:
        raise TransientError(f"Transcribe could not be reached: {e}") from e


@dataclass(frozen=True)
class TranscriptionJob:
    name: str
    status: str  # QUEUED | IN_PROGRESS | COMPLETED | FAILED
    failure_reason: str | None
    language_code: str | None  # as requested, or as identified

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES


def transcription_job(job_name: str) -> TranscriptionJob:
    try:
        response = clients.client("transcribe").get_transcription_job(TranscriptionJobName=job_name)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("NotFoundException", "BadRequestException"):
            # What Transcribe answers for a job it does not know (or no longer keeps: it
            # deletes job records after 90 days).
            raise AnalysisError(
                f"Transcribe has no job {job_name!r}: it was never started, or it was "
                "deleted; analyse the asset again to start a new one."
            ) from e
        raise _client_error(e, "GetTranscriptionJob") from e
    except clients.NETWORK_ERRORS as e:
        raise TransientError(f"Transcribe could not be reached: {e}") from e
    job = response.get("TranscriptionJob", {})
    return TranscriptionJob(
        name=str(job.get("TranscriptionJobName", job_name)),
        status=str(job.get("TranscriptionJobStatus", "")),
        failure_reason=job.get("FailureReason") or None,
        language_code=job.get("LanguageCode") or None,
    )


def read_transcript(bucket: str, key: str) -> list[Word]:
    """The words of a finished job's transcript (its JSON at ``s3://bucket/key``)."""
    document = read_object(bucket, key)
    try:
        data = json.loads(document)
    except ValueError as e:
        raise AnalysisError(f"The transcript s3://{bucket}/{key} is not JSON.") from e
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise AnalysisError(
            f"s3://{bucket}/{key} is not an Amazon Transcribe transcript (no results)."
        )
    try:
        return parse_transcribe_json(data)
    except (KeyError, TypeError, ValueError) as e:
        raise AnalysisError(f"The transcript s3://{bucket}/{key} is malformed: {e}") from e


def parse_job_state_change(event: dict[str, Any]) -> tuple[str, str]:
    """(job name, COMPLETED or FAILED) from Transcribe's EventBridge event."""
    if not isinstance(event, dict):
        raise MalformedEventError(f"not an EventBridge event: {type(event).__name__}")
    if event.get("source") != EVENT_SOURCE or event.get("detail-type") != EVENT_DETAIL_TYPE:
        raise MalformedEventError(
            f"not a {EVENT_DETAIL_TYPE!r} event: source={event.get('source')!r}, "
            f"detail-type={event.get('detail-type')!r}"
        )
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEventError("Transcribe event without a detail object")
    name = detail.get("TranscriptionJobName")
    status = detail.get("TranscriptionJobStatus")
    if not isinstance(name, str) or not name:
        raise MalformedEventError("Transcribe event without a TranscriptionJobName")
    if status not in FINAL_STATUSES:
        raise MalformedEventError(f"Transcribe event with status {status!r}")
    return name, str(status)
