"""The analysis part with the aws backend, through the same pipeline as the offline one:
Rekognition (botocore's Stubber: moto lacks DetectFaces and DetectModerationLabels, and
the Stubber checks every request against botocore's model) and Amazon Transcribe (moto's
server, the stack's own). The results land in the same formats as the offline engine's.

Transcribe is asynchronous: the part starts the job and stops; the test then plays
Transcribe (the transcript JSON at the job's output key) and EventBridge (the "Transcribe
Job State Change" event, as the rule delivers it to AnalysisQueue)."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from lumiere.cloud import clients
from lumiere_dev.client import LumiereClient
from lumiere_dev.stack import LocalStack

from tests.conftest import REPO, Media, unsigned
from tests.integration.helpers import (
    assert_package_valid,
    deliver,
    fetch_package,
    process_upload,
    receive,
    transcode_all,
)
from tests.integration.test_aws_analysis_backends import (
    face_detail,
    moderation_response,
    transcribe_output,
)

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image (test photos) missing")
cv2 = pytest.importorskip("cv2", reason="the analysis extra (OpenCV) is not installed")
ESPEAK = shutil.which("espeak-ng")
EVENTS = REPO / "events"
SAID = "Welcome to Lumiere. Every upload becomes a stream, with captions, within a minute."


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        REPO / "template.yaml",
        run_functions=False,
        stack_name="analysis-aws",
        parameters={"AnalysisBackend": "aws"},
    ) as s:
        yield s


@pytest.fixture
def rekognition(monkeypatch: pytest.MonkeyPatch, stack: LocalStack) -> Iterator[Stubber]:
    """Rekognition answered by the Stubber; every other service is the stack's moto."""
    stubbed = boto3.client("rekognition", region_name=stack.spec.context.region)
    real = clients.client

    def client(service: str) -> Any:
        return stubbed if service == "rekognition" else real(service)

    monkeypatch.setattr(clients, "client", client)
    with Stubber(stubbed) as stub:
        yield stub
        stub.assert_no_pending_responses()


def test_image_faces_and_moderation_by_rekognition(
    stack: LocalStack, client: LumiereClient, media: Media, rekognition: Stubber
) -> None:
    photo = media.dir / "astronaut-aws.png"
    cv2.imwrite(str(photo), cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR))
    rekognition.add_response(
        "detect_faces",
        {"FaceDetails": [face_detail(0.36, 0.12, 0.17, 0.22, 99.9)]},
        expected_params={"Image": {"Bytes": ANY}, "Attributes": ["DEFAULT"]},
    )
    rekognition.add_response(
        "detect_moderation_labels",
        moderation_response(("Smoking", "Drugs & Tobacco", 88.0, 2)),
        expected_params={"Image": {"Bytes": ANY}, "MinConfidence": ANY},
    )
    asset = process_upload(stack, client, photo, "image/png")
    assert asset["status"] == "READY"
    analysis = asset["outputs"]["analysis"]
    # The same record as the offline engine's (FaceBox fields), with a confidence.
    assert analysis["faces"] == [
        {
            "x": 0.36,
            "y": 0.12,
            "w": 0.17,
            "h": 0.22,
            "confidence": pytest.approx(0.999),
            "time": None,
        }
    ]
    assert analysis["steps"]["faces"]["status"] == "done"
    moderation = analysis["moderation"]
    assert moderation["backend"] == "rekognition"
    assert moderation["action"] in ("flag", "block")
    assert [label["name"] for label in moderation["labels"]] == ["Smoking"]


