"""The analysis part: faces, moderation, audio facts and captions, run by AnalysisFunction.

Analysis never fails an asset. Each step ends DONE, SKIPPED or FAILED with a reason code
and a sentence (analysis.models.StepOutcome); only a transient error (S3 or a service
briefly unavailable, the Lambda running out of time) propagates so SQS retries the part,
and on its last delivery the handler records the part as given up instead
(``give_up_analysis``), so the asset still becomes READY.

Two backends (``ANALYSIS_BACKEND``): ``offline`` (OpenCV; Moonshine or pocketsphinx as
``SPEECH_ENGINE`` says; no moderation model) and ``aws`` (Rekognition DetectFaces and
DetectModerationLabels per picture or sampled frame; Amazon Transcribe). Transcribe is
asynchronous: the part starts the job, keeps what it found so far in MediaBucket and
stops (PartPending); the job's EventBridge event, delivered to AnalysisQueue, resumes it
(``resume_captions``) and completes it.

Results: the whole of them as JSON in MediaBucket (``analysis/analysis.json``), a
summary in the catalogue (counts and the largest faces, for smart crop), and captions as
a WebVTT file with a one-segment HLS playlist inside the HLS package, which the fan-in
names in the master playlist and the MPD.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lumiere.analysis.captions import Recognizer, cues_to_webvtt, recognizer, words_to_cues
from lumiere.analysis.languages import (
    OFFLINE_CAPTION_LANGUAGES,
    base_language,
    offline_caption_language,
    transcribe_language_code,
)
from lumiere.analysis.models import (
    DONE,
    FAILED,
    SKIPPED,
    AnalysisResult,
    AudioFacts,
    Cue,
    FaceBox,
    StepOutcome,
    Word,
)
from lumiere.analysis.moderation import ModerationPolicy, ModerationVerdict
from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.storage import put_bytes, put_file, read_object
from lumiere.config import Settings
from lumiere.errors import (
    AnalysisError,
    PartPending,
    PermanentError,
    ReasonCode,
    TransientError,
)
from lumiere.media.audio import language_tag
from lumiere.media.streams import MediaKind
from lumiere.media.subtitles import SubtitleTrack, build_subtitle_playlist, with_timestamp_map
from lumiere.media.tools import find_binaries, run_tool, timeout_from_remaining
from lumiere.pipeline import keys
from lumiere.pipeline.job import Job
from lumiere.pipeline.plan import ANALYSIS
from lumiere.pipeline.status import AssetStatus

log = logging.getLogger(__name__)

FACES, MODERATION, AUDIO_FACTS, CAPTIONS = "faces", "moderation", "audio", "captions"
# The catalogue keeps this many faces (the largest); analysis.json keeps them all.
SUMMARY_FACES = 20
# Pictures handed to a detector: Haar cascades need ~24 px faces, Rekognition takes at
# most 5 MB; 2048 px is plenty for both.
ANALYSIS_PICTURE_MAX = 2048
FRAME_JPEG_QUALITY = 85
_JOB_ASSET = re.compile(r"^lumiere-([0-9a-f]{32})-")


@dataclass
class Findings:
    """What the steps found so far; kept in MediaBucket while Transcribe works."""

    steps: dict[str, StepOutcome] = field(default_factory=dict)
    faces: list[FaceBox] = field(default_factory=list)
    audio: AudioFacts | None = None
    moderation: ModerationVerdict | None = None
    cues: tuple[Cue, ...] | None = None
    subtitles: list[SubtitleTrack] = field(default_factory=list)
    caption_language: str | None = None  # the tag captions are made in
    transcription_job: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": {n: s.to_dict() for n, s in self.steps.items()},
            "faces": [f.to_dict() for f in self.faces],
            "audio": self.audio.to_dict() if self.audio else None,
            "moderation": self.moderation.to_dict() if self.moderation else None,
            "caption_language": self.caption_language,
            "transcription_job": self.transcription_job,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Findings:
        return cls(
            steps={n: StepOutcome.from_dict(s) for n, s in data["steps"].items()},
            faces=[FaceBox.from_dict(f) for f in data["faces"]],
            audio=AudioFacts.from_dict(data["audio"]) if data.get("audio") else None,
            moderation=ModerationVerdict.from_dict(data["moderation"])
            if data.get("moderation")
            else None,
            caption_language=data.get("caption_language"),
            transcription_job=data.get("transcription_job"),
        )


def analysis_part(job: Job, published: list[str]) -> dict[str, Any]:
    """Run every step that applies to the asset's kind; returns the part's output, or
    raises PartPending when Amazon Transcribe is left to finish the captions."""
    found = Findings()
    kind = job.task.kind
    aws = job.settings.analysis_backend == "aws"

    def step(name: str, run: Callable[[], StepOutcome]) -> None:
        found.steps[name] = _guarded(name, run)

    def find_faces() -> StepOutcome:
        found.faces = _faces(job)
        return StepOutcome(DONE)

    def moderate() -> StepOutcome:
        found.moderation = _moderate(job)
        return StepOutcome(DONE if aws else SKIPPED, None, found.moderation.note)

    def measure() -> StepOutcome:
        if not job.info.audio:
            return StepOutcome(SKIPPED, "no_audio", "The file has no audio track.")
        found.audio = _audio_facts(job)
        return StepOutcome(DONE)

    def caption() -> StepOutcome:
        skipped, language = _caption_plan(job, found)
        if skipped is not None:
            return skipped
        assert language is not None
        found.caption_language = language
        if aws:
            _start_transcription(job, found, published)  # raises PartPending
        words = _offline_words(job)
        found.cues = tuple(words_to_cues(words))
        found.subtitles.append(
            publish_captions(job.settings, job.task.asset_id, _duration(job), language,
                             found.cues, published)
        )  # fmt: skip
        return StepOutcome(DONE)

    if kind in (MediaKind.IMAGE, MediaKind.VIDEO):
        step(FACES, find_faces)
        if job.settings.moderation_policy:
            step(MODERATION, moderate)
    if kind in (MediaKind.VIDEO, MediaKind.AUDIO):
        step(AUDIO_FACTS, measure)
        step(CAPTIONS, caption)
    return finish_analysis(job.settings, job.task.asset_id, found, published)


def _guarded(name: str, run: Callable[[], StepOutcome]) -> StepOutcome:
    """A step's outcome; its failure is recorded, never raised (but transient errors and
    a hand-over to Transcribe are)."""
    try:
        return run()
    except (TransientError, PartPending):
        raise
    except PermanentError as e:
        return StepOutcome(FAILED, str(e.reason), e.message)
    except Exception as e:  # a bug or an input a library chokes on: never the asset's end
        log.exception("analysis step %s failed", name)
        return StepOutcome(
            FAILED,
            ReasonCode.ANALYSIS_FAILED.value,
            f"The {name} step could not analyse this file ({type(e).__name__}); the "
            "asset plays as usual.",
        )


def finish_analysis(
    settings: Settings, asset_id: str, found: Findings, published: list[str]
) -> dict[str, Any]:
    """Publish the whole result; returns the part's output for the catalogue."""
    result = AnalysisResult(
        faces=tuple(found.faces),
        audio=found.audio,
        captions=found.cues,
        caption_backend=_caption_backend(settings) if found.cues is not None else None,
        extra={
            "steps": {n: s.to_dict() for n, s in found.steps.items()},
            "moderation": found.moderation.to_dict() if found.moderation else None,
        },
    )
    key = keys.analysis_key(asset_id)
    put_bytes(settings.media_bucket, key, json.dumps(result.to_dict()).encode(), "application/json")
    published.append(key)
    summary = summarise(result, found.steps, key)
    if found.moderation is not None:
        summary["moderation"] = found.moderation.to_dict()
    return {"analysis": summary, "subtitles": [t.to_dict() for t in found.subtitles]}


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


