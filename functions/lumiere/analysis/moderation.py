"""Moderation: labels of unwanted content, the policy that says what to do about them,
and the verdict for an asset.

Labels follow Amazon Rekognition's hierarchical taxonomy (version 7: top-level
categories such as "Explicit", "Non-Explicit Nudity of Intimate parts and Kissing",
"Swimwear or Underwear", "Violence", "Visually Disturbing", "Drugs & Tobacco",
"Alcohol", "Rude Gestures", "Gambling", "Hate Symbols", each with children). A policy
gives a rule (flag or block, from some confidence) to any label; a label without a rule
of its own inherits its nearest ancestor's. The strictest action over all labels (and all
frames of a video) is the verdict.

Rekognition returns each detected label together with its chain of ancestors, so only
the most specific label of each chain is judged. That is what lets a policy exempt one
specific label (AWS's own advice: moderate by the top two levels, remove particular
third-level concepts) without its ancestors bringing it back.

There is no offline moderation model here: ``NoModeration`` says so in its verdict
rather than pretending the content was checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

from lumiere.media.presets import read_preset

Action = Literal["none", "flag", "block"]
ACTIONS: tuple[Action, ...] = ("none", "flag", "block")  # in order of severity
DEFAULT_POLICY = "default"
NO_OFFLINE_MODEL_NOTE = (
    "Not moderated: no offline moderation model is available; select the Rekognition "
    "moderation backend to check content."
)


def _severity(action: Action) -> int:
    return ACTIONS.index(action)


@dataclass(frozen=True)
class ModerationLabel:
    """One detected label. ``parent`` is None for a top-level category; ``confidence``
    is 0..1 (as for faces), ``time`` the seconds into a video (None for a still)."""

    name: str
    parent: str | None
    confidence: float
    time: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "parent": self.parent,
            "confidence": self.confidence,
            "time": self.time,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModerationLabel:
        time = data.get("time")
        return cls(
            name=str(data["name"]),
            parent=data.get("parent") or None,
            confidence=float(data["confidence"]),
            time=None if time is None else float(time),
        )


@dataclass(frozen=True)
class ModerationRule:
    action: Action
    min_confidence: float


def _fraction(value: Any, where: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        # The classic mistake is Rekognition's percent (60) for our fraction (0.6).
        raise ValueError(f"{where}: min_confidence is a fraction 0..1, got {value!r}")
    return number


@dataclass(frozen=True)
class ModerationPolicy:
    """Rules by label name (matched without regard to case); labels no rule reaches are
    ignored."""

    name: str
    rules: Mapping[str, ModerationRule]
    min_confidence: float = 0.5
    description: str = ""

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> ModerationPolicy:
        default = _fraction(data.get("min_confidence", 0.5), f"moderation policy {name!r}")
        rules: dict[str, ModerationRule] = {}
        for label, spec in dict(data.get("rules") or {}).items():
            action = spec.get("action")
            if action not in ACTIONS:
                raise ValueError(
                    f"moderation policy {name!r}, {label!r}: action must be one of "
                    f"{', '.join(ACTIONS)}, got {action!r}"
                )
            threshold = spec.get("min_confidence", default)
            rules[label.casefold()] = ModerationRule(
                action=cast(Action, action),
                min_confidence=_fraction(threshold, f"moderation policy {name!r}, {label!r}"),
            )
        return cls(
            name=name,
            rules=rules,
            min_confidence=default,
            description=str(data.get("description", "")),
        )

    @classmethod
    def load(cls, name: str = DEFAULT_POLICY) -> ModerationPolicy:
        """A policy from ``media/presets/moderation_{name}.json``."""
        return cls.from_dict(name, read_preset("moderation", name))

    @property
    def lowest_confidence(self) -> float:
        """The lowest confidence any rule acts on: what to ask the detector for."""
        acting = [r.min_confidence for r in self.rules.values() if r.action != "none"]
        return min(acting, default=self.min_confidence)

    def rule_for(self, label: str, parents: Mapping[str, str]) -> ModerationRule | None:
        """The label's own rule, else its nearest ancestor's (``parents`` maps a name to
        its parent's, as the detections give them)."""
        seen: set[str] = set()
        name: str | None = label.casefold()
        while name and name not in seen:
            if name in self.rules:
                return self.rules[name]
            seen.add(name)  # "Gambling" is its own parent in Rekognition's taxonomy
            name = parents.get(name)
        return None


@dataclass(frozen=True)
class ModerationVerdict:
    """What to do with an asset: nothing, flag it for a person, or block it. ``labels``
    are the ones that decided it (the strongest sighting of each), strictest first."""

    action: Action
    labels: tuple[ModerationLabel, ...]
    policy_name: str
    backend: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "labels": [label.to_dict() for label in self.labels],
            "policy": self.policy_name,
            "backend": self.backend,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModerationVerdict:
        action = data.get("action")
        if action not in ACTIONS:
            raise ValueError(f"unknown moderation action {action!r}")
        return cls(
            action=cast(Action, action),
            labels=tuple(ModerationLabel.from_dict(d) for d in data.get("labels", [])),
            policy_name=str(data["policy"]),
            backend=data.get("backend"),
            note=data.get("note"),
        )


def _most_specific(labels: list[ModerationLabel]) -> list[ModerationLabel]:
    """The labels of one picture that no other label of it names as its parent. Labels
    are told apart by name and parent: "Gambling" is both a top-level category and its
    own child, and the child is the leaf."""

    def ident(label: ModerationLabel) -> tuple[str, str]:
        return label.name.casefold(), (label.parent or "").casefold()

    return [
        label
        for label in labels
        if not any(
            ident(other) != ident(label) and ident(other)[1] == ident(label)[0] for other in labels
        )
    ]


def judge(
    labels: Iterable[ModerationLabel], policy: ModerationPolicy, *, backend: str | None = None
) -> ModerationVerdict:
    """The strictest action the policy gives any detected label. Labels are grouped by
    ``time`` (one group per picture or video frame) to find each chain's leaf."""
    by_time: dict[float | None, list[ModerationLabel]] = {}
    for label in labels:
        by_time.setdefault(label.time, []).append(label)
    deciding: dict[tuple[str, str | None], tuple[Action, ModerationLabel]] = {}
    for group in by_time.values():
        parents = {
            label.name.casefold(): label.parent.casefold() for label in group if label.parent
        }
        for label in _most_specific(group):
            rule = policy.rule_for(label.name, parents)
            if rule is None or rule.action == "none" or label.confidence < rule.min_confidence:
                continue
            key = (label.name, label.parent)
            kept = deciding.get(key)
            if kept is None or label.confidence > kept[1].confidence:
                deciding[key] = (rule.action, label)
    ranked = sorted(
        deciding.values(), key=lambda item: (_severity(item[0]), item[1].confidence), reverse=True
    )
    action: Action = ranked[0][0] if ranked else "none"
    return ModerationVerdict(
        action=action,
        labels=tuple(label for _, label in ranked),
        policy_name=policy.name,
        backend=backend,
    )


class ModerationBackend(Protocol):
    """Something that looks at pictures and judges them by a policy."""

    name: str

    def moderate_image(self, image: bytes, policy: ModerationPolicy) -> ModerationVerdict:
        """One encoded picture (JPEG or PNG)."""
        ...

    def moderate_frames(
        self, frames: Iterable[tuple[float, bytes]], policy: ModerationPolicy
    ) -> ModerationVerdict:
        """Frames sampled from a video, as (seconds, encoded JPEG)."""
        ...


@dataclass(frozen=True)
class NoModeration:
    """The offline choice: there is no moderation model that runs here, so nothing is
    checked and the verdict says so (action "none" with a note) instead of passing
    content it never looked at as clean."""

    name: str = field(default="none")

    def moderate_image(self, image: bytes, policy: ModerationPolicy) -> ModerationVerdict:
        return self._unchecked(policy)

    def moderate_frames(
        self, frames: Iterable[tuple[float, bytes]], policy: ModerationPolicy
    ) -> ModerationVerdict:
        return self._unchecked(policy)

    def _unchecked(self, policy: ModerationPolicy) -> ModerationVerdict:
        return ModerationVerdict(
            action="none",
            labels=(),
            policy_name=policy.name,
            backend=self.name,
            note=NO_OFFLINE_MODEL_NOTE,
        )
