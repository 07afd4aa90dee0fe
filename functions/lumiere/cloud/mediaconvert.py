"""AWS Elemental MediaConvert: submit a job, read one back."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lumiere.cloud import clients
from lumiere.errors import TransientError


def _client(endpoint_url: str) -> Any:
    # Empty: the SDK's regional endpoint (or AWS_ENDPOINT_URL[_MEDIACONVERT]).
    if endpoint_url:
        return clients.client("mediaconvert", endpoint_url)
    return clients.client("mediaconvert")


def submit_job(request: dict[str, Any], endpoint_url: str = "") -> str:
    """CreateJob; returns the job id. The request's ClientRequestToken makes a retried
    submission of the same plan return the first job rather than start a second.

    Every failure is transient to the caller: throttling and outages pass, and a request
    the service refuses still ends the asset FAILED on the ingest message's last attempt
    (handlers/batch.py), with the refusal in the logs."""
    try:
        out = _client(endpoint_url).create_job(**request)
    except (ClientError, BotoCoreError) as e:
        raise TransientError(f"MediaConvert refused or missed the job: {e}") from e
    return str(out["Job"]["Id"])


def get_job(job_id: str, endpoint_url: str = "") -> dict[str, Any]:
    """The job as MediaConvert describes it (status, settings, output details)."""
    try:
        return dict(_client(endpoint_url).get_job(Id=job_id)["Job"])
    except (ClientError, BotoCoreError) as e:
        raise TransientError(f"could not read MediaConvert job {job_id}: {e}") from e
