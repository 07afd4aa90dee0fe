"""Captions benchmark: word error rate (WER) and speed of the offline speech engines
(Moonshine with pocketsphinx's word times, and pocketsphinx alone) on speech of known text.

Two sets:

- **synthetic**: sentences read by espeak-ng (skipped if it is not installed). Its
  robotic voice is far from the read speech the acoustic model was trained on;
- **recorded**: real human recordings with transcripts that ship in Debian packages:
  pocketsphinx-testdata (LibriVox "Sense and Sensibility" sentences, "go forward ten
  meters", playing cards) and alsa-utils' speaker-test voice prompts.

Each file goes the production way: served over HTTP, ffmpeg extracts 16 kHz mono PCM
through the guarded input options, pocketsphinx's endpointer cuts utterances, each engine
transcribes the same PCM, WER against the reference.
Prints a table and writes it as Markdown to ``bench/results/captions-<label>.md``.

Run from the repository root::

    .venv/bin/python -m bench.captions --label laptop
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lumiere.analysis.audio_facts import pcm_to_array, speech_evidence
from lumiere.analysis.captions import (
    PCM_CHUNK_BYTES,
    Recognizer,
    normalise_words,
    recognizer,
    transcribe_pcm,
    word_error_rate,
)
from lumiere.analysis.commands import SPEECH_SAMPLE_RATE, build_speech_pcm_args
from lumiere.config import SPEECH_ENGINES, Settings
from lumiere.media.tools import find_binaries, run_tool_chunks

RESULTS = Path(__file__).resolve().parent / "results"
TESTDATA = Path("/usr/share/pocketsphinx/test/data")
ALSA_SOUNDS = Path("/usr/share/sounds/alsa")
ESPEAK_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "We will meet at the station at seven in the morning.",
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
)


@dataclass(frozen=True)
class Sample:
    corpus: str  # "synthetic" or "recorded"
    name: str
    path: Path
    reference: str


@dataclass(frozen=True)
class Heard:
    hypothesis: str
    wer: float
    decode_seconds: float  # CPU seconds of this process


@dataclass(frozen=True)
class Outcome:
    sample: Sample
    audio_seconds: float
    speech_likely: bool
    heard: dict[str, Heard]  # by engine name

    @property
    def reference_words(self) -> int:
        return len(normalise_words(self.sample.reference))

    def errors(self, engine: str) -> float:
        return self.heard[engine].wer * self.reference_words


def _wav_from_raw(raw: Path, out: Path, rate: int = 16000) -> Path:
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(raw.read_bytes())
    return out


def _sphinx_transcripts(path: Path) -> dict[str, str]:
    """``<s> words </s> (id)`` lines, as pocketsphinx's test data writes them."""
    out = {}
    for line in path.read_text().splitlines():
        if "(" in line:
            text, _, ident = line.rpartition("(")
            out[ident.strip(") ")] = text.replace("<s>", "").replace("</s>", "").strip()
    return out


def espeak_samples(work: Path) -> list[Sample]:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        print("espeak-ng not installed: synthetic set skipped", file=sys.stderr)
        return []
    samples = []
    for i, sentence in enumerate(ESPEAK_SENTENCES, start=1):
        path = work / f"espeak_{i:02d}.wav"
        subprocess.run([espeak, "-w", str(path), sentence], check=True, timeout=60)
        samples.append(Sample("synthetic", f"espeak {i:02d}", path, sentence))
    return samples


def recorded_samples(work: Path) -> list[Sample]:
    samples = []
    if TESTDATA.is_dir():
        librivox = _sphinx_transcripts(TESTDATA / "librivox" / "transcription")
        for ident, text in sorted(librivox.items()):
            wav = Path(shutil.copy(TESTDATA / "librivox" / f"{ident}.wav", work))
            samples.append(Sample("recorded", f"librivox {ident[-4:]}", wav, text))
        raw = TESTDATA / "goforward.raw"
        if raw.is_file():
            wav = _wav_from_raw(raw, work / "goforward.wav")
            samples.append(Sample("recorded", "goforward", wav, "go forward ten meters"))
        cards = _sphinx_transcripts(TESTDATA / "cards" / "cards.transcription")
        for ident, text in sorted(cards.items()):
            wav = Path(shutil.copy(TESTDATA / "cards" / f"{ident}.wav", work / f"card{ident}.wav"))
            samples.append(Sample("recorded", f"cards {ident}", wav, text))
    else:
        print("pocketsphinx-testdata not installed: LibriVox set skipped", file=sys.stderr)
    if ALSA_SOUNDS.is_dir():
        for wav in sorted(ALSA_SOUNDS.glob("*_*.wav")):  # Front_Center.wav -> "front center"
            copy = Path(shutil.copy(wav, work / f"alsa_{wav.name}"))
            samples.append(Sample("recorded", f"alsa {wav.stem}", copy, wav.stem.replace("_", " ")))
    return samples


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Lumiere's ffmpeg reads uploads over HTTP(S) only, so the bench does too."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=directory))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def run_one(ffmpeg_bin: str, base_url: str, sample: Sample, engines: list[Recognizer]) -> Outcome:
    argv = build_speech_pcm_args(ffmpeg_bin, f"{base_url}/{sample.path.name}")
    chunks = list(run_tool_chunks(argv, timeout=300, chunk_size=PCM_CHUNK_BYTES))
    pcm = b"".join(chunks)
    heard = {}
    for engine in engines:
        started = time.process_time()
        words = transcribe_pcm(chunks, engine=engine)
        decode = time.process_time() - started
        hypothesis = " ".join(w.text for w in words)
        wer = word_error_rate(sample.reference, hypothesis)
        heard[engine.name] = Heard(hypothesis, wer, decode)
    return Outcome(
        sample=sample,
        audio_seconds=len(pcm) / 2 / SPEECH_SAMPLE_RATE,
        speech_likely=speech_evidence(pcm_to_array([pcm])).speech_likely,
        heard=heard,
    )


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


