"""Speech to text with Moonshine tiny: a 27M-parameter encoder-decoder (Useful Sensors,
MIT licence) run by onnxruntime, greedy decoding, English only.

The model comes as two ONNX graphs and a tokenizer, fetched and hash-checked by
``lumiere_dev.speech_model`` into one directory (``SPEECH_MODEL_DIR``). It reads raw
16 kHz float samples of one utterance (0.1 to 64 s; the caller cuts speech at pauses) and
writes text with punctuation and capitals, but no word times: ``word_timing`` finds
those.

Decoding follows the authors' own runners (moonshine-js, useful-moonshine-onnx): start
token 1, end token 2, at most six tokens per second of audio, the decoder's key/value
cache fed back each step (its encoder half only once, from the first step).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lumiere.analysis.commands import SPEECH_SAMPLE_RATE

MIN_SECONDS, MAX_SECONDS = 0.1, 64.0  # the model's trained range of input lengths
START_TOKEN, END_TOKEN = 1, 2
TOKENS_PER_SECOND = 6  # no speech is this dense; a bound on runaway repetition
_BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")


class SpeechModelMissing(RuntimeError):
    """The model directory lacks a file: the install step did not fetch it."""


def decode_tokens(ids: list[int], vocab: list[str | None]) -> str:
    """Token ids as text, as the tokenizer's own decoder pipeline does it (Llama's
    SentencePiece: ``▁`` is a space; a run of ``<0xNN>`` pieces is UTF-8, each of its
    pieces one U+FFFD if it is not; one leading space stripped). Special tokens (None in
    ``vocab``) are dropped."""
    parts: list[str] = []
    run = bytearray()

    def flush() -> None:
        try:
            parts.append(run.decode("utf-8"))
        except UnicodeDecodeError:
            parts.append("\ufffd" * len(run))
        run.clear()

    for i in ids:
        piece = vocab[i] if 0 <= i < len(vocab) else None
        if piece is None:
            continue
        byte = _BYTE_PIECE.fullmatch(piece)
        if byte:
            run.append(int(byte.group(1), 16))
            continue
        flush()
        parts.append(piece.replace("▁", " "))
    flush()
    text = "".join(parts)
    return text[1:] if text.startswith(" ") else text


def load_vocab(tokenizer_json: Path) -> list[str | None]:
    """Id → piece from a ``tokenizers`` JSON file; special tokens map to None."""
    data = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    pieces: dict[int, str | None] = {i: p for p, i in data["model"]["vocab"].items()}
    for added in data.get("added_tokens", []):
        pieces[int(added["id"])] = None if added.get("special") else added["content"]
    vocab: list[str | None] = [None] * (max(pieces) + 1)
    for i, piece in pieces.items():
        vocab[i] = piece
    return vocab


@dataclass
class MoonshineModel:
    encoder: Any  # onnxruntime.InferenceSession
    decoder: Any
    vocab: list[str | None]

    @classmethod
    def load(cls, directory: Path, *, threads: int = 0) -> MoonshineModel:
        import onnxruntime

        files = [directory / n for n in ("encoder_model.onnx", "decoder_model_merged.onnx")]
        tokenizer = directory / "tokenizer.json"
        missing = [str(p) for p in [*files, tokenizer] if not p.is_file()]
        if missing:
            raise SpeechModelMissing(f"speech model files missing: {', '.join(missing)}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # 0: one per core
        options.log_severity_level = 3
        encoder, decoder = (
            onnxruntime.InferenceSession(str(f), options, providers=["CPUExecutionProvider"])
            for f in files
        )
        return cls(encoder, decoder, load_vocab(tokenizer))

    def _empty_cache(self) -> dict[str, np.ndarray]:
        # Cache inputs are named past_key_values.{layer}.{decoder|encoder}.{key|value}
        # with shape (batch, heads, length, head_dim): read from the graph, not assumed.
        cache = {}
        for spec in self.decoder.get_inputs():
            if spec.name.startswith("past_key_values."):
                _, heads, _, head_dim = spec.shape
                cache[spec.name] = np.zeros((0, heads, 1, head_dim), dtype=np.float32)
        return cache

    def tokens(self, audio: np.ndarray) -> list[int]:
        """Greedy decoding of one utterance (float32 samples in [-1, 1] at 16 kHz)."""
        samples = np.ascontiguousarray(audio, dtype=np.float32).reshape(1, -1)
        (hidden,) = self.encoder.run(None, {"input_values": samples})
        cache = self._empty_cache()
        outputs = [o.name for o in self.decoder.get_outputs()]
        limit = max(1, int(samples.shape[1] / SPEECH_SAMPLE_RATE * TOKENS_PER_SECOND))
        tokens, step_input = [START_TOKEN], [[START_TOKEN]]
        for step in range(limit):
            feeds = {
                "input_ids": np.array(step_input, dtype=np.int64),
                "encoder_hidden_states": hidden,
                "use_cache_branch": np.array([step > 0]),
                **cache,
            }
            logits, *present = self.decoder.run(outputs, feeds)
            token = int(logits[0, -1].argmax())
            tokens.append(token)
            if token == END_TOKEN:
                break
            step_input = [[token]]
            for name, value in zip(outputs[1:], present, strict=True):
                past = name.replace("present.", "past_key_values.", 1)
                # The encoder's keys and values do not change after the first step.
                if step == 0 or ".decoder." in past:
                    cache[past] = value
        return tokens

    def transcribe(self, pcm: bytes) -> str:
        """Text of one utterance given as 16 kHz mono s16le PCM; "" when too short."""
        audio = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
        if audio.size < MIN_SECONDS * SPEECH_SAMPLE_RATE:
            return ""
        audio = audio[: int(MAX_SECONDS * SPEECH_SAMPLE_RATE)].astype(np.float32) / 32768.0
        return decode_tokens(self.tokens(audio), self.vocab).strip()
