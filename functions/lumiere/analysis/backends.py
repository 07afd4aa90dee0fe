"""The switchable analysis backends: faces by OpenCV (offline) or Amazon Rekognition,
moderation by Rekognition or not at all. Each gives the same dataclasses, so what the
pipeline stores does not depend on the choice.

Each backend imports its engine when first used, not at import: a function deployed
with the Rekognition backends need not ship OpenCV (about 100 MB of the 250 MB Lambda
limit), and the offline one never touches boto3.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from lumiere.analysis.models import FaceBox
from lumiere.analysis.moderation import (
    ModerationBackend,
    ModerationPolicy,
    ModerationVerdict,
    NoModeration,
    judge,
)


class FaceDetector(Protocol):
    name: str

    def faces_in_image(self, image: bytes) -> list[FaceBox]:
        """Faces in one encoded picture (JPEG, PNG), largest first."""
        ...

    def faces_in_frames(self, frames: Iterable[tuple[float, bytes]]) -> list[FaceBox]:
        """Faces in frames sampled from a video, given as (seconds, encoded JPEG); each
        box carries its frame's time."""
        ...


@dataclass(frozen=True)
class OpenCVFaces:
    """Haar cascades, offline (``analysis.faces``). Boxes carry no confidence."""

    name: str = field(default="opencv")

    def faces_in_image(self, image: bytes) -> list[FaceBox]:
        from lumiere.analysis.faces import detect_faces

        return detect_faces(image)

    def faces_in_frames(self, frames: Iterable[tuple[float, bytes]]) -> list[FaceBox]:
        from lumiere.analysis.faces import detect_faces, faces_in_video, to_gray

        # Decoded one frame at a time, so a long video never sits in memory decoded.
        return faces_in_video(((time, to_gray(jpeg)) for time, jpeg in frames), detect_faces)


@dataclass(frozen=True)
class RekognitionFaces:
    """Amazon Rekognition DetectFaces, one request per picture or frame."""

    name: str = field(default="rekognition")

    def faces_in_image(self, image: bytes) -> list[FaceBox]:
        from lumiere.cloud.rekognition import detect_faces

        return detect_faces(image)

    def faces_in_frames(self, frames: Iterable[tuple[float, bytes]]) -> list[FaceBox]:
        from lumiere.cloud.rekognition import detect_faces

        return [face for time, jpeg in frames for face in detect_faces(jpeg, time=time)]


@dataclass(frozen=True)
class RekognitionModeration:
    """Amazon Rekognition DetectModerationLabels, judged by the policy. Rekognition is
    asked for every label the policy could act on (its lowest threshold)."""

    name: str = field(default="rekognition")

    def moderate_image(self, image: bytes, policy: ModerationPolicy) -> ModerationVerdict:
        from lumiere.cloud.rekognition import detect_moderation_labels

        labels = detect_moderation_labels(image, min_confidence=_percent(policy))
        return judge(labels, policy, backend=self.name)

    def moderate_frames(
        self, frames: Iterable[tuple[float, bytes]], policy: ModerationPolicy
    ) -> ModerationVerdict:
        from lumiere.cloud.rekognition import detect_moderation_labels

        threshold = _percent(policy)
        labels = [
            label
            for time, jpeg in frames
            for label in detect_moderation_labels(jpeg, min_confidence=threshold, time=time)
        ]
        return judge(labels, policy, backend=self.name)


def _percent(policy: ModerationPolicy) -> float:
    return round(policy.lowest_confidence * 100.0, 3)


FACE_DETECTORS: dict[str, type[OpenCVFaces] | type[RekognitionFaces]] = {
    "opencv": OpenCVFaces,
    "rekognition": RekognitionFaces,
}
MODERATION_BACKENDS: dict[str, type[NoModeration] | type[RekognitionModeration]] = {
    "none": NoModeration,
    "rekognition": RekognitionModeration,
}


def face_detector(name: str) -> FaceDetector:
    """The face backend a setting names ("opencv" or "rekognition")."""
    try:
        return FACE_DETECTORS[name]()
    except KeyError:
        raise ValueError(
            f"unknown face backend {name!r}; choose one of: {', '.join(FACE_DETECTORS)}"
        ) from None


def moderation_backend(name: str) -> ModerationBackend:
    """The moderation backend a setting names ("none" or "rekognition")."""
    try:
        return MODERATION_BACKENDS[name]()
    except KeyError:
        raise ValueError(
            f"unknown moderation backend {name!r}; choose one of: {', '.join(MODERATION_BACKENDS)}"
        ) from None
