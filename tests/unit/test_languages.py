from __future__ import annotations

import botocore.session
import pytest
from lumiere.analysis.languages import (
    OFFLINE_CAPTION_LANGUAGES,
    TRANSCRIBE_LANGUAGES,
    base_language,
    offline_caption_language,
    transcribe_language_code,
)


def _transcribe_enum() -> list[str]:
    model = botocore.session.get_session().get_service_model("transcribe")
    return list(model.shape_for("LanguageCode").enum)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", "en-US"),
        ("eng", "en-US"),  # ISO 639-2, as MP4/MKV tag audio streams
        ("EN_us", "en-US"),  # case and underscores as some tools write them
        ("en-GB", "en-GB"),
        ("en-CA", "en-US"),  # a region Transcribe lacks: the language's default
        ("fre", "fr-FR"),  # ISO 639-2/B
        ("fra", "fr-FR"),  # ISO 639-2/T
        ("fr-CA", "fr-CA"),
        ("fr-BE", "fr-FR"),
        ("ger", "de-DE"),
        ("de-CH", "de-CH"),
        ("pt", "pt-BR"),
        ("pt-PT", "pt-PT"),
        ("es-419", "es-MX"),  # Latin America, a UN M.49 area rather than a country
        ("zh", "zh-CN"),
        ("zh-Hant", "zh-TW"),
        ("zh-Hant-HK", "zh-HK"),  # an explicit region beats the script's default
        ("sr-Latn-RS", "sr-RS"),
        ("nob", "no-NO"),  # Bokmål, tagged as such by languages.json
        ("nn", "no-NO"),
        ("iw", "he-IL"),
        ("jpn", "ja-JP"),
        ("en-US-u-ca-gregory", "en-US"),  # extensions do not change the language
    ],
)
def test_transcribe_language_code(tag: str, expected: str) -> None:
    assert transcribe_language_code(tag) == expected


@pytest.mark.parametrize(
    "tag",
    [None, "", "  ", "und", "mul", "zxx", "English", "xx", "tlh", "en-", "e n", "en/GB"],
)
def test_unknown_or_unsupported_languages_are_not_guessed(tag: str | None) -> None:
    assert transcribe_language_code(tag) is None


def test_every_code_lumiere_can_send_is_one_transcribe_knows() -> None:
    known = set(_transcribe_enum())
    sent = {code for variants in TRANSCRIBE_LANGUAGES.values() for code in variants}
    assert sent <= known, sent - known


def test_every_transcribe_language_is_reachable_by_its_own_code() -> None:
    """A code Transcribe added that the table lacks would be refused as unsupported."""
    unreachable = [code for code in _transcribe_enum() if transcribe_language_code(code) != code]
    assert unreachable == []


def test_base_language_reuses_the_rendition_table() -> None:
    assert base_language("ger") == base_language("de-AT") == "de"
    assert base_language("und") is None


@pytest.mark.parametrize("tag", ["en", "eng", "en-US", "en-GB", "en_AU", "ENG"])
def test_offline_captions_take_english(tag: str) -> None:
    assert offline_caption_language(tag)


@pytest.mark.parametrize("tag", ["fr", "de-DE", "spa", "zh-Hant", None, "und", "nonsense"])
def test_offline_captions_refuse_other_or_unknown_languages(tag: str | None) -> None:
    assert not offline_caption_language(tag)


def test_offline_languages_are_ones_transcribe_also_knows() -> None:
    # Switching backends must never lose a language.
    assert all(transcribe_language_code(lang) for lang in OFFLINE_CAPTION_LANGUAGES)
