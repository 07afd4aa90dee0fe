"""Which speech-to-text engine can caption which language.

A language arrives as the upload request gives it or as the container tags the audio
stream: ISO 639-1 ("en"), ISO 639-2 ("eng", "fre"), or a BCP 47 tag with a region or a
script ("en-GB", "pt_BR", "zh-Hant-TW"). The primary subtag is normalised by
``media.audio.language_tag`` (the same table that names audio renditions); this module
only decides what each engine can do with it. Anything unknown, undetermined ("und")
or not a language at all gives None, so the caller reports "unsupported language"
instead of captioning in a guessed one.
"""

from __future__ import annotations

import re

from lumiere.media.audio import UNDETERMINED, language_tag

# Codes that are valid ISO 639 but name no spoken language to transcribe.
_NOT_SPEECH = frozenset({UNDETERMINED, "mul", "zxx", "mis"})

# pocketsphinx's wheel ships one acoustic and language model: US English. It copes with
# other English accents (worse), and is useless on any other language.
OFFLINE_CAPTION_LANGUAGES = frozenset({"en"})

# Languages Transcribe knows in one variant only.
_SINGLE_VARIANT = (
    "af-ZA",
    "am-ET",
    "ab-GE",
    "ast-ES",
    "az-AZ",
    "ba-RU",
    "be-BY",
    "bg-BG",
    "bn-IN",
    "bs-BA",
    "ca-ES",
    "cs-CZ",
    "da-DK",
    "el-GR",
    "eu-ES",
    "fi-FI",
    "ga-IE",
    "gd-GB",
    "gl-ES",
    "gu-IN",
    "ha-NG",
    "he-IL",
    "hi-IN",
    "hr-HR",
    "ht-HT",
    "hu-HU",
    "hy-AM",
    "id-ID",
    "is-IS",
    "it-IT",
    "ja-JP",
    "jv-ID",
    "ka-GE",
    "kab-DZ",
    "kk-KZ",
    "km-KH",
    "kn-IN",
    "ko-KR",
    "ky-KG",
    "lt-LT",
    "lv-LV",
    "mhr-RU",
    "mi-NZ",
    "mk-MK",
    "ml-IN",
    "mn-MN",
    "mr-IN",
    "ms-MY",
    "mt-MT",
    "my-MM",
    "ne-NP",
    "nl-NL",
    "or-IN",
    "pa-IN",
    "pl-PL",
    "ps-AF",
    "ro-RO",
    "ru-RU",
    "rw-RW",
    "si-LK",
    "sk-SK",
    "sl-SI",
    "so-SO",
    "sq-AL",
    "sr-RS",
    "su-ID",
    "sv-SE",
    "ta-IN",
    "te-IN",
    "th-TH",
    "tl-PH",
    "tr-TR",
    "tt-RU",
    "ug-CN",
    "uk-UA",
    "uz-UZ",
    "vi-VN",
    "wo-SN",
    "zu-ZA",
)

# Amazon Transcribe's batch language codes (botocore's LanguageCode enum; the tests
# check every one against it), by primary language. The first is what a bare tag
# ("pt", "es") gets: the variant with the most speakers or, where that is unclear, the
# one the tag is usually meant as. A region Transcribe lacks ("fr-BE", "de-AT", "en-CA")
# falls back to it too: the language is right, only the accent model differs.
TRANSCRIBE_LANGUAGES: dict[str, tuple[str, ...]] = {
    "en": ("en-US", "en-GB", "en-AU", "en-IN", "en-IE", "en-NZ", "en-ZA", "en-AB", "en-WL"),
    "es": ("es-ES", "es-US", "es-MX"),
    "pt": ("pt-BR", "pt-PT"),
    "fr": ("fr-FR", "fr-CA"),
    "de": ("de-DE", "de-CH"),
    "zh": ("zh-CN", "zh-TW", "zh-HK"),
    "ar": ("ar-SA", "ar-AE"),
    "fa": ("fa-IR", "fa-AF"),
    "sw": ("sw-KE", "sw-TZ", "sw-UG", "sw-RW", "sw-BI"),
    "cy": ("cy-WL", "cy-GB"),
    "ckb": ("ckb-IQ", "ckb-IR"),
    "no": ("no-NO",),
    "nb": ("no-NO",),
    "nn": ("no-NO",),
    "yue": ("zh-HK",),  # Cantonese: Transcribe files it under Chinese, Hong Kong
    "iw": ("he-IL",),  # the withdrawn ISO 639-1 code for Hebrew, still in old files
    "fil": ("tl-PH",),
    "et": ("et-EE", "et-ET"),
    "lg": ("lg-IN",),
    **{code.split("-")[0]: (code,) for code in _SINGLE_VARIANT},
}

# Chinese written in Traditional script is Taiwan's (or Hong Kong's) Mandarin.
_CHINESE_SCRIPTS = {"Hant": "zh-TW", "Hans": "zh-CN"}
# Regions that are not countries: Latin American Spanish is closer to Mexico's than Spain's.
_AREA_VARIANTS = {("es", "419"): "es-MX"}

_SUBTAG = re.compile(r"^[A-Za-z0-9]{1,8}$")


def _parse(language: str | None) -> tuple[str, str | None, str | None] | None:
    """(primary language, script, region) of a tag, or None if it names no language.
    The primary subtag comes back as ``language_tag`` shortens it ("eng" → "en")."""
    subtags = (language or "").strip().replace("_", "-").split("-")
    if not all(_SUBTAG.match(s) for s in subtags):
        return None
    primary, _ = language_tag(subtags[0])
    if primary in _NOT_SPEECH:
        return None
    script = region = None
    for sub in subtags[1:]:
        if len(sub) == 4 and sub.isalpha() and script is None and region is None:
            script = sub.title()
        elif (len(sub) == 2 and sub.isalpha()) or (len(sub) == 3 and sub.isdigit()):
            region = sub.upper()
            break
        else:
            break  # variants and extensions ("-u-ca-...") do not change the engine
    return primary, script, region


def base_language(language: str | None) -> str | None:
    """The primary language of a tag as a short code ("en" for "eng", "en-GB" and
    "EN_us"), or None when it is missing, undetermined or not a language code."""
    parsed = _parse(language)
    return None if parsed is None else parsed[0]


def transcribe_language_code(language: str | None) -> str | None:
    """The Amazon Transcribe LanguageCode for a language tag: "en" → "en-US", "en-GB" →
    "en-GB", "fre" → "fr-FR", "zh-Hant" → "zh-TW"; None when Transcribe has no model
    for the language or the tag names none."""
    parsed = _parse(language)
    if parsed is None:
        return None
    primary, script, region = parsed
    variants = TRANSCRIBE_LANGUAGES.get(primary)
    if not variants:
        return None
    if region is not None and f"{primary}-{region}" in variants:
        return f"{primary}-{region}"
    if (primary, region) in _AREA_VARIANTS:
        return _AREA_VARIANTS[(primary, region)]
    if primary == "zh" and script in _CHINESE_SCRIPTS:
        return _CHINESE_SCRIPTS[script]
    return variants[0]


def offline_caption_language(language: str | None) -> bool:
    """Whether the offline engine (pocketsphinx, US English model) can caption speech in
    this language. False for other languages and for an unknown one: the caller decides
    whether to assume English when nothing says otherwise, and says so if it does."""
    return base_language(language) in OFFLINE_CAPTION_LANGUAGES
