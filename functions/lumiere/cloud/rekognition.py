"""Amazon Rekognition (image APIs): faces and moderation labels in one picture, as the
same dataclasses the offline detectors give (``FaceBox``, ``ModerationLabel``).

A picture is either an S3 object (Rekognition reads it itself, up to 15 MB) or encoded
bytes (JPEG or PNG, up to 5 MB), e.g. a frame sampled from a video. Errors are sorted
for the pipeline: throttling and service faults are ``TransientError`` (the message is
redelivered); a picture Rekognition cannot use is an ``AnalysisError``, recorded as the
analysis step's failure and never the asset's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError

from lumiere.analysis.models import FaceBox
from lumiere.analysis.moderation import ModerationLabel
from lumiere.cloud import clients
from lumiere.errors import AnalysisError, TransientError

# Rekognition's limit on an image passed as bytes (the ImageBlob shape's max length).
MAX_IMAGE_BYTES = 5 * 1024 * 1024

TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "InternalServerError",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "ResourceNotReadyException",
        "HumanLoopQuotaExceededException",
        "LimitExceededException",
    }
)


@dataclass(frozen=True)
class S3Image:
    """A picture in S3, pinned to one version when the bucket keeps versions."""

    bucket: str
    key: str
    version_id: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _image(image: S3Image | bytes) -> dict[str, Any]:
    if isinstance(image, S3Image):
        s3_object = {"Bucket": image.bucket, "Name": image.key}
        if image.version_id:
            s3_object["Version"] = image.version_id
        return {"S3Object": s3_object}
    if not image:
        raise AnalysisError("The picture to analyse is empty (0 bytes).")
    if len(image) > MAX_IMAGE_BYTES:
        raise AnalysisError(
            f"The picture is {len(image) / 1024 / 1024:.1f} MB; Rekognition takes at most "
            "5 MB as bytes. Send a smaller JPEG (1280 px wide is plenty to find faces) or "
            "let Rekognition read it from S3 (up to 15 MB)."
        )
    return {"Bytes": bytes(image)}


def _where(image: S3Image | bytes) -> str:
    return image.uri if isinstance(image, S3Image) else f"a {len(image)}-byte picture"


def _permanent_message(code: str, message: str, operation: str, where: str) -> str:
    if code == "InvalidImageFormatException":
        return f"Rekognition could not read {where}: it takes JPEG or PNG pictures only."
    if code == "ImageTooLargeException":
        return (
            f"{where} is too large for Rekognition (at most 5 MB as bytes, 15 MB from S3); "
            "analyse a smaller rendition."
        )
    if code == "InvalidS3ObjectException":
        return (
            f"Rekognition could not read {where}: the object (or that version) is missing, "
            "in another region than Rekognition's, or not readable by the caller's role."
        )
    if code == "AccessDeniedException":
        return (
            f"The analysis function may not call Rekognition {operation}: grant it "
            f"rekognition:{operation} (and s3:GetObject on the bucket it reads)."
        )
    if code == "InvalidParameterException":
        # Also what a picture below Rekognition's 80 px minimum gets.
        return f"Rekognition refused {where}: {message or 'invalid parameters'}."
    return f"Rekognition {operation} failed on {where} ({code}): {message}"


def _call(operation: str, image: S3Image | bytes, **params: Any) -> dict[str, Any]:
    """One Rekognition request, its errors sorted into transient and analysis ones."""
    method = "".join(part.title() for part in operation.split("_"))
    try:
        response: dict[str, Any] = getattr(clients.client("rekognition"), operation)(
            Image=_image(image), **params
        )
        return response
    except ClientError as e:
        error = e.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in TRANSIENT_CODES or status >= 500:
            raise TransientError(f"Rekognition {method} is unavailable ({code})") from e
        message = str(error.get("Message", "")).strip().rstrip(".")
        raise AnalysisError(_permanent_message(code, message, method, _where(image))) from e
    except ParamValidationError as e:  # e.g. a bucket name shorter than S3 allows
        raise AnalysisError(f"Rekognition {method} cannot take {_where(image)}: {e}") from e
    except clients.NETWORK_ERRORS as e:
        raise TransientError(f"Rekognition {method} could not be reached: {e}") from e


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def face_box(detail: dict[str, Any], time: float | None = None) -> FaceBox:
    """A FaceDetail as a FaceBox. Rekognition's box is already a fraction of the picture
    (after its EXIF orientation is applied) but may run over the edges for a face cut off
    by the frame: it is clipped to the picture."""
    box = detail["BoundingBox"]
    left, top = float(box.get("Left", 0.0)), float(box.get("Top", 0.0))
    width, height = float(box.get("Width", 0.0)), float(box.get("Height", 0.0))
    x, y = _clip(left), _clip(top)
    # What runs over an edge is cut off; a box inside the picture keeps its exact size.
    w = max(0.0, width - (x - left) - max(0.0, left + width - 1.0))
    h = max(0.0, height - (y - top) - max(0.0, top + height - 1.0))
    confidence = detail.get("Confidence")
    return FaceBox(
        x=x,
        y=y,
        w=w,
        h=h,
        confidence=None if confidence is None else _clip(float(confidence) / 100.0),
        time=time,
    )


def detect_faces(image: S3Image | bytes, *, time: float | None = None) -> list[FaceBox]:
    """Faces in one picture, largest first (as the offline detector orders them).
    ``time`` stamps each box when the picture is a frame of a video."""
    response = _call("detect_faces", image, Attributes=["DEFAULT"])
    faces = [face_box(d, time) for d in response.get("FaceDetails", []) if "BoundingBox" in d]
    return sorted((f for f in faces if f.area > 0), key=lambda f: f.area, reverse=True)


def detect_moderation_labels(
    image: S3Image | bytes, *, min_confidence: float = 50.0, time: float | None = None
) -> list[ModerationLabel]:
    """Moderation labels with each one's parent (None at the top of the taxonomy).
    ``min_confidence`` is in percent, as Rekognition's MinConfidence; the labels'
    confidences come back as fractions 0..1, as everywhere else in Lumiere."""
    if not 0.0 <= min_confidence <= 100.0:
        raise ValueError(f"min_confidence is a percentage 0..100, got {min_confidence}")
    response = _call("detect_moderation_labels", image, MinConfidence=float(min_confidence))
    return [
        ModerationLabel(
            name=str(label["Name"]),
            parent=str(label.get("ParentName") or "") or None,
            confidence=_clip(float(label.get("Confidence", 0.0)) / 100.0),
            time=time,
        )
        for label in response.get("ModerationLabels", [])
        if label.get("Name")
    ]