# --------------------------------------------------------------------------- pictures


def _picture(job: Job) -> bytes:
    """A still image as the detectors see it: decoded upright by the image pipeline (so
    EXIF orientation, HEIC and the pixel limit are handled as for the variants), at most
    ANALYSIS_PICTURE_MAX, as JPEG."""
    from lumiere.media.images import open_upright

    source = job.task.source
    data = read_object(source.bucket, source.key, source.version_id)
    img = open_upright(data, max_pixels=job.settings.max_pixels)
    img.thumbnail((ANALYSIS_PICTURE_MAX, ANALYSIS_PICTURE_MAX))
    return _jpeg(img.convert("RGB"))


def _jpeg(img: Any) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=FRAME_JPEG_QUALITY)
    return out.getvalue()


def _frames(job: Job) -> Iterator[tuple[float, bytes]]:
    """Sampled video frames as (seconds, JPEG), decoded by ffmpeg one at a time."""
    from PIL import Image

    from lumiere.analysis.faces import video_frames

    video = job.info.primary_video
    if video is None:
        return
    for time, rgb in video_frames(
        str(find_binaries().ffmpeg),
        job.source_url,
        video.display_size,
        timeout=_timeout(job),
        every_seconds=job.settings.face_sample_seconds,
    ):
        yield time, _jpeg(Image.fromarray(rgb))


