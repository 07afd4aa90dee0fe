"""The analysis part: faces, audio facts and captions, run by AnalysisFunction.

Analysis never fails an asset. Each step ends DONE, SKIPPED or FAILED with a reason code
and a sentence (analysis.models.StepOutcome); only a transient error (S3 or a service
briefly unavailable, the Lambda running out of time) propagates so SQS retries the part,
and on its last delivery the handler records the part as given up instead
(``give_up_analysis``), so the asset still becomes READY.

Results: the whole of them as JSON in MediaBucket (``analysis/analysis.json``), a
summary in the catalogue (counts and the largest faces, for smart crop), and captions as
a WebVTT file with a one-segment HLS playlist inside the HLS package, which the fan-in
names in the master playlist and the MPD.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from lumiere.analysis.captions import cues_to_webvtt, words_to_cues
from lumiere.analysis.models import (
    DONE,
    FAILED,
    SKIPPED,
    AnalysisResult,
    AudioFacts,
    Cue,
    FaceBox,
    StepOutcome,
)
from lumiere.cloud.storage import put_bytes, read_object
from lumiere.errors import AnalysisError, PermanentError, ReasonCode, TransientError
from lumiere.media.audio import language_tag
from lumiere.media.streams import MediaKind
from lumiere.media.subtitles import SubtitleTrack, build_subtitle_playlist, with_timestamp_map
from lumiere.media.tools import find_binaries, timeout_from_remaining
from lumiere.pipeline import keys
from lumiere.pipeline.job import Job

log = logging.getLogger(__name__)

FACES, AUDIO_FACTS, CAPTIONS = "faces", "audio", "captions"
# The catalogue keeps this many faces (the largest); analysis.json keeps them all.
SUMMARY_FACES = 20
# Languages the offline recogniser has a model for (pocketsphinx ships US English).
OFFLINE_CAPTION_LANGUAGES = ("en",)


def analysis_part(job: Job, published: list[str]) -> dict[str, Any]:
    """Run every step that applies to the asset's kind; returns the part's output."""
    steps: dict[str, StepOutcome] = {}
    faces: list[FaceBox] = []
    audio: AudioFacts | None = None
    cues: tuple[Cue, ...] | None = None
    subtitles: list[SubtitleTrack] = []
    kind = job.task.kind

    def step(name: str, run: Callable[[], StepOutcome]) -> None:
        try:
            steps[name] = run()
        except TransientError:
            raise
        except PermanentError as e:
            steps[name] = StepOutcome(FAILED, str(e.reason), e.message)
        except Exception as e:  # a bug or an input a library chokes on: never the asset's end
            log.exception("analysis step %s failed", name)
            steps[name] = StepOutcome(
                FAILED,
                ReasonCode.ANALYSIS_FAILED.value,
                f"The {name} step could not analyse this file ({type(e).__name__}); the "
                "asset plays as usual.",
            )

    def find_faces() -> StepOutcome:
        nonlocal faces
        faces = _faces(job)
        return StepOutcome(DONE)

    def measure() -> StepOutcome:
        nonlocal audio
        if not job.info.audio:
            return StepOutcome(SKIPPED, "no_audio", "The file has no audio track.")
        audio = _audio_facts(job)
        return StepOutcome(DONE)

    def caption() -> StepOutcome:
        nonlocal cues
        outcome, language = _caption_plan(job, audio, steps.get(AUDIO_FACTS))
        if outcome is not None:
            return outcome
        assert language is not None
        cues = tuple(words_to_cues(_words(job, language)))
        track = _publish_captions(job, language, cues, published)
        subtitles.append(track)
        return StepOutcome(DONE)

    if kind in (MediaKind.IMAGE, MediaKind.VIDEO):
        step(FACES, find_faces)
    if kind in (MediaKind.VIDEO, MediaKind.AUDIO):
        step(AUDIO_FACTS, measure)
        step(CAPTIONS, caption)

    result = AnalysisResult(
        faces=tuple(faces),
        audio=audio,
        captions=cues,
        caption_backend=_caption_backend(job) if cues is not None else None,
        extra={"steps": {n: s.to_dict() for n, s in steps.items()}},
    )
    key = keys.analysis_key(job.task.asset_id)
    put_bytes(
        job.settings.media_bucket,
        key,
        json.dumps(result.to_dict()).encode("utf-8"),
        "application/json",
    )
    published.append(key)
    return {
        "analysis": summarise(result, steps, key),
        "subtitles": [t.to_dict() for t in subtitles],
    }


def give_up_analysis(attempts: int) -> dict[str, Any]:
    """The part's output when every attempt failed: the asset goes on to READY."""
    outcome = StepOutcome(
        FAILED,
        ReasonCode.ANALYSIS_FAILED.value,
        f"Analysis did not finish in {attempts} attempts and was stopped; the asset plays "
        "as usual. Contact support with the asset id if you need its analysis.",
    )
    return {"analysis": {"status": FAILED, "steps": {"all": outcome.to_dict()}}, "subtitles": []}


def summarise(result: AnalysisResult, steps: dict[str, StepOutcome], key: str) -> dict[str, Any]:
    """What the catalogue keeps: small whatever the length (DynamoDB items are capped at
    400 KB); the whole result is in ``key``."""
    failed = any(s.status == FAILED for s in steps.values())
    largest = sorted(result.faces, key=lambda f: f.area, reverse=True)[:SUMMARY_FACES]
    summary: dict[str, Any] = {
        "status": FAILED if failed and not any(s.status == DONE for s in steps.values()) else DONE,
        "steps": {n: s.to_dict() for n, s in steps.items()},
        "document": key,
        "face_count": len(result.faces),
        "faces": [f.to_dict() for f in largest],
    }
    if result.audio is not None:
        audio = result.audio.to_dict()
        audio["silences"] = len(result.audio.silences)  # the stretches are in the document
        summary["audio"] = audio
    if result.captions is not None:
        summary["captions"] = {"cues": len(result.captions), "backend": result.caption_backend}
    return summary


