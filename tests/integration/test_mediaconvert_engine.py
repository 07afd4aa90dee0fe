"""The MediaConvert engine against moto (in process): ingest submits a job instead of
queueing transcode tasks, and the job's EventBridge events (the samples in events/) move
the asset to READY with its outputs, or to FAILED with a reason. moto has no
MediaConvert, so CreateJob goes through botocore's Stubber, which checks the request
against the service model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from lumiere.api.views import asset_view
from lumiere.cloud import clients
from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.mediaconvert import get_job
from lumiere.config import Settings
from lumiere.errors import TransientError
from lumiere.handlers import mediaconvert_events, runtime
from lumiere.media.ladder import load_preset
from lumiere.media.probe import AudioStream, MediaInfo, MediaKind, VideoStream
from lumiere.pipeline.ingest import IngestOutcome, ingest_object
from lumiere.pipeline.models import SourceObject
from lumiere.pipeline.plan import TaskBudget, plan_parts
from lumiere.pipeline.status import AssetStatus
from lumiere_dev.resources import create_table
from lumiere_dev.runner import LocalLambdaContext
from lumiere_dev.template import StackContext, read_stack
from moto import mock_aws

from tests.conftest import REPO

COMPLETE = json.loads((REPO / "events/mediaconvert_job_complete.json").read_text())
ERROR = json.loads((REPO / "events/mediaconvert_job_error.json").read_text())
ASSET = COMPLETE["detail"]["userMetadata"]["lumiere_asset_id"]
JOB = COMPLETE["detail"]["jobId"]
ROLE = "arn:aws:iam::123456789012:role/lumiere-local-mediaconvert"
INFO = MediaInfo(
    format_name="mov,mp4,m4a,3gp,3g2,mj2",
    duration=95.2,
    size=50_000_000,
    bit_rate=4_200_000,
    video=(VideoStream(0, "h264", 1920, 1080, frame_rate=30.0, pix_fmt="yuv420p"),),
    audio=(AudioStream(1, "aac", 2, 48000, language="eng"),),
    stream_count=2,
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """moto in process, with the template's AssetsTable and MediaBucket; the handlers'
    settings from the environment, as in Lambda."""
    # The playback key has no default (a deployment chooses it); only names matter here.
    ctx = StackContext(
        parameters={"PlaybackPublicKey": "PEM", "PlaybackKeySecretName": "playback-key"}
    )
    spec = read_stack(REPO / "template.yaml", ctx)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "ASSETS_TABLE": spec.tables["AssetsTable"].name,
        "MEDIA_BUCKET": spec.buckets["MediaBucket"].name,
        "UPLOADS_BUCKET": spec.buckets["UploadsBucket"].name,
        "LUMIERE_STACK": spec.context.stack_name,
        "MEDIACONVERT_ROLE_ARN": ROLE,
        "TRANSCODE_ENGINE": "mediaconvert",
    }
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        runtime.reset()
        create_table(boto3.client("dynamodb"), spec.tables["AssetsTable"])
        for bucket in ("MediaBucket", "UploadsBucket"):
            boto3.client("s3").create_bucket(Bucket=spec.buckets[bucket].name)
        yield runtime.settings()
    runtime.reset()


def put_asset(
    settings: Settings, status: str, *, analysis: bool = False, **fields: Any
) -> Catalogue:
    preset = load_preset("default")
    parts = plan_parts(INFO, MediaKind.VIDEO, preset, 1, TaskBudget(), analysis=analysis)
    catalogue = runtime.catalogue()
    catalogue.create(
        {
            "asset_id": ASSET,
            "owner": "anonymous",
            "created_at": "2026-11-26T01:40:00Z",
            "status": status,
            "kind": "video",
            "filename": "holiday.mov",
            "upload_key": f"uploads/{ASSET}/holiday.mov",
            "source": {
                "bucket": settings.uploads_bucket,
                "key": f"uploads/{ASSET}/holiday.mov",
                "size": 50_000_000,
                "etag": "abc",
                "version_id": "v1",
            },
            "probe": INFO.to_dict(),
            "plan": {"preset": "default", "parts": {p.name: p.to_dict() for p in parts}},
            "part_progress": {},
            "part_outputs": {},  # as ingest's PROBED write leaves it
            **fields,
        }
    )
    return catalogue


def deliver(event: dict[str, Any]) -> dict[str, Any]:
    context = LocalLambdaContext(
        function_name="MediaConvertEventsFunction",
        memory_limit_in_mb=256,
        timeout_seconds=30,
        region="us-east-1",
        account_id="123456789012",
    )
    return dict(mediaconvert_events.handler(event, context))


def test_complete_event_makes_the_asset_ready_with_its_outputs(aws: Settings) -> None:
    catalogue = put_asset(aws, "PROCESSING", mediaconvert={"job_id": JOB, "plan": "x"})
    assert deliver(COMPLETE)["outcome"] == "ready"
    asset = catalogue.get(ASSET)
    assert asset is not None
    assert asset["status"] == "READY"
    outputs = asset["outputs"]
    assert outputs["hls"]["master"] == f"assets/{ASSET}/hls/master.m3u8"
    assert outputs["dash"]["manifest"] == f"assets/{ASSET}/hls/master.mpd"
    assert outputs["poster"] == f"assets/{ASSET}/poster.0000001.jpg"
    assert outputs["engine"] == {"name": "mediaconvert", "job_id": JOB}
    renditions = outputs["hls"]["renditions"]
    assert [(r["name"], r["width"], r["height"]) for r in renditions] == [
        ("1080p", 1920, 1080),
        ("720p", 1280, 720),
        ("540p", 960, 540),
        ("360p", 640, 360),
        ("240p", 426, 240),
    ]
    assert renditions[0]["uri"] == "master_1080p.m3u8"
    assert renditions[0]["duration_ms"] == 95200
    [audio] = outputs["hls"]["audio"]
    assert (audio["language"], audio["default"], audio["uri"]) == ("en", True, "master_a_1_en.m3u8")
    # The API shows it like an ffmpeg-made asset.
    view = asset_view(asset, lambda key: f"https://cdn.example/{key}")
    assert view["outputs"]["hls"]["url"] == f"https://cdn.example/assets/{ASSET}/hls/master.m3u8"
    assert view["outputs"]["poster"]["key"] == outputs["poster"]

    # A duplicated delivery changes nothing.
    assert deliver(COMPLETE)["outcome"] == "ignored"
    assert catalogue.get(ASSET) == asset
    # Nor does a late ERROR for the same job.
    assert deliver(ERROR)["outcome"] == "ignored"
    assert catalogue.get(ASSET) == asset


def test_complete_waits_for_the_analysis_part_which_rides_along(aws: Settings) -> None:
    """MediaConvert makes the media parts; the analysis part is still ours, and READY
    waits for whichever of the two finishes last."""
    catalogue = put_asset(aws, "PROCESSING", analysis=True, mediaconvert={"job_id": JOB})
    assert deliver(COMPLETE)["outcome"] == "progress"
    asset = catalogue.get(ASSET)
    assert asset is not None
    assert asset["status"] == "PROCESSING"
    assert set(asset["parts_done"]) == set(asset["plan"]["parts"]) - {"analysis"}
    analysis = {"status": "done", "steps": {"faces": {"status": "done"}}, "faces": []}
    asset = catalogue.complete_part(
        ASSET, "analysis", "2026-11-26T02:00:00Z", {"analysis": analysis}
    )
    from lumiere.pipeline.fan_in import finish_if_complete

    assert finish_if_complete(asset, catalogue, aws) == "READY"
    ready = catalogue.get(ASSET)
    assert ready is not None
    assert ready["outputs"]["hls"]["master"] == f"assets/{ASSET}/hls/master.m3u8"  # MediaConvert's
    assert ready["outputs"]["analysis"] == analysis
    # A late duplicate of the job's event changes nothing.
    assert deliver(COMPLETE)["outcome"] == "ignored"


def test_error_event_fails_the_asset_with_a_reason_and_message(aws: Settings) -> None:
    catalogue = put_asset(aws, "PROCESSING", mediaconvert={"job_id": JOB, "plan": "x"})
    assert deliver(ERROR)["outcome"] == "failed"
    asset = catalogue.get(ASSET)
    assert asset is not None
    assert asset["status"] == "FAILED"
    assert asset["error"]["reason"] == "processing_error"
    message = asset["error"]["message"]
    assert "error 1010" in message
    assert "No parser found for container" in message
    assert message.endswith("if it keeps failing.")
    assert deliver(ERROR)["outcome"] == "ignored"
    assert deliver(COMPLETE)["outcome"] == "ignored"  # FAILED is final
    assert catalogue.get(ASSET) == asset


def test_events_of_another_job_or_deployment_are_ignored(aws: Settings) -> None:
    catalogue = put_asset(aws, "PROCESSING", mediaconvert={"job_id": "other-job", "plan": "x"})
    assert deliver(ERROR)["outcome"] == "ignored"
    foreign = json.loads(json.dumps(COMPLETE))
    foreign["detail"]["userMetadata"]["lumiere_stack"] = "someone-else"
    foreign["detail"]["jobId"] = "other-job"
    assert deliver(foreign)["outcome"] == "ignored"
    asset = catalogue.get(ASSET)
    assert asset is not None
    assert asset["status"] == "PROCESSING"


def test_status_updates_move_the_asset_progress(aws: Settings) -> None:
    catalogue = put_asset(aws, "PROCESSING", mediaconvert={"job_id": JOB, "plan": "x"})
    update = json.loads(json.dumps(ERROR))
    update["detail"].update(status="STATUS_UPDATE", jobProgress={"jobPercentComplete": 42})
    for field in ("errorCode", "errorMessage"):
        update["detail"].pop(field)
    assert deliver(update)["outcome"] == "progress"
    asset = catalogue.get(ASSET)
    assert asset is not None
    # Every part is at 42%; the API's weighted sum truncates, so 41.99... shows as 41.
    assert 41 <= asset_view(asset, str)["progress"] <= 42


def test_ingest_submits_a_job_instead_of_transcode_tasks(aws: Settings) -> None:
    """A duplicate S3 event finds the asset PROBED (the first ingest died after probing):
    ingest hands the plan to MediaConvert, and the asset records the job."""
    catalogue = put_asset(aws, "PROBED")
    mediaconvert = clients.client("mediaconvert")
    sent: list[dict[str, Any]] = []
    mediaconvert.meta.events.register(
        "provide-client-params.mediaconvert.CreateJob", lambda params, **_: sent.append(params)
    )
    with Stubber(mediaconvert) as stub:
        # The Stubber validates the parameters against the service model.
        stub.add_response("create_job", {"Job": {"Id": JOB, "Role": ROLE, "Settings": {}}})
        source = SourceObject(**catalogue.get(ASSET)["source"])  # type: ignore[index]
        outcome = ingest_object(source, catalogue, aws, probe_timeout=None)
        stub.assert_no_pending_responses()
    assert outcome is IngestOutcome.REQUEUED
    asset = catalogue.get(ASSET)
    assert asset is not None
    assert asset["status"] == "PROCESSING"
    assert asset["mediaconvert"]["job_id"] == JOB
    # The job asked for is this asset's plan, read from its own upload, as this stack.
    [request] = sent
    assert request["Role"] == ROLE
    [the_input] = request["Settings"]["Inputs"]
    assert the_input["FileInput"] == f"s3://{aws.uploads_bucket}/uploads/{ASSET}/holiday.mov"
    assert request["UserMetadata"]["lumiere_asset_id"] == ASSET
    assert request["UserMetadata"]["lumiere_stack"] == "lumiere-local"
    assert request["ClientRequestToken"].startswith(ASSET)
    assert asset["mediaconvert"]["plan"] == request["UserMetadata"]["lumiere_plan"]


def test_ingest_keeps_ffmpeg_for_presets_mediaconvert_cannot_make(
    aws: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue = put_asset(aws, "PROBED")
    sent: list[Any] = []
    monkeypatch.setattr(
        "lumiere.pipeline.ingest.send_part_tasks", lambda settings, tasks: sent.extend(tasks)
    )
    boto3.client("dynamodb").update_item(
        TableName=aws.assets_table,
        Key={"asset_id": {"S": ASSET}},
        UpdateExpression="SET #p.preset = :vp9",
        ExpressionAttributeNames={"#p": "plan"},
        ExpressionAttributeValues={":vp9": {"S": "vp9"}},
    )
    source = SourceObject(**catalogue.get(ASSET)["source"])  # type: ignore[index]
    assert ingest_object(source, catalogue, aws, probe_timeout=None) is IngestOutcome.REQUEUED
    assert {t.part for t in sent} == set(catalogue.get(ASSET)["plan"]["parts"])  # type: ignore[index]


def test_a_job_finishing_after_its_asset_was_deleted_leaves_nothing_behind(
    aws: Settings,
) -> None:
    catalogue = put_asset(aws, "PROCESSING", mediaconvert={"job_id": JOB, "plan": "x"})
    catalogue.transition(ASSET, AssetStatus.DELETED, "2026-11-26T01:45:00Z")
    s3 = boto3.client("s3")
    written = [f"assets/{ASSET}/hls/master.m3u8", f"assets/{ASSET}/hls/master_1080p_00001.cmfv"]
    for key in written:  # what the job wrote after the delete had cleaned up
        s3.put_object(Bucket=aws.media_bucket, Key=key, Body=b"x")
    s3.put_object(Bucket=aws.media_bucket, Key=f"assets/{'0' * 32}/poster.jpg", Body=b"x")
    assert deliver(COMPLETE)["outcome"] == "ignored"
    left = [o["Key"] for o in s3.list_objects_v2(Bucket=aws.media_bucket).get("Contents", [])]
    assert left == [f"assets/{'0' * 32}/poster.jpg"]  # another asset's file stays
    asset = catalogue.get(ASSET)
    assert asset is not None
    assert asset["status"] == "DELETED"


def test_a_refused_submission_is_retried_with_the_asset_left_probed(aws: Settings) -> None:
    """Throttled (or any refusal): a TransientError, so SQS redelivers the upload's event
    and ingest submits again, with the same ClientRequestToken."""
    catalogue = put_asset(aws, "PROBED")
    source = SourceObject(**catalogue.get(ASSET)["source"])  # type: ignore[index]
    with Stubber(clients.client("mediaconvert")) as stub:
        stub.add_client_error("create_job", "TooManyRequestsException", http_status_code=429)
        with pytest.raises(TransientError, match="TooManyRequestsException"):
            ingest_object(source, catalogue, aws, probe_timeout=None)
    asset = catalogue.get(ASSET)
    assert asset is not None
    assert asset["status"] == "PROBED"
    assert "mediaconvert" not in asset


def test_a_job_can_be_read_back(aws: Settings) -> None:
    with Stubber(clients.client("mediaconvert")) as stub:
        stub.add_response(
            "get_job",
            {"Job": {"Id": JOB, "Role": ROLE, "Settings": {}, "Status": "PROGRESSING"}},
            expected_params={"Id": JOB},
        )
        assert get_job(JOB)["Status"] == "PROGRESSING"
        stub.add_client_error("get_job", "NotFoundException", http_status_code=404)
        with pytest.raises(TransientError):
            get_job(JOB)
