"""Word times for a recogniser that writes text only (Moonshine): the text is force-aligned
to the utterance's audio by pocketsphinx, whose dictionary (CMUdict, 130k words) knows
almost every word; the rest are placed between their aligned neighbours.

Forced alignment is a constrained search over known words, so it is fast (about 1 % of
real time) and far more exact than the recogniser's own guesses would be: captions change
on the word, not somewhere in the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from lumiere.analysis.commands import SPEECH_SAMPLE_RATE
from lumiere.analysis.models import Word

# Pocketsphinx's dictionary spells words in lower case, without punctuation; a hyphenated
# word ("ill-disposed") is aligned as its parts.
_EDGE_PUNCTUATION = re.compile(r"^[^\w']+|[^\w']+$")


@dataclass(frozen=True)
class Span:
    start: float
    end: float


def dictionary_forms(token: str) -> list[str]:
    """How a displayed word is spelt in the aligner's dictionary (maybe several words)."""
    bare = _EDGE_PUNCTUATION.sub("", token.lower())
    return [part for part in re.split(r"[-/]", bare) if part]


@cache
def _aligner() -> Any:
    from pocketsphinx import Decoder

    # Its own decoder: alignment mode replaces the search of the one that recognises.
    # Alignment searches only the given words, so no language model is loaded (it is
    # 64 MB of memory and most of the decoder's start-up).
    return Decoder(lm=None, loglevel="FATAL")


def sphinx_align(words: Sequence[str], pcm: bytes) -> list[Span] | None:
    """Times of ``words`` (all in the dictionary) in the utterance, or None when the
    audio cannot be aligned to them."""
    decoder = _aligner()
    try:
        decoder.set_align_text(" ".join(words))
        decoder.start_utt()
        decoder.process_raw(pcm, no_search=False, full_utt=True)
        decoder.end_utt()
    except RuntimeError:
        return None
    rate = float(decoder.config["frate"])
    # No segmentation at all when the search never reached the text's end.
    spans = [
        Span(seg.start_frame / rate, (seg.end_frame + 1) / rate)
        for seg in decoder.seg() or ()
        if seg.word and seg.word[0] not in "<["
    ]
    return spans if len(spans) == len(words) else None


def in_dictionary(word: str) -> bool:
    return _aligner().lookup_word(word) is not None


def time_words(
    text: str,
    pcm: bytes,
    offset: float,
    *,
    align: Callable[[Sequence[str], bytes], list[Span] | None] = sphinx_align,
    known: Callable[[str], bool] = in_dictionary,
) -> list[Word]:
    """The words of ``text`` (as displayed: capitals, punctuation) with times in the
    stream, the utterance starting at ``offset`` seconds.

    Aligned words get their own times; a word the dictionary lacks ("Dashwood's", "10")
    shares the gap between its neighbours by its length; if nothing aligns, the whole
    utterance is shared out that way, so every word still lands inside its utterance.
    """
    tokens = text.split()
    if not tokens:
        return []
    duration = len(pcm) / 2 / SPEECH_SAMPLE_RATE
    forms = [[f for f in dictionary_forms(t) if known(f)] for t in tokens]
    flat = [f for fs in forms for f in fs]
    spans = align(flat, pcm) if flat else None
    times: list[Span | None] = [None] * len(tokens)
    if spans is not None:
        it = iter(spans)
        for i, fs in enumerate(forms):
            parts = [next(it) for _ in fs]
            if parts:
                times[i] = Span(parts[0].start, parts[-1].end)
    _fill_gaps(tokens, times, duration)
    return [
        Word(tok, round(offset + span.start, 3), round(offset + span.end, 3), None)
        for tok, span in zip(tokens, times, strict=True)
        if span is not None
    ]


def _fill_gaps(tokens: list[str], times: list[Span | None], duration: float) -> None:
    """Give each untimed run of words the time between its timed neighbours (or the
    utterance's edges), in proportion to the words' lengths."""
    i = 0
    while i < len(tokens):
        if times[i] is not None:
            i += 1
            continue
        j = i
        while j < len(tokens) and times[j] is None:
            j += 1
        before = times[i - 1] if i > 0 else None
        after = times[j] if j < len(tokens) else None
        start = before.end if before is not None else 0.0
        end = after.start if after is not None else duration
        end = max(end, start)
        weights = [len(t) + 1 for t in tokens[i:j]]
        total, cursor = sum(weights), start
        for k, weight in zip(range(i, j), weights, strict=True):
            step = (end - start) * weight / total
            times[k] = Span(cursor, cursor + step)
            cursor += step
        i = j
