"""Captions from speech: words with times (Moonshine or pocketsphinx offline, or Amazon
Transcribe's JSON) laid out as WebVTT cues, and the word error rate used to judge them.

Every engine produces ``Word`` lists, so cue layout and WebVTT are shared: the same
words give the same captions whichever engine heard them. The offline engines import
their models when first used, so cue layout and the Transcribe parser need neither.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from lumiere.analysis.commands import SPEECH_SAMPLE_RATE, build_speech_pcm_args
from lumiere.analysis.models import Cue, Word
from lumiere.config import SPEECH_ENGINES
from lumiere.errors import AnalysisError
from lumiere.media.tools import run_tool_chunks

MAX_LINE_CHARS = 42  # the common broadcast/streaming limit (Netflix, BBC): readable at a glance
MAX_LINES = 2
MAX_CUE_SECONDS = 7.0
MIN_CUE_SECONDS = 1.0  # shorter flashes by unread; extended when the next cue allows
PAUSE_SECONDS = 0.5  # a gap this long between words is a natural place to cut
SENTENCE_END = (".", "?", "!")
SENTENCE_CUT_CHARS = 20  # cut after a sentence only once the cue has some text in it

# Longer utterances are decoded in pieces: pocketsphinx's search grows with length,
# Moonshine reads at most 64 s, and music with vocals can keep the voice detector "in
# speech" for minutes.
MAX_UTTERANCE_SECONDS = 30.0
PCM_CHUNK_BYTES = SPEECH_SAMPLE_RATE * 2  # one second of s16le mono


# --- offline recognisers ---


class Recognizer(Protocol):
    """Speech to words for one utterance (16 kHz mono s16le PCM starting at ``offset``
    seconds into the stream)."""

    name: str
    # CPU seconds per second of audio, with room for a slower vCPU: whether a file fits
    # in what is left of an invocation.
    seconds_per_second: float

    def words(self, pcm: bytes, offset: float) -> list[Word]: ...


@cache
def _decoder() -> Any:
    # Imported here so cue layout, WebVTT and the Transcribe parser work without it.
    from pocketsphinx import Decoder

    # The wheel's bundled US English acoustic model, language model and dictionary.
    return Decoder(loglevel="FATAL")


def clean_word(token: str) -> str | None:
    """A pocketsphinx token as a caption word: None for silence and fillers (``<s>``,
    ``<sil>``, ``[NOISE]``), and alternate pronunciations ``read(2)`` as ``read``."""
    if not token or token[0] in "<[":
        return None
    return re.sub(r"\(\d+\)$", "", token)


class SphinxRecognizer:
    """pocketsphinx's own n-gram search (bench: 28.6 % WER on recorded read speech)."""

    name = "pocketsphinx"
    seconds_per_second = 1.2  # about 0.9 CPU s per second here (bench/results/budgets)

    def words(self, pcm: bytes, offset: float) -> list[Word]:
        decoder = _decoder()
        decoder.start_utt()
        # The whole utterance at once: cepstral mean normalisation is then computed over
        # it rather than estimated while it streams (29.5 % -> 28.6 % WER in the bench).
        decoder.process_raw(pcm, no_search=False, full_utt=True)
        decoder.end_utt()
        frame_rate = float(decoder.config["frate"])
        words = []
        for seg in decoder.seg() or ():
            text = clean_word(seg.word)
            if text is None:
                continue
            words.append(
                Word(
                    text=text,
                    start=round(offset + seg.start_frame / frame_rate, 3),
                    end=round(offset + (seg.end_frame + 1) / frame_rate, 3),
                    confidence=round(float(seg.prob), 4),
                )
            )
        return words


class MoonshineRecognizer:
    """Moonshine tiny for the words (bench: 3.6 % WER on recorded read speech), forced
    alignment by pocketsphinx for their times (``word_timing``)."""

    name = "moonshine"
    seconds_per_second = 0.4  # 0.08-0.17 CPU s with alignment here (bench/results/captions)

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = model_dir

    @property
    def model(self) -> Any:
        from lumiere.analysis.moonshine import SpeechModelMissing

        try:
            return _moonshine(self.model_dir)
        except SpeechModelMissing as e:
            raise AnalysisError(
                f"The offline speech model is not installed ({e}). Fetch it with "
                "`python -m lumiere_dev.speech_model <dir>` and set SPEECH_MODEL_DIR, or "
                "set SPEECH_ENGINE=pocketsphinx."
            ) from e

    def words(self, pcm: bytes, offset: float) -> list[Word]:
        from lumiere.analysis.word_timing import time_words

        return time_words(self.model.transcribe(pcm), pcm, offset)


