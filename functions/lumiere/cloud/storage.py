"""S3: presigned uploads and reads, and publishing outputs with the right headers."""

from __future__ import annotations

import mimetypes
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from lumiere.cloud.clients import client
from lumiere.errors import TransientError

ONE_YEAR_IMMUTABLE = "public, max-age=31536000, immutable"
PLAYLIST_CACHE = "public, max-age=60"
IMAGE_CACHE = "public, max-age=86400"

_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mpd": "application/dash+xml",
    ".vtt": "text/vtt",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".json": "application/json",
}


def object_headers(key: str) -> tuple[str, str]:
    """Content-Type and Cache-Control for a published object.

    Segments never change once written (their names are unique per asset), so CDNs and
    players may keep them a year; playlists stay short-lived so a re-publish shows.
    """
    suffix = Path(key).suffix.lower()
    content_type = _TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "binary/octet-stream"
    if suffix in (".m3u8", ".mpd", ".vtt", ".json"):
        return content_type, PLAYLIST_CACHE
    if suffix in (".m4s", ".mp4"):
        return content_type, ONE_YEAR_IMMUTABLE
    return content_type, IMAGE_CACHE


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


def presign_upload(
    bucket: str, key: str, *, content_type: str, max_bytes: int, ttl_seconds: int
) -> PresignedPost:
    """A browser-usable POST form pinned to one key, one Content-Type and a size range."""
    post = client("s3").generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[
            {"Content-Type": content_type},
            ["content-length-range", 1, max_bytes],
        ],
        ExpiresIn=ttl_seconds,
    )
    return PresignedPost(url=post["url"], fields=dict(post["fields"]))


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}


def presign_get(
    bucket: str,
    key: str,
    *,
    ttl_seconds: int,
    version_id: str | None = None,
    disposition: str | None = None,
) -> str:
    """``disposition``: the Content-Disposition S3 answers with (signed into the URL)."""
    params = {"Bucket": bucket, "Key": key, **_version(version_id)}
    if disposition:
        params["ResponseContentDisposition"] = disposition
    return str(
        client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_seconds)
    )


def head_object(bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None:
    try:
        return dict(client("s3").head_object(Bucket=bucket, Key=key, **_version(version_id)))
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise TransientError(f"S3 HEAD s3://{bucket}/{key} failed") from e


def read_head(bucket: str, key: str, length: int, version_id: str | None = None) -> bytes:
    """The first ``length`` bytes of an object (a ranged GET: never the whole file)."""
    try:
        out = client("s3").get_object(
            Bucket=bucket, Key=key, Range=f"bytes=0-{length - 1}", **_version(version_id)
        )
        return bytes(out["Body"].read())
    except ClientError as e:
        raise TransientError(f"S3 GET s3://{bucket}/{key} failed") from e


def delete_prefix(bucket: str, prefix: str, *, all_versions: bool = False) -> int:
    """Delete every object (and, on a versioned bucket, every version) under a prefix.
    Returns how many were deleted; running it again deletes nothing more."""
    s3 = client("s3")
    deleted = 0
    if all_versions:
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
        batches = [
            [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for page in pages
        ]
    else:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        batches = [[{"Key": o["Key"]} for o in page.get("Contents", [])] for page in pages]
    for batch in batches:
        for i in range(0, len(batch), 1000):  # DeleteObjects takes 1000 at a time
            chunk = batch[i : i + 1000]
            if chunk:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
                deleted += len(chunk)
    return deleted


def put_file(bucket: str, key: str, path: Path) -> None:
    content_type, cache_control = object_headers(key)
    client("s3").upload_file(
        str(path),
        bucket,
        key,
        ExtraArgs={"ContentType": content_type, "CacheControl": cache_control},
    )


# A stream of unknown length goes up in parts of this size, a few at a time, so an import
# holds about STREAM_PART_BYTES x (STREAM_THREADS + 1) in memory whatever the file's size
# (S3 allows 10,000 parts: 160 GB).
STREAM_PART_BYTES = 16 * 1024**2
STREAM_THREADS = 4


def upload_stream(bucket: str, key: str, stream: Any, content_type: str) -> None:
    """Write what ``stream.read`` gives to ``key``: one PUT when it is small, else a
    multipart upload that S3 makes visible only when complete (and that is aborted if
    reading fails). The stream's own exceptions come out as they are."""
    config = TransferConfig(
        multipart_threshold=STREAM_PART_BYTES,
        multipart_chunksize=STREAM_PART_BYTES,
        max_concurrency=STREAM_THREADS,
    )
    client("s3").upload_fileobj(
        stream, bucket, key, ExtraArgs={"ContentType": content_type}, Config=config
    )


def read_object(bucket: str, key: str, version_id: str | None = None) -> bytes:
    try:
        return bytes(
            client("s3").get_object(Bucket=bucket, Key=key, **_version(version_id))["Body"].read()
        )
    except ClientError as e:
        raise TransientError(f"could not read s3://{bucket}/{key}") from e


def put_bytes(bucket: str, key: str, data: bytes, content_type: str) -> None:
    _, cache_control = object_headers(key)
    client("s3").put_object(
        Bucket=bucket, Key=key, Body=data, ContentType=content_type, CacheControl=cache_control
    )


def put_text(bucket: str, key: str, text: str) -> None:
    put_bytes(bucket, key, text.encode("utf-8"), object_headers(key)[0])


PUBLISH_THREADS = 8


def publish_directory(bucket: str, prefix: str, directory: Path) -> list[str]:
    """Upload a rendition directory: media first (in parallel: a long video has thousands
    of segments), its playlists last, so a playlist never names a segment not there yet."""
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    media = [p for p in files if p.suffix != ".m3u8"]
    playlists = [p for p in files if p.suffix == ".m3u8"]

    def put(path: Path) -> str:
        key = prefix + path.relative_to(directory).as_posix()
        put_file(bucket, key, path)
        return key

    with ThreadPoolExecutor(max_workers=PUBLISH_THREADS) as pool:
        keys = list(pool.map(put, media))
    return keys + [put(p) for p in playlists]


def download_prefix(bucket: str, prefix: str, directory: Path) -> list[Path]:
    """Fetch every object under a prefix into a directory (our own outputs only)."""
    s3 = client("s3")
    paths: list[Path] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            relative = obj["Key"][len(prefix) :]
            if not relative or ".." in relative.split("/"):
                continue
            path = directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(path))
            paths.append(path)
    return paths
