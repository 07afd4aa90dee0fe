"""Audio facts: loudness (EBU R128), silent stretches, and whether speech is likely.

Loudness and silences come from one ffmpeg decode (``ebur128`` and ``silencedetect``,
``commands.build_audio_facts_args``) whose stderr is parsed here. "Is there speech?" is
answered on a few short windows of 16 kHz PCM by a heuristic (``speech_evidence``), so
captioning is skipped on music, tones and silence without running a recogniser.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from lumiere.analysis.commands import (
    SPEECH_SAMPLE_RATE,
    build_audio_facts_args,
    build_speech_pcm_args,
)
from lumiere.analysis.models import AudioFacts
from lumiere.media.tools import run_tool_chunks, run_tool_streaming

# ebur128's floor: -70 LUFS is what it reports for digital silence (nothing above gate).
SILENT_LUFS = -70.0


@dataclass(frozen=True)
class LoudnessSummary:
    integrated_lufs: float | None
    lra: float | None
    true_peak_dbtp: float | None


def _number(text: str) -> float | None:
    value = float(text)  # accepts "-inf" and "inf"
    return value if math.isfinite(value) else None


def parse_ebur128_summary(stderr: str) -> LoudnessSummary:
    """The ``Summary:`` block ebur128 prints at the end. ffmpeg may configure the filter
    graph twice and print a bogus empty summary first, so the last block wins."""
    blocks = stderr.split("Summary:")
    if len(blocks) < 2:
        return LoudnessSummary(None, None, None)
    summary = blocks[-1]

    def field(pattern: str) -> float | None:
        match = re.search(pattern + r":\s*(-?(?:inf|[\d.]+))", summary)
        return _number(match.group(1)) if match else None

    integrated = field(r"\bI")
    if integrated is not None and integrated <= SILENT_LUFS:
        integrated = None
    return LoudnessSummary(
        integrated_lufs=integrated,
        lra=field(r"\bLRA"),
        true_peak_dbtp=field(r"\bPeak"),
    )


_SILENCE_START = re.compile(r"silence_start:\s*(-?[\d.]+)")
_SILENCE_END = re.compile(r"silence_end:\s*(-?[\d.]+)")


def parse_silences(stderr: str, duration: float | None = None) -> list[tuple[float, float]]:
    """Silent stretches from ``silencedetect``'s log. A silence still open when the log
    ends (older ffmpeg does not close it at the end of input) runs to ``duration``, or
    is dropped when that is unknown."""
    silences: list[tuple[float, float]] = []
    start: float | None = None
    for line in stderr.splitlines():
        if (match := _SILENCE_START.search(line)) is not None:
            start = max(0.0, float(match.group(1)))
        elif (match := _SILENCE_END.search(line)) is not None and start is not None:
            silences.append((round(start, 3), round(float(match.group(1)), 3)))
            start = None
    if start is not None and duration is not None and duration > start:
        silences.append((round(start, 3), round(duration, 3)))
    return silences


def parse_progress_duration(stdout: str) -> float | None:
    """The last ``out_time_us`` of ``-progress``: how much audio was decoded."""
    values = re.findall(r"^out_time_us=(\d+)$", stdout, flags=re.MULTILINE)
    return int(values[-1]) / 1e6 if values else None


# --- is it speech? ---

FRAME_SECONDS = 0.01
ACTIVE_DBFS = -45.0  # a 10 ms frame quieter than this is pause, not sound
MIN_ACTIVE_FRACTION = 0.2  # at least a fifth of the window must be sound
MIN_DEPTH_DB = 6.0  # speech swings loud/quiet syllable to syllable; steady tones do not
MIN_SYLLABIC_RATIO = 0.2  # share of envelope modulation at syllable rate
# Share of the syllable band within +-0.3 Hz of its strongest rate. Speech rates wander
# (measured 0.2-0.3); a tremolo, a metronome or a steady beat sits on one (0.8-1.0).
MAX_REGULARITY = 0.5
REGULARITY_HALF_WIDTH_HZ = 0.3
SYLLABLE_BAND_HZ = (2.0, 8.0)
MODULATION_BAND_HZ = (0.5, 25.0)
ENVELOPE_RANGE_DB = 50.0  # deep pauses are clipped so digital silence does not dominate


@dataclass(frozen=True)
class SpeechEvidence:
    """Why a window was judged speech or not (kept for logs and tuning)."""

    active_fraction: float
    depth_db: float
    syllabic_ratio: float
    regularity: float = 0.0

    @property
    def speech_likely(self) -> bool:
        return (
            self.active_fraction >= MIN_ACTIVE_FRACTION
            and self.depth_db >= MIN_DEPTH_DB
            and self.syllabic_ratio >= MIN_SYLLABIC_RATIO
            and self.regularity <= MAX_REGULARITY
        )


NO_EVIDENCE = SpeechEvidence(0.0, 0.0, 0.0)


def speech_evidence(samples: np.ndarray, sample_rate: int = SPEECH_SAMPLE_RATE) -> SpeechEvidence:
    """The speech heuristic on mono PCM (int16 or float in -1..1).

    Speech is a train of syllables: its short-time energy rises and falls 2-8 times a
    second (around 4 Hz) with deep dips between, whatever the voice or language. So:

    1. energy in 10 ms frames, in dB; ``active_fraction`` is the share above -45 dBFS
       (silence fails here);
    2. ``depth_db``: the spread (standard deviation) of that envelope, clipped 50 dB
       under its peak (a steady tone or hum fails here);
    3. ``syllabic_ratio``: the envelope's modulation spectrum, power in 2-8 Hz over
       power in 0.5-25 Hz (slow swells, noise and fast flutter fail here);
    4. ``regularity``: how much of that 2-8 Hz power sits at one rate. Syllables come
       at a wandering rate; a tremolo, an arpeggio or a beat at one (these fail here).

    Known limits: music whose notes come at an irregular 2-8 Hz (a solo instrument
    playing freely, singing) can pass, which costs only a recogniser run that finds few
    words; whispering, and windows under a second, fail. Clips of a few seconds with a
    handful of words are often judged not speech: the modulation spectrum of so short a
    window is too coarse, so ``regularity`` runs high (bench/captions.py: 10 of 19 short
    recordings missed, all 20 s-scale ones found). For tracks under ~10 s, running the
    recogniser anyway costs less than a second. Thresholds were set on
    espeak-ng and LibriVox speech against sine, noise, chord, tremolo and arpeggio.
    """
    x = np.asarray(samples, dtype=np.float64)
    if np.issubdtype(np.asarray(samples).dtype, np.integer):
        x = x / 32768.0
    frame = max(1, round(sample_rate * FRAME_SECONDS))
    count = len(x) // frame
    if count < 1 / FRAME_SECONDS:  # under a second says nothing
        return NO_EVIDENCE
    power = np.mean(x[: count * frame].reshape(count, frame) ** 2, axis=1)
    energy_db = 10.0 * np.log10(power + 1e-12)
    active_fraction = float(np.mean(energy_db > ACTIVE_DBFS))
    if active_fraction == 0.0:
        return NO_EVIDENCE
    envelope = np.maximum(energy_db, energy_db.max() - ENVELOPE_RANGE_DB)
    depth_db = float(np.std(envelope))
    centred = (envelope - envelope.mean()) * np.hanning(count)
    spectrum = np.abs(np.fft.rfft(centred)) ** 2
    freqs = np.fft.rfftfreq(count, FRAME_SECONDS)

    def band(low: float, high: float) -> float:
        return float(spectrum[(freqs >= low) & (freqs <= high)].sum())

    total = band(*MODULATION_BAND_HZ)
    syllable_power = band(*SYLLABLE_BAND_HZ)
    if total <= 0 or syllable_power <= 0:
        return SpeechEvidence(round(active_fraction, 3), round(depth_db, 2), 0.0)
    in_band = (freqs >= SYLLABLE_BAND_HZ[0]) & (freqs <= SYLLABLE_BAND_HZ[1])
    strongest = float(freqs[in_band][np.argmax(spectrum[in_band])])
    half = REGULARITY_HALF_WIDTH_HZ
    return SpeechEvidence(
        active_fraction=round(active_fraction, 3),
        depth_db=round(depth_db, 2),
        syllabic_ratio=round(syllable_power / total, 3),
        regularity=round(band(strongest - half, strongest + half) / syllable_power, 3),
    )


def pcm_to_array(chunks: Iterable[bytes]) -> np.ndarray:
    data = b"".join(chunks)
    return np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2")


# --- sampling a long track ---

SPEECH_WINDOW_SECONDS = 20.0
WHOLE_TRACK_UP_TO = 60.0


def speech_windows(duration: float | None) -> list[tuple[float, float | None]]:
    """Where to listen for speech: all of a short track (or one of unknown length, up to
    a minute), else three windows of 20 s at 15%, 50% and 85% of the way through, past
    opening titles and before the end credits."""
    if duration is None:
        return [(0.0, WHOLE_TRACK_UP_TO)]
    if duration <= WHOLE_TRACK_UP_TO:
        return [(0.0, None)]
    latest = duration - SPEECH_WINDOW_SECONDS
    return [
        (round(min(latest, duration * f - SPEECH_WINDOW_SECONDS / 2), 3), SPEECH_WINDOW_SECONDS)
        for f in (0.15, 0.5, 0.85)
    ]


def measure_audio(
    ffmpeg_bin: str,
    source_url: str,
    *,
    stream: str = "a:0",
    duration: float | None = None,
    timeout: float | None = None,
) -> AudioFacts:
    """Loudness, silences and the speech guess for one audio stream of an upload."""
    ran = run_tool_streaming(
        build_audio_facts_args(ffmpeg_bin, source_url, stream=stream), timeout=timeout
    )
    decoded = parse_progress_duration(ran.stdout) or duration
    loudness = parse_ebur128_summary(ran.stderr)
    speech = False
    if loudness.integrated_lufs is not None:  # digital silence has no speech to find
        for start, seconds in speech_windows(decoded):
            argv = build_speech_pcm_args(
                ffmpeg_bin, source_url, stream=stream, start=start or None, seconds=seconds
            )
            pcm = pcm_to_array(run_tool_chunks(argv, timeout=timeout))
            if speech_evidence(pcm).speech_likely:
                speech = True
                break
    return AudioFacts(
        integrated_lufs=loudness.integrated_lufs,
        lra=loudness.lra,
        true_peak_dbtp=loudness.true_peak_dbtp,
        silences=tuple(parse_silences(ran.stderr, decoded)),
        speech_likely=speech,
        duration=decoded,
    )