# --------------------------------------------------------------------------- faces


def _faces(job: Job) -> list[FaceBox]:
    from lumiere.analysis.faces import detect_faces, faces_in_video, video_frames

    if job.task.kind is MediaKind.IMAGE:
        return detect_faces(_image_gray(job))
    video = job.info.primary_video
    if video is None:
        return []
    frames = video_frames(
        str(find_binaries().ffmpeg),
        job.source_url,
        video.display_size,
        timeout=_timeout(job),
        every_seconds=job.settings.face_sample_seconds,
    )
    return faces_in_video(frames)


def _image_gray(job: Job) -> Any:
    """The upright picture in grey, decoded by the image pipeline (so EXIF orientation,
    HEIC and the pixel limit are handled as they are for the variants)."""
    import numpy as np

    from lumiere.media.images import open_upright

    source = job.task.source
    data = read_object(source.bucket, source.key, source.version_id)
    img = open_upright(data, max_pixels=job.settings.max_pixels)
    img.thumbnail((2048, 2048))  # Haar cascades need ~24 px faces, not 12 MP
    return np.asarray(img.convert("L"))


# --------------------------------------------------------------------------- audio


def _audio_facts(job: Job) -> AudioFacts:
    from lumiere.analysis.audio_facts import measure_audio

    return measure_audio(
        str(find_binaries().ffmpeg),
        job.source_url,
        duration=job.info.duration,
        timeout=_timeout(job),
    )


# --------------------------------------------------------------------------- captions


def caption_language(
    requested: str | None, stream_language: str | None, default: str
) -> str | None:
    """The language to caption in: the upload's, else the audio stream's tag, else the
    deployment's default; None when none is known."""
    for candidate in (requested, stream_language, default):
        # The primary subtag: "en-GB" captions as English (the recogniser's model).
        tag, _ = language_tag((candidate or "").replace("_", "-").split("-")[0])
        if tag != "und":
            return tag
    return None


def _caption_plan(
    job: Job, audio: AudioFacts | None, audio_step: StepOutcome | None
) -> tuple[StepOutcome | None, str | None]:
    """(why captions are skipped, None) or (None, the language to caption in)."""
    if audio is None:
        if audio_step is not None and audio_step.status == FAILED:
            return StepOutcome(SKIPPED, "no_audio_facts", "The audio could not be measured."), None
        return StepOutcome(SKIPPED, "no_audio", "The file has no audio track."), None
    if not audio.speech_likely:
        return (
            StepOutcome(SKIPPED, "no_speech", "No speech was heard (music or silence)."),
            None,
        )
    stream = job.info.audio[0].language if job.info.audio else None
    language = caption_language(job.language, stream, job.settings.default_caption_language)
    if language is None:
        return (
            StepOutcome(
                SKIPPED,
                ReasonCode.UNSUPPORTED_LANGUAGE.value,
                "The audio's language is not stated; name it in the upload request "
                "(language) to get captions.",
            ),
            None,
        )
    if job.settings.analysis_backend != "aws" and language not in OFFLINE_CAPTION_LANGUAGES:
        return (
            StepOutcome(
                SKIPPED,
                ReasonCode.UNSUPPORTED_LANGUAGE.value,
                f"Automatic captions are not available in {language!r} here (offline "
                f"speech recognition supports: {', '.join(OFFLINE_CAPTION_LANGUAGES)}).",
            ),
            None,
        )
    return None, language


def _caption_backend(job: Job) -> str:
    return "transcribe" if job.settings.analysis_backend == "aws" else "pocketsphinx"


def _words(job: Job, language: str) -> list[Any]:
    if job.settings.analysis_backend == "aws":
        raise AnalysisError(
            "Amazon Transcribe captions are started by the analysis function's AWS backend."
        )
    from lumiere.analysis.captions import transcribe_url

    return transcribe_url(str(find_binaries().ffmpeg), job.source_url, timeout=_timeout(job))


def _publish_captions(
    job: Job, language: str, cues: tuple[Cue, ...], published: list[str]
) -> SubtitleTrack:
    tag, english = language_tag(language)
    track = SubtitleTrack(
        language=tag,
        name=f"{english or tag} (automatic)",
        vtt=f"captions/{tag}.vtt",
        playlist=f"captions/{tag}.m3u8",
    )
    prefix = keys.captions_prefix(job.task.asset_id)
    published.append(prefix)
    vtt = with_timestamp_map(cues_to_webvtt(cues))
    put_bytes(job.settings.media_bucket, prefix + f"{tag}.vtt", vtt.encode("utf-8"), "text/vtt")
    playlist = build_subtitle_playlist(track, job.info.duration or 0.0, f"{tag}.vtt")
    put_bytes(
        job.settings.media_bucket,
        prefix + f"{tag}.m3u8",
        playlist.encode("utf-8"),
        "application/vnd.apple.mpegurl",
    )
    return track


def _timeout(job: Job) -> float | None:
    return timeout_from_remaining(job.remaining_ms(), job.settings.tool_timeout_margin_seconds)
