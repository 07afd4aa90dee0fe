"""The dataclasses that cross boundaries (to the catalogue, to JSON, between backends).

Everything is frozen and round-trips through ``to_dict``/``from_dict`` as plain JSON
types, so a result can be stored as a DynamoDB item or an S3 JSON document unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class FaceBox:
    """A face: its box normalised to the picture (0..1, origin top left), so it survives
    any rescale of the picture it was found in."""

    x: float
    y: float
    w: float
    h: float
    # None when the detector has no calibrated score (Haar cascades do not).
    confidence: float | None = None
    # Seconds into the video; None for a still image.
    time: float | None = None

    @property
    def area(self) -> float:
        return self.w * self.h

    def iou(self, other: FaceBox) -> float:
        """Intersection over union: 1 for the same box, 0 for disjoint ones."""
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "x": self.x,
            "y": self.y,
            "w": self.w,
            "h": self.h,
            "confidence": self.confidence,
            "time": self.time,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaceBox:
        return cls(
            x=float(data["x"]),
            y=float(data["y"]),
            w=float(data["w"]),
            h=float(data["h"]),
            confidence=_opt_float(data.get("confidence")),
            time=_opt_float(data.get("time")),
        )


@dataclass(frozen=True)
class Word:
    """One recognised word with its time span in seconds. ``text`` may carry trailing
    punctuation (Amazon Transcribe supplies it; pocketsphinx does not)."""

    text: str
    start: float
    end: float
    confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Word:
        return cls(
            text=str(data["text"]),
            start=float(data["start"]),
            end=float(data["end"]),
            confidence=_opt_float(data.get("confidence")),
        )


@dataclass(frozen=True)
class Cue:
    """One caption on screen: up to two lines, shown from ``start`` to ``end`` seconds."""

    start: float
    end: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "lines": list(self.lines)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cue:
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            lines=tuple(str(line) for line in data["lines"]),
        )


@dataclass(frozen=True)
class AudioFacts:
    """What the audio is like. Loudness figures are None when ffmpeg could not measure
    them (e.g. pure digital silence gives an integrated loudness of -70 LUFS or -inf)."""

    integrated_lufs: float | None
    lra: float | None
    true_peak_dbtp: float | None
    silences: tuple[tuple[float, float], ...] = ()
    speech_likely: bool = False
    duration: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "integrated_lufs": self.integrated_lufs,
            "lra": self.lra,
            "true_peak_dbtp": self.true_peak_dbtp,
            "silences": [[start, end] for start, end in self.silences],
            "speech_likely": self.speech_likely,
            "duration": self.duration,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AudioFacts:
        return cls(
            integrated_lufs=_opt_float(data.get("integrated_lufs")),
            lra=_opt_float(data.get("lra")),
            true_peak_dbtp=_opt_float(data.get("true_peak_dbtp")),
            silences=tuple((float(s), float(e)) for s, e in data.get("silences", [])),
            speech_likely=bool(data.get("speech_likely", False)),
            duration=_opt_float(data.get("duration")),
        )


@dataclass(frozen=True)
class AnalysisResult:
    """Everything the analysis step found for one asset. ``captions`` is None when
    captioning was not attempted (no audio, or no speech likely), and an empty tuple when
    it ran and heard no words."""

    faces: tuple[FaceBox, ...] = ()
    audio: AudioFacts | None = None
    captions: tuple[Cue, ...] | None = None
    caption_backend: str | None = None  # "pocketsphinx" or "transcribe"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "faces": [f.to_dict() for f in self.faces],
            "audio": None if self.audio is None else self.audio.to_dict(),
            "captions": None if self.captions is None else [c.to_dict() for c in self.captions],
            "caption_backend": self.caption_backend,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnalysisResult:
        audio = data.get("audio")
        captions = data.get("captions")
        return cls(
            faces=tuple(FaceBox.from_dict(f) for f in data.get("faces", [])),
            audio=None if audio is None else AudioFacts.from_dict(audio),
            captions=None if captions is None else tuple(Cue.from_dict(c) for c in captions),
            caption_backend=data.get("caption_backend"),
            extra=dict(data.get("extra") or {}),
        )


DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass(frozen=True)
class StepOutcome:
    """How one analysis step ended. Analysis never fails an asset: a step that could not
    run says why here (a stable ``reason`` code and a sentence), and the asset's playback
    outputs are unaffected."""

    status: str  # DONE | SKIPPED | FAILED
    reason: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepOutcome:
        return cls(
            status=str(data["status"]), reason=data.get("reason"), message=data.get("message")
        )
