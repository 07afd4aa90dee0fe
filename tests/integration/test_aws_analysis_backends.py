"""The AWS analysis backends against botocore's own service models.

Rekognition's image APIs are not in moto: botocore's Stubber stands in for the service
and validates every request against the rekognition model (so the parameter shapes are
the real ones), with responses shaped like the documented ones. Transcribe runs in moto
(StartTranscriptionJob, GetTranscriptionJob, and S3 for its output), with the Stubber
for what moto does not model (a failed job's reason, request validation, errors).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import cv2
import numpy as np
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from lumiere.analysis.backends import OpenCVFaces, RekognitionFaces, RekognitionModeration
from lumiere.analysis.captions import (
    MAX_CUE_SECONDS,
    MAX_LINE_CHARS,
    MAX_LINES,
    cues_to_webvtt,
    words_to_cues,
)
from lumiere.analysis.models import AnalysisResult, FaceBox, Word
from lumiere.analysis.moderation import ModerationPolicy
from lumiere.cloud import clients, rekognition, transcribe
from lumiere.cloud.rekognition import MAX_IMAGE_BYTES, S3Image
from lumiere.errors import AnalysisError, ReasonCode, TransientError
from moto import mock_aws

REGION = "eu-west-1"
ASSET_ID = "6f1c2b9e8d7a4c3b9a0e1d2f3c4b5a69"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fresh clients on dummy credentials, pointed at AWS (where moto and the Stubber
    intercept), never at a local stack another test left in the environment."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    clients.client.cache_clear()
    yield
    clients.client.cache_clear()


@pytest.fixture
def rekognition_stub() -> Iterator[Stubber]:
    with Stubber(clients.client("rekognition")) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def transcribe_stub() -> Iterator[Stubber]:
    with Stubber(clients.client("transcribe")) as stub:
        yield stub
        stub.assert_no_pending_responses()


def jpeg(width: int = 64, height: int = 48, value: int = 128) -> bytes:
    ok, data = cv2.imencode(".jpg", np.full((height, width, 3), value, np.uint8))
    assert ok
    return bytes(data)


def face_detail(left: float, top: float, width: float, height: float, confidence: float) -> dict:
    """A FaceDetail as DetectFaces returns it with Attributes DEFAULT."""
    return {
        "BoundingBox": {"Width": width, "Height": height, "Left": left, "Top": top},
        "Landmarks": [
            {"Type": "eyeLeft", "X": left + width * 0.3, "Y": top + height * 0.4},
            {"Type": "eyeRight", "X": left + width * 0.7, "Y": top + height * 0.4},
            {"Type": "mouthLeft", "X": left + width * 0.35, "Y": top + height * 0.75},
            {"Type": "mouthRight", "X": left + width * 0.65, "Y": top + height * 0.75},
            {"Type": "nose", "X": left + width * 0.5, "Y": top + height * 0.55},
        ],
        "Pose": {"Roll": -2.3, "Yaw": 8.1, "Pitch": 4.6},
        "Quality": {"Brightness": 77.4, "Sharpness": 86.9},
        "Confidence": confidence,
    }


def moderation_response(*labels: tuple[str, str, float, int]) -> dict[str, Any]:
    return {
        "ModerationLabels": [
            {"Confidence": c, "Name": name, "ParentName": parent, "TaxonomyLevel": level}
            for name, parent, c, level in labels
        ],
        "ModerationModelVersion": "7.0",
        "ContentTypes": [],
    }


# --- Rekognition DetectFaces ---


def test_detect_faces_from_a_versioned_s3_object(rekognition_stub: Stubber) -> None:
    image = S3Image("media-bucket", f"uploads/{ASSET_ID}/team photo.jpg", "3HL4kqtJlcpXroDTDmJ")
    rekognition_stub.add_response(
        "detect_faces",
        {
            "FaceDetails": [
                face_detail(0.1, 0.2, 0.1, 0.15, 99.87),
                # Cut off by the left and bottom edges: Rekognition's box runs over them.
                face_detail(-0.05, 0.8, 0.25, 0.3, 91.5),
            ],
            "OrientationCorrection": "ROTATE_0",
        },
        expected_params={
            "Image": {
                "S3Object": {
                    "Bucket": "media-bucket",
                    "Name": f"uploads/{ASSET_ID}/team photo.jpg",
                    "Version": "3HL4kqtJlcpXroDTDmJ",
                }
            },
            "Attributes": ["DEFAULT"],
        },
    )
    faces = rekognition.detect_faces(image)
    # Largest first, as the offline detector orders them.
    edge, inner = faces
    assert inner == FaceBox(x=0.1, y=0.2, w=0.1, h=0.15, confidence=pytest.approx(0.9987))
    assert edge.x == 0.0
    assert edge.y == 0.8
    assert edge.w == pytest.approx(0.20)  # -0.05 + 0.25, the part inside the picture
    assert edge.h == pytest.approx(0.20)  # 0.8 + 0.3 clipped to 1.0
    assert edge.confidence == pytest.approx(0.915)
    assert edge.time is None


def test_detect_faces_without_a_version_sends_none(rekognition_stub: Stubber) -> None:
    rekognition_stub.add_response(
        "detect_faces",
        {"FaceDetails": []},
        expected_params={
            "Image": {"S3Object": {"Bucket": "media-bucket", "Name": "k.png"}},
            "Attributes": ["DEFAULT"],
        },
    )
    assert rekognition.detect_faces(S3Image("media-bucket", "k.png")) == []


def test_detect_faces_in_frame_bytes_stamps_the_time(rekognition_stub: Stubber) -> None:
    frame = jpeg()
    rekognition_stub.add_response(
        "detect_faces",
        {"FaceDetails": [face_detail(0.4, 0.3, 0.2, 0.25, 99.1)]},
        expected_params={"Image": {"Bytes": frame}, "Attributes": ["DEFAULT"]},
    )
    (face,) = rekognition.detect_faces(frame, time=12.5)
    assert face.time == 12.5
    assert (face.x, face.y, face.w, face.h) == pytest.approx((0.4, 0.3, 0.2, 0.25))


def test_our_byte_limit_is_the_models() -> None:
    # botocore validates minimum lengths only; the maximum is the service's to enforce.
    model = clients.client("rekognition").meta.service_model
    assert model.shape_for("ImageBlob").metadata["max"] == MAX_IMAGE_BYTES


def test_bytes_at_the_limit_are_sent_and_one_more_is_refused_before_calling(
    rekognition_stub: Stubber,
) -> None:
    at_limit = b"\xff" * MAX_IMAGE_BYTES
    rekognition_stub.add_response(
        "detect_faces",
        {"FaceDetails": []},
        expected_params={"Image": {"Bytes": at_limit}, "Attributes": ["DEFAULT"]},
    )
    assert rekognition.detect_faces(at_limit) == []
    with pytest.raises(AnalysisError, match="at most 5 MB") as caught:
        rekognition.detect_faces(at_limit + b"\xff")
    assert caught.value.reason == ReasonCode.ANALYSIS_FAILED
    # No request was made for it: the Stubber, with nothing queued, would have raised.


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("ProvisionedThroughputExceededException", 400),
        ("InternalServerError", 500),
        ("ServiceUnavailableException", 503),
    ],
)
def test_service_trouble_is_transient(rekognition_stub: Stubber, code: str, status: int) -> None:
    rekognition_stub.add_client_error(
        "detect_faces",
        service_error_code=code,
        service_message="Slow down",
        http_status_code=status,
    )
    with pytest.raises(TransientError, match=code):
        rekognition.detect_faces(jpeg())


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("InvalidImageFormatException", "JPEG or PNG"),
        ("ImageTooLargeException", "too large"),
        ("InvalidS3ObjectException", "could not read s3://media-bucket/k.jpg"),
        ("InvalidParameterException", "Request has invalid parameters"),
        ("AccessDeniedException", "rekognition:DetectFaces"),
    ],
)
def test_a_picture_rekognition_cannot_use_is_an_analysis_failure(
    rekognition_stub: Stubber, code: str, says: str
) -> None:
    rekognition_stub.add_client_error(
        "detect_faces",
        service_error_code=code,
        service_message="Request has invalid parameters",
        http_status_code=400,
    )
    with pytest.raises(AnalysisError, match=says) as caught:
        rekognition.detect_faces(S3Image("media-bucket", "k.jpg"))
    assert caught.value.reason == ReasonCode.ANALYSIS_FAILED


def test_a_request_the_model_refuses_is_an_analysis_failure() -> None:
    # Bucket names have at least 3 characters; botocore's validation says so before
    # anything is sent (no Stubber here: it would answer before validation runs).
    with pytest.raises(AnalysisError, match=r"Image\.S3Object\.Bucket"):
        rekognition.detect_faces(S3Image("b", "k.jpg"))


def test_a_network_failure_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(**params: Any) -> dict[str, Any]:
        raise EndpointConnectionError(endpoint_url="https://rekognition.eu-west-1.amazonaws.com")

    monkeypatch.setattr(clients.client("rekognition"), "detect_faces", unreachable)
    with pytest.raises(TransientError, match="could not be reached"):
        rekognition.detect_faces(jpeg())


# --- Rekognition DetectModerationLabels ---


def test_detect_moderation_labels(rekognition_stub: Stubber) -> None:
    rekognition_stub.add_response(
        "detect_moderation_labels",
        moderation_response(
            ("Violence", "", 97.2, 1),
            ("Graphic Violence", "Violence", 96.5, 2),
            ("Blood & Gore", "Graphic Violence", 88.0, 3),
        ),
        expected_params={
            "Image": {"S3Object": {"Bucket": "media-bucket", "Name": "k.jpg", "Version": "v1"}},
            "MinConfidence": 60.0,
        },
    )
    labels = rekognition.detect_moderation_labels(
        S3Image("media-bucket", "k.jpg", "v1"), min_confidence=60
    )
    assert [(la.name, la.parent) for la in labels] == [
        ("Violence", None),  # Rekognition's "" parent of a top-level category
        ("Graphic Violence", "Violence"),
        ("Blood & Gore", "Graphic Violence"),
    ]
    assert [la.confidence for la in labels] == pytest.approx([0.972, 0.965, 0.88])


def test_moderation_confidence_is_rekognitions_percent(rekognition_stub: Stubber) -> None:
    with pytest.raises(ValueError, match="percentage"):
        rekognition.detect_moderation_labels(jpeg(), min_confidence=120)


def test_rekognition_moderation_judges_video_frames_by_the_policy(
    rekognition_stub: Stubber,
) -> None:
    policy = ModerationPolicy.load()
    frames = [(2.0, jpeg(value=40)), (4.0, jpeg(value=200))]
    responses = [
        moderation_response(("Alcohol", "", 91.0, 1), ("Alcoholic Beverages", "Alcohol", 90.2, 2)),
        moderation_response(
            ("Explicit", "", 93.1, 1),
            ("Explicit Nudity", "Explicit", 92.4, 2),
            ("Exposed Female Genitalia", "Explicit Nudity", 90.8, 3),
        ),
    ]
    for (_, frame), response in zip(frames, responses, strict=True):
        rekognition_stub.add_response(
            "detect_moderation_labels",
            response,
            # Asked down to the policy's lowest threshold, so no label it acts on is lost.
            expected_params={
                "Image": {"Bytes": frame},
                "MinConfidence": policy.lowest_confidence * 100,
            },
        )
    verdict = RekognitionModeration().moderate_frames(frames, policy)
    assert verdict.action == "block"
    assert verdict.backend == "rekognition"
    assert verdict.policy_name == "default"
    (label,) = verdict.labels  # the alcohol is allowed by the default policy
    assert (label.name, label.time) == ("Exposed Female Genitalia", 4.0)


# --- the face backends give one format ---


def test_rekognition_and_opencv_faces_give_the_same_result_format(
    rekognition_stub: Stubber,
) -> None:
    frames = [(0.0, jpeg()), (5.0, jpeg(value=60))]
    for _, frame in frames:
        rekognition_stub.add_response(
            "detect_faces",
            {"FaceDetails": [face_detail(0.3, 0.25, 0.2, 0.3, 99.5)]},
            expected_params={"Image": {"Bytes": frame}, "Attributes": ["DEFAULT"]},
        )
    cloud = RekognitionFaces().faces_in_frames(frames)
    offline = OpenCVFaces().faces_in_frames(frames)  # flat grey frames: no faces
    assert offline == []
    assert [f.time for f in cloud] == [0.0, 5.0]
    assert all(isinstance(f, FaceBox) for f in cloud + offline)
    stored = AnalysisResult(faces=tuple(cloud)).to_dict()
    assert AnalysisResult.from_dict(json.loads(json.dumps(stored))).faces == tuple(cloud)


# --- Transcribe, in moto ---

TRANSCRIPT_TEXT = (
    "Welcome to Lumiere. Every upload becomes a stream, with captions, within a minute."
)


def transcribe_output(job_name: str, text: str, start: float = 0.52) -> dict[str, Any]:
    """A transcript as Transcribe writes it: strings for times and confidences,
    punctuation as items of its own without times, and the segments it heard."""
    items: list[dict[str, Any]] = []
    t = start
    for token in text.split():
        word = token.rstrip(".,?!")
        items.append(
            {
                "id": len(items),
                "type": "pronunciation",
                "alternatives": [{"confidence": "0.998", "content": word}],
                "start_time": f"{t:.3f}",
                "end_time": f"{t + 0.31:.3f}",
            }
        )
        t += 0.38
        if word != token:
            items.append(
                {
                    "id": len(items),
                    "type": "punctuation",
                    "alternatives": [{"confidence": "0.0", "content": token[len(word) :]}],
                }
            )
    return {
        "jobName": job_name,
        "accountId": "123456789012",
        "status": "COMPLETED",
        "results": {
            "language_code": "en-US",
            "transcripts": [{"transcript": text}],
            "items": items,
            "audio_segments": [
                {
                    "id": 0,
                    "transcript": text,
                    "start_time": f"{start:.3f}",
                    "end_time": f"{t:.3f}",
                    "items": list(range(len(items))),
                }
            ],
        },
    }


@pytest.fixture
def moto_aws() -> Iterator[Any]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(
            Bucket="media-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        s3.put_object(Bucket="media-bucket", Key=f"uploads/{ASSET_ID}/talk.mp4", Body=b"\0" * 64)
        yield s3


def test_transcribe_job_from_start_to_webvtt(moto_aws: Any) -> None:
    name = transcribe.transcription_job_name(ASSET_ID, "en-US")
    media = S3Image("media-bucket", f"uploads/{ASSET_ID}/talk.mp4")
    output_key = f"assets/{ASSET_ID}/analysis/transcript.json"

    transcribe.start_transcription(name, media, "en-US", "media-bucket", output_key)
    # A redelivered message starts it again: the existing job is kept, no error.
    transcribe.start_transcription(name, media, "en-US", "media-bucket", output_key)

    seen = [transcribe.transcription_job(name) for _ in range(3)]  # moto advances per read
    assert [job.status for job in seen] == ["QUEUED", "IN_PROGRESS", "COMPLETED"]
    assert seen[-1].finished
    assert seen[-1].language_code == "en-US"
    assert seen[-1].failure_reason is None

    # Transcribe writes its output where it was told to.
    moto_aws.put_object(
        Bucket="media-bucket",
        Key=output_key,
        Body=json.dumps(transcribe_output(name, TRANSCRIPT_TEXT)).encode(),
    )
    words = transcribe.read_transcript("media-bucket", output_key)
    assert all(isinstance(w, Word) for w in words)
    assert " ".join(w.text for w in words) == TRANSCRIPT_TEXT  # punctuation on its word
    assert words[0].start == 0.52

    cues = words_to_cues(words)
    assert " ".join(cue.text for cue in cues) == TRANSCRIPT_TEXT
    for cue in cues:
        assert len(cue.lines) <= MAX_LINES
        assert all(len(line) <= MAX_LINE_CHARS for line in cue.lines)
        assert 0 < cue.duration <= MAX_CUE_SECONDS
    vtt = cues_to_webvtt(cues)
    assert vtt.startswith("WEBVTT\n")
    assert "00:00:00.520 --> " in vtt
    assert vtt.splitlines()[4].startswith("Welcome to Lumiere.")
    # The same stored format as the offline engine's captions.
    result = AnalysisResult(captions=tuple(cues), caption_backend="transcribe")
    assert AnalysisResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_transcribe_identifies_the_language_when_none_is_known(moto_aws: Any) -> None:
    name = transcribe.transcription_job_name(ASSET_ID, "auto")
    media = S3Image("media-bucket", f"uploads/{ASSET_ID}/talk.mp4")
    transcribe.start_transcription(name, media, None, "media-bucket", "out/t.json")
    assert transcribe.transcription_job(name).language_code is None  # QUEUED: not yet known
    assert transcribe.transcription_job(name).language_code == "en-US"  # identified


def test_an_unknown_job_is_an_analysis_failure(moto_aws: Any) -> None:
    with pytest.raises(AnalysisError, match="no job"):
        transcribe.transcription_job("lumiere-never-started")


def test_a_transcript_that_is_not_one_is_an_analysis_failure(moto_aws: Any) -> None:
    moto_aws.put_object(Bucket="media-bucket", Key="out/bad.json", Body=b"<html>nope</html>")
    moto_aws.put_object(Bucket="media-bucket", Key="out/other.json", Body=b'{"jobName": "x"}')
    with pytest.raises(AnalysisError, match="not JSON"):
        transcribe.read_transcript("media-bucket", "out/bad.json")
    with pytest.raises(AnalysisError, match="no results"):
        transcribe.read_transcript("media-bucket", "out/other.json")


def test_output_key_must_name_the_json_file(moto_aws: Any) -> None:
    # Without .json Transcribe would write {key}/{job}.json, not where we read.
    with pytest.raises(ValueError, match=r"\.json"):
        transcribe.start_transcription(
            "j", S3Image("media-bucket", "k.mp4"), "en-US", "media-bucket", "out/transcripts/"
        )


# --- Transcribe, what moto does not model: the exact request, a failure, errors ---


def test_start_transcription_request_shape(transcribe_stub: Stubber) -> None:
    for language, chosen in (
        ("fr-FR", {"LanguageCode": "fr-FR"}),
        (None, {"IdentifyLanguage": True}),
    ):
        transcribe_stub.add_response(
            "start_transcription_job",
            {"TranscriptionJob": {"TranscriptionJobName": "j", "TranscriptionJobStatus": "QUEUED"}},
            expected_params={
                "TranscriptionJobName": "j",
                "Media": {"MediaFileUri": "s3://in/uploads/a/b.mp4"},
                "OutputBucketName": "out",
                "OutputKey": "assets/a/transcript.json",
                **chosen,
            },
        )
        transcribe.start_transcription(
            "j", S3Image("in", "uploads/a/b.mp4"), language, "out", "assets/a/transcript.json"
        )


def test_a_failed_job_reports_why(transcribe_stub: Stubber) -> None:
    reason = "The media format that you specified doesn't match the detected media format."
    transcribe_stub.add_response(
        "get_transcription_job",
        {
            "TranscriptionJob": {
                "TranscriptionJobName": "j",
                "TranscriptionJobStatus": "FAILED",
                "LanguageCode": "en-US",
                "FailureReason": reason,
                "Media": {"MediaFileUri": "s3://in/k.mp4"},
            }
        },
        expected_params={"TranscriptionJobName": "j"},
    )
    job = transcribe.transcription_job("j")
    assert (job.status, job.failure_reason, job.finished) == ("FAILED", reason, True)


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("LimitExceededException", 400, TransientError),
        ("InternalFailureException", 500, TransientError),
        ("BadRequestException", 400, AnalysisError),
        ("AccessDeniedException", 403, AnalysisError),
    ],
)
def test_start_errors(
    transcribe_stub: Stubber, code: str, status: int, error: type[Exception]
) -> None:
    transcribe_stub.add_client_error(
        "start_transcription_job",
        service_error_code=code,
        service_message="Unsupported language",
        http_status_code=status,
    )
    with pytest.raises(error):
        transcribe.start_transcription(
            "j", S3Image("in", "k.mp4"), "en-US", "out", "assets/a/transcript.json"
        )
