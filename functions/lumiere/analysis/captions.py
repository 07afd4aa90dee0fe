"""Captions from speech: words with times (pocketsphinx, or Amazon Transcribe's JSON)
laid out as WebVTT cues, and the word error rate used to judge them.

Both backends produce ``Word`` lists, so cue layout and WebVTT are shared: the same
words give the same captions whichever engine heard them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from typing import Any

from lumiere.analysis.commands import SPEECH_SAMPLE_RATE, build_speech_pcm_args
from lumiere.analysis.models import Cue, Word
from lumiere.media.tools import run_tool_chunks

MAX_LINE_CHARS = 42  # the common broadcast/streaming limit (Netflix, BBC): readable at a glance
MAX_LINES = 2
MAX_CUE_SECONDS = 7.0
MIN_CUE_SECONDS = 1.0  # shorter flashes by unread; extended when the next cue allows
PAUSE_SECONDS = 0.5  # a gap this long between words is a natural place to cut
SENTENCE_END = (".", "?", "!")
SENTENCE_CUT_CHARS = 20  # cut after a sentence only once the cue has some text in it

# Longer utterances are decoded in pieces: pocketsphinx's search grows with length, and
# music with vocals can keep the voice detector "in speech" for minutes.
MAX_UTTERANCE_SECONDS = 30.0
PCM_CHUNK_BYTES = SPEECH_SAMPLE_RATE * 2  # one second of s16le mono


# --- pocketsphinx ---


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


def _collect(decoder: Any, offset: float) -> list[Word]:
    frame_rate = float(decoder.config["frate"])
    words = []
    for seg in decoder.seg():
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


def transcribe_pcm(chunks: Iterable[bytes], sample_rate: int = SPEECH_SAMPLE_RATE) -> list[Word]:
    """Words heard in 16 kHz mono s16le PCM, given as chunks of any size.

    A voice-activity endpointer cuts the stream into utterances at pauses; each is
    decoded on its own, so memory and search stay bounded on a long film, and silence
    and music between speech are never decoded.
    """
    from pocketsphinx import Endpointer

    decoder = _decoder()
    endpointer = Endpointer(sample_rate=sample_rate)
    frame_bytes = endpointer.frame_bytes
    max_utt_bytes = int(MAX_UTTERANCE_SECONDS * sample_rate) * 2
    words: list[Word] = []
    offset = 0.0
    fed = 0
    for frame in _frames(chunks, frame_bytes):
        was_in_speech = endpointer.in_speech
        if len(frame) < frame_bytes:
            speech = endpointer.end_stream(frame) if was_in_speech else None
        else:
            speech = endpointer.process(frame)
        if speech is None:
            continue
        if not was_in_speech:
            decoder.start_utt()
            offset, fed = float(endpointer.speech_start), 0
        decoder.process_raw(speech, no_search=False, full_utt=False)
        fed += len(speech)
        if not endpointer.in_speech or len(frame) < frame_bytes:
            decoder.end_utt()
            words += _collect(decoder, offset)
        elif fed >= max_utt_bytes:
            decoder.end_utt()
            words += _collect(decoder, offset)
            decoder.start_utt()
            offset, fed = offset + fed / 2 / sample_rate, 0
    if endpointer.in_speech:
        # The stream ended in speech on a frame boundary: flush what the endpointer holds.
        speech = endpointer.end_stream(b"")
        if speech:
            decoder.process_raw(speech, no_search=False, full_utt=False)
        decoder.end_utt()
        words += _collect(decoder, offset)
    return words


def transcribe_url(ffmpeg_bin: str, source_url: str, *, timeout: float | None = None) -> list[Word]:
    """ffmpeg extracts 16 kHz mono PCM from the upload; pocketsphinx reads it as it comes."""
    argv = build_speech_pcm_args(ffmpeg_bin, source_url)
    return transcribe_pcm(run_tool_chunks(argv, timeout=timeout, chunk_size=PCM_CHUNK_BYTES))


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
