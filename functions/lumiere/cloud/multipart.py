"""S3 multipart uploads for large files: the API starts one, hands the client a
presigned URL per part (PUT), and completes or aborts it. The client never holds a
credential that could complete the upload, so the API checks the total size first."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from lumiere.cloud.clients import client
from lumiere.errors import InvalidRequestError, TransientError

MIB = 1024 * 1024
MIN_PART_BYTES = 5 * MIB  # S3's floor for every part but the last
MAX_PART_BYTES = 5 * 1024 * MIB
MAX_PARTS = 10_000


def part_size_for(size: int, preferred: int = 16 * MIB) -> int:
    """A part size (whole MiB) that fits ``size`` in S3's 10,000 parts."""
    needed = -(-size // MAX_PARTS)
    part = max(preferred, MIN_PART_BYTES, -(-needed // MIB) * MIB)
    if part > MAX_PART_BYTES:
        raise InvalidRequestError("The file is too large for one multipart upload.")
    return part


@dataclass(frozen=True)
class UploadedPart:
    part_number: int
    etag: str
    size: int


def start(bucket: str, key: str, content_type: str) -> str:
    out = client("s3").create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)
    return str(out["UploadId"])


def presign_part(bucket: str, key: str, upload_id: str, part_number: int, ttl: int) -> str:
    return str(
        client("s3").generate_presigned_url(
            "upload_part",
            Params={"Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": part_number},
            ExpiresIn=ttl,
        )
    )


def uploaded_parts(bucket: str, key: str, upload_id: str) -> list[UploadedPart]:
    """What S3 holds of the upload (its own sizes and ETags, not the client's word)."""
    parts: list[UploadedPart] = []
    try:
        pages = (
            client("s3")
            .get_paginator("list_parts")
            .paginate(Bucket=bucket, Key=key, UploadId=upload_id)
        )
        for page in pages:
            parts += [
                UploadedPart(int(p["PartNumber"]), str(p["ETag"]), int(p["Size"]))
                for p in page.get("Parts", [])
            ]
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") == "NoSuchUpload":
            raise InvalidRequestError("This upload was completed, aborted or has expired.") from e
        raise TransientError(f"S3 ListParts s3://{bucket}/{key} failed") from e
    return parts


def complete(bucket: str, key: str, upload_id: str, parts: list[UploadedPart]) -> None:
    try:
        client("s3").complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": p.part_number, "ETag": p.etag} for p in parts]
            },
        )
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code")
        if code in ("InvalidPart", "InvalidPartOrder", "EntityTooSmall", "NoSuchUpload"):
            raise InvalidRequestError(f"S3 refused to complete the upload ({code}).") from e
        raise TransientError(f"S3 CompleteMultipartUpload s3://{bucket}/{key} failed") from e


def abort(bucket: str, key: str, upload_id: str) -> None:
    """Idempotent: an upload already gone is fine."""
    try:
        client("s3").abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") != "NoSuchUpload":
            raise TransientError(f"S3 AbortMultipartUpload s3://{bucket}/{key} failed") from e