def _versions() -> str:
    from importlib.metadata import version

    espeak = shutil.which("espeak-ng")
    espeak_version = (
        subprocess.run([espeak, "--version"], capture_output=True, text=True).stdout.strip()
        if espeak
        else "not installed"
    )
    from lumiere_dev.speech_model import NPM_PACKAGE, NPM_VERSION

    return (
        f"pocketsphinx {version('pocketsphinx')}; onnxruntime {version('onnxruntime')}; "
        f"Moonshine tiny from {NPM_PACKAGE} {NPM_VERSION}; {espeak_version}"
    )


def summarise(outcomes: list[Outcome], corpus: str, engines: list[str]) -> str:
    chosen = [o for o in outcomes if o.sample.corpus == corpus]
    if not chosen:
        return f"| **{corpus} (all)** | skipped |" + " |" * (2 * len(engines) + 3)
    words = sum(o.reference_words for o in chosen)
    audio = sum(o.audio_seconds for o in chosen)
    cells = []
    for engine in engines:
        errors = sum(o.errors(engine) for o in chosen)
        decode = sum(o.heard[engine].decode_seconds for o in chosen)
        cells += [f"**{errors / words:.1%}**", f"{decode / audio:.2f}"]
    speech = sum(o.speech_likely for o in chosen)
    return (
        f"| **{corpus} (all)** | {words} | {audio:.1f} | "
        + " | ".join(cells)
        + f" | {speech}/{len(chosen)} | |"
    )


def table(outcomes: list[Outcome], engines: list[str]) -> str:
    first = engines[0]
    head = [
        "| sample | ref words | audio s | "
        + " | ".join(f"{e} WER | {e} RTF" for e in engines)
        + f" | speech_likely | {first} heard (reference) |",
        "| --- | ---: | ---: | " + " | ".join("---: | ---:" for _ in engines) + " | --- | --- |",
    ]
    rows = [
        f"| {o.sample.name} | {o.reference_words} | {o.audio_seconds:.1f} | "
        + " | ".join(
            f"{o.heard[e].wer:.1%} | {o.heard[e].decode_seconds / o.audio_seconds:.2f}"
            for e in engines
        )
        + f" | {'yes' if o.speech_likely else 'no'} | "
        f"{o.heard[first].hypothesis or '(nothing)'} ({o.sample.reference}) |"
        for o in outcomes
    ]
    totals = [summarise(outcomes, c, engines) for c in ("synthetic", "recorded")]
    return "\n".join(head + rows + totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", default=f"{os.cpu_count()}core")
    args = parser.parse_args()
    ffmpeg_bin = str(find_binaries().ffmpeg)
    model_dir = Path(Settings.from_env().speech_model_dir)
    engines = [recognizer(name, model_dir) for name in SPEECH_ENGINES]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        samples = espeak_samples(work) + recorded_samples(work)
        with serve(work) as base_url:
            outcomes = [run_one(ffmpeg_bin, base_url, s, engines) for s in samples]
    text = table(outcomes, [e.name for e in engines])
    print(text)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"captions-{args.label}.md"
    out.write_text(
        f"# Captions benchmark ({args.label})\n\n"
        f"- when: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}\n"
        f"- machine: {_machine()}\n"
        f"- engines: {_versions()}\n"
        "- pipeline: HTTP -> ffmpeg (16 kHz mono s16le) -> pocketsphinx endpointer -> "
        "moonshine (Moonshine tiny, int8 ONNX; word times by pocketsphinx forced alignment) "
        "or pocketsphinx (en-us model from its wheel), each on the same utterances\n"
        "- WER: word Levenshtein distance / reference words, case and punctuation ignored, "
        "numbers not spelled out; RTF: CPU seconds of decoding (and alignment) per audio "
        "second; the totals weigh each sample by its words\n\n"
        f"{text}\n"
    )
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
