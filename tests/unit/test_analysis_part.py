"""The analysis part's pure decisions: which language to caption in, what the catalogue
keeps, what a part that gave up records, and which faces a smart crop keeps."""

from __future__ import annotations

import pytest
from lumiere.analysis.models import AnalysisResult, AudioFacts, Cue, FaceBox, StepOutcome
from lumiere.api.image_routes import crop_focus
from lumiere.pipeline.parts.analysis import (
    SUMMARY_FACES,
    caption_language,
    give_up_analysis,
    summarise,
)


@pytest.mark.parametrize(
    ("requested", "stream", "default", "expected"),
    [
        ("fr", "eng", "en", "fr"),  # the request wins
        (None, "eng", "de", "eng"),  # then the stream's tag, as given
        (None, "und", "en", "en"),  # "und" says nothing: the default
        ("en-GB", None, "", "en-GB"),  # kept whole: Transcribe has a British model
        (None, None, "", None),  # nothing known: no guess
        (None, "zz9", "", None),
        (None, "mul", "", None),  # several languages is not one to caption in
    ],
)
def test_caption_language(
    requested: str | None, stream: str | None, default: str, expected: str | None
) -> None:
    assert caption_language(requested, stream, default) == expected


def test_summary_is_small_and_keeps_the_largest_faces() -> None:
    faces = tuple(FaceBox(0.01 * i, 0.0, 0.001 * i, 0.001 * i, time=float(i)) for i in range(100))
    result = AnalysisResult(
        faces=faces,
        audio=AudioFacts(-20.0, 5.0, -1.0, silences=((0.0, 1.0),) * 500, speech_likely=True),
        captions=(Cue(0.0, 1.0, ("hi",)),),
        caption_backend="pocketsphinx",
    )
    steps = {"faces": StepOutcome("done"), "captions": StepOutcome("failed", "x", "y")}
    summary = summarise(result, steps, "assets/a/analysis/analysis.json")
    assert summary["status"] == "done"  # one step failing is not the analysis failing
    assert summary["face_count"] == 100
    assert len(summary["faces"]) == SUMMARY_FACES
    assert summary["faces"][0]["time"] == 99.0  # the largest first
    assert summary["audio"]["silences"] == 500  # a count; the stretches are in the document
    assert summary["captions"] == {"cues": 1, "backend": "pocketsphinx"}
    failed = summarise(AnalysisResult(), {"faces": StepOutcome("failed", "x", "y")}, "k")
    assert failed["status"] == "failed"


def test_giving_up_says_so_and_names_the_attempts() -> None:
    out = give_up_analysis(3)
    assert out["subtitles"] == []
    assert out["analysis"]["status"] == "failed"
    step = out["analysis"]["steps"]["all"]
    assert step["reason"] == "analysis_failed"
    assert "3 attempts" in step["message"]


def test_smart_crop_keeps_the_faces_of_a_still_image() -> None:
    face = {"x": 0.5, "y": 0.25, "w": 0.2, "h": 0.1, "confidence": None, "time": None}
    still = {"images": {"w640": "k"}, "analysis": {"faces": [face]}}
    focus = crop_focus(still)
    assert focus is not None
    assert focus.faces == ((0.5, 0.25, 0.7, 0.35),)
    assert focus.boxes(1000, 1000) == [(500, 250, 700, 350)]
    # A video's faces are found in frames, not in its poster; no faces: saliency decides.
    assert crop_focus({"poster": "p.jpg", "analysis": {"faces": [face]}}) is None
    assert crop_focus({"images": {"w640": "k"}, "analysis": {"faces": []}}) is None


def test_offline_captions_are_skipped_when_they_cannot_finish_in_time() -> None:
    from dataclasses import replace

    from lumiere.analysis.models import AudioFacts
    from lumiere.config import Settings
    from lumiere.media.streams import AudioStream, MediaInfo
    from lumiere.pipeline.parts.analysis import Findings, _caption_plan

    class FakeJob:
        def __init__(self, duration: float, remaining_ms: int | None) -> None:
            self.info = MediaInfo(
                "wav", duration, 1, 1, audio=(AudioStream(0, "pcm_s16le", 1, 16000),)
            )
            self.settings = Settings()
            self.language = "en"
            self._remaining = remaining_ms

        def remaining_ms(self) -> int | None:
            return self._remaining

    found = Findings(audio=AudioFacts(-20.0, 5.0, -1.0, speech_likely=True))
    skipped, language = _caption_plan(FakeJob(3600.0, 880_000), found)  # type: ignore[arg-type]
    assert language is None
    assert skipped is not None
    assert (skipped.status, skipped.reason) == ("skipped", "too_long")
    assert "60 minutes" in skipped.message
    # Ten minutes fit in the same invocation; no limit at all (the local stack) always fits.
    assert _caption_plan(FakeJob(600.0, 880_000), found) == (None, "en")  # type: ignore[arg-type]
    assert _caption_plan(FakeJob(3600.0, None), found) == (None, "en")  # type: ignore[arg-type]
    # The aws backend (Transcribe) has no such limit.
    aws = FakeJob(3600.0, 880_000)
    aws.settings = replace(Settings(), analysis_backend="aws")
    assert _caption_plan(aws, found) == (None, "en")  # type: ignore[arg-type]