def test_offline_backend_says_nothing_was_moderated(
    stack: LocalStack, client: LumiereClient, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    """There is no offline moderation model: the verdict says so, it never says clean."""
    from lumiere.handlers import runtime

    offline = runtime.settings().__class__(
        **{**runtime.settings().__dict__, "analysis_backend": "offline"}
    )
    monkeypatch.setattr(runtime, "settings", lambda: offline)
    asset = process_upload(stack, client, media.image, "image/png")
    moderation = asset["outputs"]["analysis"]["moderation"]
    assert moderation["action"] == "none"
    assert moderation["backend"] == "none"
    assert "not checked" in moderation["note"] or "no " in moderation["note"].lower()
    assert asset["outputs"]["analysis"]["steps"]["moderation"]["status"] == "skipped"


def transcribe_event(job_name: str, status: str) -> dict[str, Any]:
    """The sample event (events/), for this job, with an id of its own as every event
    EventBridge sends has."""
    event = json.loads((EVENTS / "transcribe_job_state_change.json").read_text())
    event["detail"].update(TranscriptionJobName=job_name, TranscriptionJobStatus=status)
    event["id"] = str(uuid.uuid4())
    return event


@pytest.fixture(scope="module")
def speech(media: Media) -> Path:
    if ESPEAK is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    out = media.dir / "said.wav"
    subprocess.run([ESPEAK, "-w", str(out), SAID], check=True, timeout=60)
    return out


def test_captions_by_transcribe_resume_on_its_event(
    stack: LocalStack, client: LumiereClient, speech: Path, tmp_path: Path
) -> None:
    asset_id = client.upload_file(speech, content_type="audio/wav", language="en-GB").asset_id
    assert deliver(stack, "IngestFunction", receive(stack, "IngestQueue")) == {
        "batchItemFailures": []
    }
    transcode_all(stack)
    # Every part ran, but the analysis waits for Transcribe: not READY yet.
    waiting = client.get_asset(asset_id)
    assert waiting["status"] == "PROCESSING"
    transcribe = stack.client("transcribe")
    [job] = transcribe.list_transcription_jobs(JobNameContains=asset_id)[
        "TranscriptionJobSummaries"
    ]
    name = job["TranscriptionJobName"]
    started = transcribe.get_transcription_job(TranscriptionJobName=name)["TranscriptionJob"]
    assert started["LanguageCode"] == "en-GB"  # the upload's language, as Transcribe's code
    media_bucket = stack.spec.functions["AnalysisFunction"].environment["MEDIA_BUCKET"]
    speech_uri = started["Media"]["MediaFileUri"]
    assert speech_uri == f"s3://{media_bucket}/assets/{asset_id}/analysis/speech.flac"
    s3 = stack.client("s3")
    flac = s3.get_object(Bucket=media_bucket, Key=speech_uri.split("/", 3)[3])["Body"].read()
    assert flac.startswith(b"fLaC")  # the speech alone, in a format Transcribe reads

    # Transcribe writes its JSON where it was told; EventBridge delivers the job's end.
    s3.put_object(
        Bucket=media_bucket,
        Key=f"assets/{asset_id}/analysis/transcribe-en.json",
        Body=json.dumps(transcribe_output(name, SAID)).encode(),
    )
    event = transcribe_event(name, "COMPLETED")
    sqs = stack.client("sqs")
    url = stack.spec.queues["AnalysisQueue"].url
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    assert deliver(stack, "AnalysisFunction", receive(stack, "AnalysisQueue")) == {
        "batchItemFailures": []
    }
    asset = client.get_asset(asset_id)
    assert asset["status"] == "READY"
    analysis = asset["outputs"]["analysis"]
    assert analysis["steps"]["captions"]["status"] == "done"
    assert analysis["captions"] == {"cues": analysis["captions"]["cues"], "backend": "transcribe"}
    [captions] = asset["outputs"]["captions"]
    assert captions["language"] == "en"
    root = fetch_package(stack, asset_id, tmp_path)
    assert_package_valid(root)
    vtt = (root / "captions" / "en.vtt").read_text()
    assert "Welcome to Lumiere." in vtt  # Transcribe's punctuation kept
    assert 'TYPE=SUBTITLES,GROUP-ID="subs"' in (root / "master.m3u8").read_text()

    # The same event again (EventBridge delivers at least once) changes nothing.
    event["id"] = "another-delivery"
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    assert deliver(stack, "AnalysisFunction", receive(stack, "AnalysisQueue")) == {
        "batchItemFailures": []
    }
    again = client.get_asset(asset_id)
    assert again["status"] == "READY"
    assert unsigned(again["outputs"]["captions"]) == unsigned(asset["outputs"]["captions"])
    assert (root / "captions" / "en.vtt").read_text() == s3.get_object(
        Bucket=media_bucket, Key=f"assets/{asset_id}/hls/captions/en.vtt"
    )["Body"].read().decode()


def test_a_failed_transcription_is_the_step_failing_not_the_asset(
    stack: LocalStack, client: LumiereClient, speech: Path
) -> None:
    asset_id = client.upload_file(speech, content_type="audio/wav").asset_id
    deliver(stack, "IngestFunction", receive(stack, "IngestQueue"))
    transcode_all(stack)
    [job] = stack.client("transcribe").list_transcription_jobs(JobNameContains=asset_id)[
        "TranscriptionJobSummaries"
    ]
    event = transcribe_event(job["TranscriptionJobName"], "FAILED")
    stack.client("sqs").send_message(
        QueueUrl=stack.spec.queues["AnalysisQueue"].url, MessageBody=json.dumps(event)
    )
    assert deliver(stack, "AnalysisFunction", receive(stack, "AnalysisQueue")) == {
        "batchItemFailures": []
    }
    asset = client.get_asset(asset_id)
    assert asset["status"] == "READY"
    captions = asset["outputs"]["analysis"]["steps"]["captions"]
    assert captions["status"] == "failed"
    assert captions["reason"] == "analysis_failed"
    assert "Transcribe" in captions["message"]
    assert "captions" not in asset["outputs"]
