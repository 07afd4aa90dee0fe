"""Audio renditions: one per source track, named by language; loudness measured by
loudnorm's first pass and normalised (EBU R128): by a constant gain where that reaches
the target without clipping, else by loudnorm's dynamic mode."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from lumiere.media.ladder import LoudnessTarget
from lumiere.media.streams import MediaInfo

UNDETERMINED = "und"
# Quieter than this (LUFS) is silence: there is nothing to normalise and loudnorm's
# second pass would divide by it.
SILENCE_LUFS = -70.0


@dataclass(frozen=True)
class AudioTrack:
    """One audio rendition: which source stream, and how players should label it."""

    stream_index: int  # absolute ffprobe index in the source
    language: str  # BCP 47 ("en"), or "und"
    name: str  # shown in players' audio menus
    channels: int
    default: bool

    @property
    def dirname(self) -> str:
        return f"a_{self.stream_index}_{self.language}"


@cache
def _languages() -> dict[str, tuple[str, str]]:
    text = resources.files("lumiere.media").joinpath("presets/languages.json")
    raw: dict[str, list[str]] = json.loads(text.read_text(encoding="utf-8"))
    return {code: (tag, name) for code, (tag, name) in raw.items()}


def language_tag(code: str | None) -> tuple[str, str | None]:
    """(BCP 47 tag, English name) for an ISO 639-2 code as containers store it.

    HLS LANGUAGE and DASH @lang want the shortest tag ("en", not "eng"); codes the table
    lacks pass through when they look like language codes, else become "und".
    """
    code = (code or "").strip().lower()
    known = _languages()
    if code in known:
        return known[code]
    if re.fullmatch(r"[a-z]{2,3}", code) and code != UNDETERMINED:
        return code, None
    return UNDETERMINED, None


def plan_audio_tracks(info: MediaInfo) -> list[AudioTrack]:
    """Every audio track of the source, the first one the default."""
    tracks: list[AudioTrack] = []
    for n, stream in enumerate(info.audio):
        tag, english = language_tag(stream.language)
        name = english or (f"Audio {n + 1}" if tag == UNDETERMINED else tag)
        if any(t.name == name for t in tracks):  # two tracks in one language: keep apart
            name = f"{name} ({n + 1})"
        tracks.append(
            AudioTrack(
                stream_index=stream.index,
                language=tag,
                name=name,
                channels=stream.channels,
                default=n == 0,
            )
        )
    return tracks


@dataclass(frozen=True)
class Loudness:
    """What loudnorm's first pass measured (input_*), and the offset it proposes for
    its dynamic mode."""

    integrated: float
    true_peak: float
    lra: float
    threshold: float
    offset: float

    @property
    def is_silent(self) -> bool:
        return not math.isfinite(self.integrated) or self.integrated <= SILENCE_LUFS

    def linear_gain(self, target: LoudnessTarget) -> float | None:
        """The constant gain (dB) that brings the track to the target, or None when a
        constant gain cannot: the true peak would pass the ceiling, or the range is
        wider than the target's (loudnorm's own rule for its linear mode). Decided
        here because loudnorm also refuses its linear mode when the range is 0 LU (it
        reads 0 as "not measured"), sending steady tracks through its dynamic mode,
        three times slower for nothing."""
        if self.is_silent or not math.isfinite(self.true_peak) or not math.isfinite(self.lra):
            return None
        gain = target.integrated - self.integrated
        if self.true_peak + gain > target.true_peak or self.lra > target.lra:
            return None
        return round(gain, 2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "integrated_lufs": _finite(self.integrated),
            "true_peak_dbtp": _finite(self.true_peak),
            "lra_lu": _finite(self.lra),
            "threshold_lufs": _finite(self.threshold),
            "silent": self.is_silent,
        }


def _finite(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None


_JSON_BLOCK = re.compile(r"\{[^{}]*\"input_i\"[^{}]*\}", re.S)


def parse_loudnorm(stderr: str) -> Loudness | None:
    """The last loudnorm JSON report in ffmpeg's log, or None if there is none."""
    blocks = _JSON_BLOCK.findall(stderr)
    if not blocks:
        return None
    try:
        data = json.loads(blocks[-1])
        return Loudness(
            integrated=float(data["input_i"]),
            true_peak=float(data["input_tp"]),
            lra=float(data["input_lra"]),
            threshold=float(data["input_thresh"]),
            offset=float(data["target_offset"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