def _faces(job: Job) -> list[FaceBox]:
    if job.settings.analysis_backend == "aws":
        from lumiere.analysis.backends import RekognitionFaces

        rekognition = RekognitionFaces()
        if job.task.kind is MediaKind.IMAGE:
            return rekognition.faces_in_image(_picture(job))
        return rekognition.faces_in_frames(_frames(job))
    from lumiere.analysis.faces import detect_faces, faces_in_video, to_gray, video_frames

    if job.task.kind is MediaKind.IMAGE:
        return detect_faces(to_gray(_picture(job)))
    video = job.info.primary_video
    if video is None:
        return []
    # Raw frames straight to the detector: no JPEG round trip offline.
    frames = video_frames(
        str(find_binaries().ffmpeg),
        job.source_url,
        video.display_size,
        timeout=_timeout(job),
        every_seconds=job.settings.face_sample_seconds,
    )
    return faces_in_video(frames)


def _moderate(job: Job) -> ModerationVerdict:
    from lumiere.analysis.backends import moderation_backend

    policy = ModerationPolicy.load(job.settings.moderation_policy)
    backend = moderation_backend(
        "rekognition" if job.settings.analysis_backend == "aws" else "none"
    )
    if backend.name == "none":
        return backend.moderate_image(b"", policy)  # nothing is looked at: says so
    if job.task.kind is MediaKind.IMAGE:
        return backend.moderate_image(_picture(job), policy)
    return backend.moderate_frames(_frames(job), policy)


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
    """The language to caption in, as given: the upload's, else the audio stream's tag,
    else the deployment's default; None when none names a language."""
    for candidate in (requested, stream_language, default):
        if base_language(candidate) is not None:
            return candidate
    return None


def _caption_plan(job: Job, found: Findings) -> tuple[StepOutcome | None, str | None]:
    """(why captions are skipped, None) or (None, the language to caption in)."""
    audio = found.audio
    if audio is None:
        if found.steps.get(AUDIO_FACTS, StepOutcome(DONE)).status == FAILED:
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
    supported = (
        transcribe_language_code(language) is not None
        if job.settings.analysis_backend == "aws"
        else offline_caption_language(language)
    )
    if not supported:
        engine = (
            "Amazon Transcribe has no model for it"
            if job.settings.analysis_backend == "aws"
            else "offline speech recognition supports: "
            + ", ".join(sorted(OFFLINE_CAPTION_LANGUAGES))
        )
        return (
            StepOutcome(
                SKIPPED,
                ReasonCode.UNSUPPORTED_LANGUAGE.value,
                f"Automatic captions are not available in {language!r} here ({engine}).",
            ),
            None,
        )
    if job.settings.analysis_backend != "aws" and not _offline_captions_fit(job):
        minutes = (job.info.duration or 0.0) / 60
        return (
            StepOutcome(
                SKIPPED,
                ReasonCode.TOO_LONG.value,
                f"The audio is {minutes:.0f} minutes long; offline speech recognition runs "
                "at about real time and would not finish within this function's time "
                "limit. The aws backend (Amazon Transcribe) captions long media.",
            ),
            None,
        )
    return None, language


def _offline_captions_fit(job: Job) -> bool:
    """Whether the recogniser can finish in the invocation's remaining time (always
    true where there is no limit, as in the local stack)."""
    remaining_ms = job.remaining_ms()
    if remaining_ms is None or not job.info.duration:
        return True
    budget = remaining_ms / 1000 - job.settings.tool_timeout_margin_seconds
    return job.info.duration * _recognizer(job.settings).seconds_per_second <= budget


def _caption_backend(settings: Settings) -> str:
    return "transcribe" if settings.analysis_backend == "aws" else settings.speech_engine


def _recognizer(settings: Settings) -> Recognizer:
    return recognizer(settings.speech_engine, Path(settings.speech_model_dir))


def _offline_words(job: Job) -> list[Word]:
    from lumiere.analysis.captions import transcribe_url

    return transcribe_url(
        str(find_binaries().ffmpeg),
        job.source_url,
        timeout=_timeout(job),
        engine=_recognizer(job.settings),
    )