@cache
def _moonshine(model_dir: Path) -> Any:
    from lumiere.analysis.moonshine import MoonshineModel

    # Loaded once per process: warm invocations reuse it.
    return MoonshineModel.load(model_dir)


def recognizer(engine: str, model_dir: Path) -> Recognizer:
    if engine == "pocketsphinx":
        return SphinxRecognizer()
    if engine == "moonshine":
        return MoonshineRecognizer(model_dir)
    raise ValueError(f"speech engine must be one of {SPEECH_ENGINES}, not {engine!r}")


def _frames(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Re-cut arbitrary chunks into frames of exactly ``size`` bytes (the last shorter)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def utterances(
    chunks: Iterable[bytes], sample_rate: int = SPEECH_SAMPLE_RATE
) -> Iterator[tuple[float, bytes]]:
    """Speech in 16 kHz mono s16le PCM (chunks of any size) as ``(start seconds, PCM)``
    utterances, cut at pauses by pocketsphinx's voice-activity endpointer and at most
    ``MAX_UTTERANCE_SECONDS`` long. Silence and music between speech are never yielded,
    and only one utterance is held in memory, however long the film."""
    from pocketsphinx import Endpointer

    endpointer = Endpointer(sample_rate=sample_rate)
    frame_bytes = endpointer.frame_bytes
    max_bytes = int(MAX_UTTERANCE_SECONDS * sample_rate) * 2
    held = bytearray()
    start = 0.0
    for frame in _frames(chunks, frame_bytes):
        was_in_speech = endpointer.in_speech
        if len(frame) < frame_bytes:
            speech = endpointer.end_stream(frame) if was_in_speech else None
        else:
            speech = endpointer.process(frame)
        if speech is None:
            continue
        if not was_in_speech:
            start, held = float(endpointer.speech_start), bytearray()
        held += speech
        if not endpointer.in_speech or len(frame) < frame_bytes:
            yield start, bytes(held)
            held = bytearray()
        elif len(held) >= max_bytes:
            yield start, bytes(held)
            start, held = start + len(held) / 2 / sample_rate, bytearray()
    if endpointer.in_speech:
        # The stream ended in speech on a frame boundary: flush what the endpointer holds.
        held += endpointer.end_stream(b"") or b""
        if held:
            yield start, bytes(held)


def transcribe_pcm(
    chunks: Iterable[bytes],
    sample_rate: int = SPEECH_SAMPLE_RATE,
    engine: Recognizer | None = None,
) -> list[Word]:
    """Words heard in 16 kHz mono s16le PCM, each utterance recognised on its own."""
    engine = engine or SphinxRecognizer()
    words: list[Word] = []
    for offset, pcm in utterances(chunks, sample_rate):
        words += engine.words(pcm, offset)
    return words


def transcribe_url(
    ffmpeg_bin: str,
    source_url: str,
    *,
    timeout: float | None = None,
    engine: Recognizer | None = None,
) -> list[Word]:
    """ffmpeg extracts 16 kHz mono PCM from the upload; the recogniser reads it as it comes."""
    argv = build_speech_pcm_args(ffmpeg_bin, source_url)
    chunks = run_tool_chunks(argv, timeout=timeout, chunk_size=PCM_CHUNK_BYTES)
    return transcribe_pcm(chunks, engine=engine)


# --- Amazon Transcribe ---


def parse_transcribe_json(document: str | bytes | dict[str, Any]) -> list[Word]:
    """Words from an Amazon Transcribe job's output (``results.items``).

    Pronunciation items carry times (as strings) and their best alternative's content;
    punctuation items carry no times and are attached to the word before them.
    """
    data = json.loads(document) if isinstance(document, str | bytes) else document
    words: list[Word] = []
    for item in data.get("results", {}).get("items", []):
        alternatives = item.get("alternatives") or [{}]
        best = alternatives[0]
        content = str(best.get("content", "")).strip()
        if not content:
            continue
        if item.get("type") == "punctuation":
            if words:
                last = words[-1]
                words[-1] = Word(last.text + content, last.start, last.end, last.confidence)
            continue
        confidence = best.get("confidence")
        words.append(
            Word(
                text=content,
                start=float(item["start_time"]),
                end=float(item["end_time"]),
                confidence=None if confidence in (None, "") else float(confidence),
            )
        )
    return words


# --- cues ---


def layout_lines(
    texts: Sequence[str], max_chars: int = MAX_LINE_CHARS, max_lines: int = MAX_LINES
) -> tuple[str, ...] | None:
    """The words as at most ``max_lines`` lines of at most ``max_chars``, or None if they
    do not fit. Two lines are balanced (the cut minimising the longer line), which reads
    better than a full top line over a stub. A single over-long word is returned alone
    rather than refused, so layout always progresses."""
    one = " ".join(texts)
    if len(one) <= max_chars or len(texts) == 1:
        return (one,)
    if max_lines < 2:
        return None
    best: tuple[str, str] | None = None
    for cut in range(1, len(texts)):
        top, bottom = " ".join(texts[:cut]), " ".join(texts[cut:])
        fits = len(top) <= max_chars and len(bottom) <= max_chars
        if fits and (best is None or max(len(top), len(bottom)) < max(map(len, best))):
            best = (top, bottom)
    return best


def _should_cut(cue: list[Word], word: Word, max_seconds: float, pause: float) -> bool:
    if not cue:
        return False
    last = cue[-1]
    if word.start - last.end >= pause:
        return True
    if word.end - cue[0].start > max_seconds:
        return True
    chars = len(" ".join(w.text for w in cue))
    if last.text.endswith(SENTENCE_END) and chars >= SENTENCE_CUT_CHARS:
        return True
    return layout_lines([w.text for w in [*cue, word]]) is None


def words_to_cues(
    words: Iterable[Word],
    *,
    max_seconds: float = MAX_CUE_SECONDS,
    pause: float = PAUSE_SECONDS,
    min_seconds: float = MIN_CUE_SECONDS,
) -> list[Cue]:
    """Group words into cues: a new cue at a pause, after a sentence, or when the next
    word would break the two-line/42-character or seven-second limit."""
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in sorted(words, key=lambda w: w.start):
        if _should_cut(current, word, max_seconds, pause):
            groups.append(current)
            current = []
        current.append(word)
    if current:
        groups.append(current)
    cues = []
    for i, group in enumerate(groups):
        start = group[0].start
        following = groups[i + 1][0].start if i + 1 < len(groups) else float("inf")
        # Hold a short cue on screen a little longer, but never into the next one, and
        # never past the length limit (a long mis-recognised "word" included).
        end = min(max(group[-1].end, start + min_seconds), following, start + max_seconds)
        lines = layout_lines([w.text for w in group]) or (" ".join(w.text for w in group),)
        cues.append(Cue(start=round(start, 3), end=round(max(end, start), 3), lines=lines))
    return cues


def vtt_timestamp(seconds: float) -> str:
    """``00:00:01.500``: WebVTT wants hours, minutes, seconds and milliseconds."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _escape(text: str) -> str:
    # The three characters WebVTT cue text reserves ("-->" is covered by ">").
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cues_to_webvtt(cues: Iterable[Cue]) -> str:
    blocks = ["WEBVTT\n"]
    for number, cue in enumerate(cues, start=1):
        timing = f"{vtt_timestamp(cue.start)} --> {vtt_timestamp(cue.end)}"
        text = "\n".join(_escape(line) for line in cue.lines)
        blocks.append(f"{number}\n{timing}\n{text}\n")
    return "\n".join(blocks)


# --- scoring ---


def normalise_words(text: str) -> list[str]:
    """Lower case, punctuation dropped (apostrophes inside words kept: "don't").
    Numbers are not spelled out: "10" and "ten" count as different words."""
    tokens = re.sub(r"[^\w']+", " ", text.lower()).split()
    return [t.strip("'") for t in tokens if t.strip("'")]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by Levenshtein
    distance over words. An empty reference scores 0 against an empty hypothesis and 1
    against anything else. Can exceed 1 when the hypothesis adds many words."""
    ref, hyp = normalise_words(reference), normalise_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i]
        for j, h in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / len(ref)
