"""MediaConvert's "MediaConvert Job State Change" EventBridge events, read.

A COMPLETE event lists what the job wrote (the CMAF group's manifests in
``playlistFilePaths``, the frame capture's last image and any MP4 in ``outputFilePaths``)
and what each video output measured (``videoDetails``). That, with the plan the request
was built from, is the asset's ``outputs`` record, in the ffmpeg engine's shape so the
API shows both alike. ERROR and CANCELED become a reason code and a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lumiere.errors import MalformedEventError, ReasonCode
from lumiere.media.audio import plan_audio_tracks
from lumiere.media.ladder import LadderPreset, plan_ladder
from lumiere.media.streams import MediaInfo, MediaKind
from lumiere.mediaconvert.job_request import (
    ASSET_KEY,
    MASTER_BASENAME,
    PLAN_KEY,
    STACK_KEY,
    audio_modifier,
    video_modifier,
)
from lumiere.pipeline import keys

SOURCE = "aws.mediaconvert"
DETAIL_TYPE = "MediaConvert Job State Change"
COMPLETE, ERROR, CANCELED = "COMPLETE", "ERROR", "CANCELED"
FINAL = frozenset({COMPLETE, ERROR, CANCELED})
STATUS_UPDATE = "STATUS_UPDATE"


@dataclass(frozen=True)
class JobEvent:
    job_id: str
    status: str
    asset_id: str | None  # None: not a job Lumiere submitted
    plan: str | None
    stack: str | None
    detail: dict[str, Any] = field(repr=False)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    @property
    def percent(self) -> int | None:
        """STATUS_UPDATE's jobPercentComplete, when it has one."""
        value = (self.detail.get("jobProgress") or {}).get("jobPercentComplete")
        return int(value) if isinstance(value, int | float) else None


def parse_job_event(event: Any) -> JobEvent:
    if not isinstance(event, dict) or event.get("source") != SOURCE:
        raise MalformedEventError("not a MediaConvert event")
    if event.get("detail-type") != DETAIL_TYPE:
        raise MalformedEventError(f"not a job state change: {event.get('detail-type')!r}")
    detail = event.get("detail")
    if not isinstance(detail, dict) or not detail.get("jobId") or not detail.get("status"):
        raise MalformedEventError("job state change without jobId or status")
    meta = detail.get("userMetadata") or {}
    if not isinstance(meta, dict):
        meta = {}
    asset_id = meta.get(ASSET_KEY)
    return JobEvent(
        job_id=str(detail["jobId"]),
        status=str(detail["status"]),
        asset_id=asset_id
        if isinstance(asset_id, str) and keys.ASSET_ID_RE.match(asset_id)
        else None,
        plan=meta.get(PLAN_KEY),
        stack=meta.get(STACK_KEY),
        detail=detail,
    )


def _key_in(uri: str, bucket: str, asset_id: str) -> str | None:
    """The key of an s3:// URI, if it is in ``bucket`` under the asset's own prefix."""
    prefix = f"s3://{bucket}/"
    if not uri.startswith(prefix):
        return None
    key = uri[len(prefix) :]
    return key if key.startswith(keys.asset_prefix(asset_id)) else None


def outputs_from_complete(
    event: JobEvent,
    info: MediaInfo,
    kind: MediaKind,
    preset: LadderPreset,
    media_bucket: str,
) -> dict[str, Any]:
    """The asset's ``outputs`` from a COMPLETE event and the plan its job was built from."""
    asset_id = event.asset_id or ""
    manifests: list[str] = []
    files: list[str] = []
    measured: list[dict[str, Any]] = []
    for group in event.detail.get("outputGroupDetails") or []:
        manifests += group.get("playlistFilePaths") or []
        for output in group.get("outputDetails") or []:
            files += output.get("outputFilePaths") or []
            if group.get("type") == "CMAF_GROUP" and output.get("videoDetails"):
                measured.append(output)
    found = [k for k in (_key_in(u, media_bucket, asset_id) for u in manifests + files) if k]
    master = next((k for k in found if k.endswith(".m3u8")), None)
    mpd = next((k for k in found if k.endswith(".mpd")), None)
    outputs: dict[str, Any] = {"engine": {"name": "mediaconvert", "job_id": event.job_id}}
    poster = next((k for k in found if k.lower().endswith((".jpg", ".jpeg"))), None)
    if poster:
        outputs["poster"] = poster
    download = next((k for k in found if k.endswith(".mp4")), None)
    if download:
        outputs["download"] = download
    if mpd:
        outputs["dash"] = {"manifest": mpd}
    if master is None:
        return outputs
    ladder = plan_ladder(info, preset) if kind is MediaKind.VIDEO else []
    # Outputs are matched to rungs by size, which is unique in a ladder: the event lists
    # them without their name modifiers, and not always in the request's order.
    by_size = {
        (o["videoDetails"].get("widthInPx"), o["videoDetails"].get("heightInPx")): o
        for o in measured
    }
    renditions = []
    for rung in ladder:
        got = by_size.get((rung.width, rung.height), {})
        details = got.get("videoDetails") or {}
        renditions.append(
            {
                "name": rung.name,
                "uri": f"{MASTER_BASENAME}{video_modifier(rung)}.m3u8",
                "width": rung.width,
                "height": rung.height,
                "frame_rate": rung.frame_rate,
                # MediaConvert writes BANDWIDTH into the master itself; the cap is what
                # the plan promised, the average what it measured (when it says).
                "bandwidth": rung.max_kbps * 1000,
                "average_bandwidth": details.get("averageBitrate"),
                "codecs": None,
                "duration_ms": got.get("durationInMs"),
            }
        )
    audio = [
        {
            "uri": f"{MASTER_BASENAME}{audio_modifier(t)}.m3u8",
            "language": t.language,
            "name": t.name,
            "default": t.default,
            "codecs": "mp4a.40.2",
            "bandwidth": preset.audio.bitrate_kbps * 1000,
            "source_channels": t.channels,
            "loudness": None,
        }
        for t in plan_audio_tracks(info)
    ]
    outputs["hls"] = {"master": master, "renditions": renditions, "audio": audio}
    return outputs


def failure_from_event(event: JobEvent) -> tuple[ReasonCode, str]:
    """ERROR or CANCELED as the asset's reason and a sentence. The file already passed
    ffprobe at ingest, so a transcoding error is reported as ours, with MediaConvert's own
    code and words for whoever investigates."""
    if event.status == CANCELED:
        return (
            ReasonCode.PROCESSING_ERROR,
            "The transcoding job was canceled before it finished. Upload the file again.",
        )
    code = event.detail.get("errorCode")
    message = str(event.detail.get("errorMessage") or "no message").strip().rstrip(".")
    return (
        ReasonCode.PROCESSING_ERROR,
        f"MediaConvert could not transcode this file (error {code}: {message}). "
        "Check that it plays, then upload it again; contact support with the asset id "
        "if it keeps failing.",
    )