def publish_captions(
    settings: Settings,
    asset_id: str,
    duration: float,
    language: str,
    cues: tuple[Cue, ...],
    published: list[str],
) -> SubtitleTrack:
    tag = base_language(language) or language
    _, english = language_tag(tag)
    track = SubtitleTrack(
        language=tag,
        name=f"{english or tag} (automatic)",
        vtt=f"captions/{tag}.vtt",
        playlist=f"captions/{tag}.m3u8",
    )
    prefix = keys.captions_prefix(asset_id)
    published.append(prefix)
    vtt = with_timestamp_map(cues_to_webvtt(cues))
    put_bytes(settings.media_bucket, prefix + f"{tag}.vtt", vtt.encode("utf-8"), "text/vtt")
    playlist = build_subtitle_playlist(track, duration, f"{tag}.vtt")
    put_bytes(
        settings.media_bucket,
        prefix + f"{tag}.m3u8",
        playlist.encode("utf-8"),
        "application/vnd.apple.mpegurl",
    )
    return track


# --------------------------------------------------------------------------- Transcribe


def _start_transcription(job: Job, found: Findings, published: list[str]) -> None:
    """Hand the speech to Amazon Transcribe and stop here: the job's completion event
    resumes the part. What was found so far waits in MediaBucket."""
    from lumiere.analysis.commands import build_speech_flac_args
    from lumiere.cloud.rekognition import S3Image
    from lumiere.cloud.transcribe import start_transcription, transcription_job_name

    asset_id, language = job.task.asset_id, found.caption_language
    assert language is not None
    speech = job.work / "speech.flac"
    run_tool(
        build_speech_flac_args(str(find_binaries().ffmpeg), job.source_url, str(speech)),
        timeout=_timeout(job),
    )
    speech_key = keys.analysis_prefix(asset_id) + "speech.flac"
    put_file(job.settings.media_bucket, speech_key, speech)
    published.append(keys.analysis_prefix(asset_id))
    found.transcription_job = transcription_job_name(asset_id, language)
    found.steps[CAPTIONS] = StepOutcome(SKIPPED, "pending", "Amazon Transcribe is working.")
    put_bytes(
        job.settings.media_bucket,
        keys.analysis_prefix(asset_id) + "pending.json",
        json.dumps({**found.to_dict(), "duration": _duration(job)}).encode(),
        "application/json",
    )
    start_transcription(
        found.transcription_job,
        S3Image(job.settings.media_bucket, speech_key),
        transcribe_language_code(language),
        job.settings.media_bucket,
        _transcript_key(asset_id, language),
    )
    raise PartPending(found.transcription_job)


def _transcript_key(asset_id: str, language: str) -> str:
    return keys.analysis_prefix(asset_id) + f"transcribe-{base_language(language)}.json"


def resume_captions(
    job_name: str, status: str, catalogue: Catalogue, settings: Settings
) -> AssetStatus | None:
    """Transcribe's job ended (its EventBridge event): make the captions, complete the
    analysis part and, if it was the last, publish the manifests. Returns the asset's
    final status if this finished it."""
    from lumiere.cloud.transcribe import read_transcript, transcription_job
    from lumiere.pipeline.transcode import record_part_done

    matched = _JOB_ASSET.match(job_name)
    if matched is None:
        log.warning("ignoring a Transcribe job Lumiere did not start: %s", job_name)
        return None
    asset_id = matched[1]
    asset = catalogue.get(asset_id)
    if asset is None or asset.get("status") != AssetStatus.PROCESSING:
        return None
    if ANALYSIS in (asset.get("parts_done") or []):
        return None  # a duplicate event: the part is done
    pending = json.loads(
        read_object(settings.media_bucket, keys.analysis_prefix(asset_id) + "pending.json")
    )
    found = Findings.from_dict(pending)
    if found.transcription_job != job_name:
        log.warning("event for %s, but the asset waits for %s", job_name, found.transcription_job)
        return None
    language = found.caption_language or ""
    published = [keys.analysis_prefix(asset_id)]

    def caption() -> StepOutcome:
        if status != "COMPLETED":
            reason = transcription_job(job_name).failure_reason or "no reason given"
            raise AnalysisError(f"Amazon Transcribe could not transcribe the speech: {reason}")
        words = read_transcript(settings.media_bucket, _transcript_key(asset_id, language))
        found.cues = tuple(words_to_cues(words))
        duration = float(pending.get("duration") or 0.0)
        found.subtitles.append(
            publish_captions(settings, asset_id, duration, language, found.cues, published)
        )
        return StepOutcome(DONE)

    found.steps[CAPTIONS] = _guarded(CAPTIONS, caption)
    output = finish_analysis(settings, asset_id, found, published)
    return record_part_done(asset_id, ANALYSIS, output, published, catalogue, settings)


def _duration(job: Job) -> float:
    return job.info.duration or 0.0


def _timeout(job: Job) -> float | None:
    return timeout_from_remaining(job.remaining_ms(), job.settings.tool_timeout_margin_seconds)
