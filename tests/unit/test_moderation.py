from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from lumiere.analysis.backends import (
    OpenCVFaces,
    RekognitionFaces,
    RekognitionModeration,
    face_detector,
    moderation_backend,
)
from lumiere.analysis.moderation import (
    ModerationLabel,
    ModerationPolicy,
    ModerationVerdict,
    NoModeration,
    judge,
)
from lumiere.errors import InvalidRequestError

# Rekognition's version 7 top-level categories (its moderation documentation).
TOP_LEVEL = [
    "Explicit",
    "Non-Explicit Nudity of Intimate parts and Kissing",
    "Swimwear or Underwear",
    "Violence",
    "Visually Disturbing",
    "Drugs & Tobacco",
    "Alcohol",
    "Rude Gestures",
    "Gambling",
    "Hate Symbols",
]


def chain(
    *names: str, confidence: float = 0.95, time: float | None = None
) -> list[ModerationLabel]:
    """A label with its ancestors, as Rekognition returns them: L1, L2, L3."""
    return [
        ModerationLabel(name, names[i - 1] if i else None, confidence, time)
        for i, name in enumerate(names)
    ]


def policy(rules: dict[str, dict[str, Any]], min_confidence: float = 0.5) -> ModerationPolicy:
    return ModerationPolicy.from_dict("test", {"min_confidence": min_confidence, "rules": rules})


def default_json() -> dict[str, Any]:
    text = resources.files("lumiere.media").joinpath("presets/moderation_default.json")
    data: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return data


# --- the default policy ---


def test_default_policy_has_a_rule_for_every_top_level_category() -> None:
    default = ModerationPolicy.load()
    assert default.name == "default"
    missing = [c for c in TOP_LEVEL if default.rule_for(c, {}) is None]
    assert missing == []


def test_default_policy_asks_the_detector_for_its_lowest_acting_threshold() -> None:
    data = default_json()
    acting = [
        rule.get("min_confidence", data["min_confidence"])
        for rule in data["rules"].values()
        if rule["action"] != "none"
    ]
    assert ModerationPolicy.load().lowest_confidence == min(acting)


@pytest.mark.parametrize(
    ("labels", "action"),
    [
        (chain("Explicit", "Explicit Nudity", "Exposed Female Genitalia"), "block"),
        (chain("Hate Symbols", "Nazi Party"), "block"),
        (chain("Violence", "Graphic Violence", "Blood & Gore"), "flag"),
        (chain("Drugs & Tobacco", "Products", "Pills"), "flag"),
        (chain("Swimwear or Underwear", "Female Swimwear or Underwear"), "none"),
        (chain("Alcohol", "Alcoholic Beverages"), "none"),
        ([], "none"),
    ],
)
def test_default_policy(labels: list[ModerationLabel], action: str) -> None:
    assert judge(labels, ModerationPolicy.load()).action == action


def test_unknown_preset_is_refused_with_the_choices() -> None:
    with pytest.raises(InvalidRequestError, match="default"):
        ModerationPolicy.load("no-such-policy")


# --- judging ---


def test_a_child_inherits_its_parents_rule_and_is_the_label_reported() -> None:
    verdict = judge(chain("Violence", "Weapons"), policy({"Violence": {"action": "flag"}}))
    assert verdict.action == "flag"
    assert [label.name for label in verdict.labels] == ["Weapons"]


def test_a_rule_on_a_child_overrides_its_parents() -> None:
    rules = {"Violence": {"action": "flag"}, "Graphic Violence": {"action": "block"}}
    assert judge(chain("Violence", "Graphic Violence"), policy(rules)).action == "block"
    assert judge(chain("Violence", "Weapons"), policy(rules)).action == "flag"


def test_an_exempted_child_is_not_brought_back_by_its_ancestors() -> None:
    rules = {
        "Non-Explicit Nudity of Intimate parts and Kissing": {"action": "flag"},
        "Kissing on the Lips": {"action": "none"},
    }
    kiss = chain("Non-Explicit Nudity of Intimate parts and Kissing", "Kissing on the Lips")
    assert judge(kiss, policy(rules)).action == "none"
    # A sibling the exemption does not cover still flags the same picture.
    sibling = ModerationLabel("Non-Explicit Nudity", kiss[0].name, 0.9)
    verdict = judge([*kiss, sibling], policy(rules))
    assert verdict.action == "flag"
    assert verdict.labels == (sibling,)


def test_the_strictest_action_wins() -> None:
    rules = {"Alcohol": {"action": "flag"}, "Explicit": {"action": "block"}}
    labels = chain("Alcohol", "Alcohol Use", "Drinking") + chain(
        "Explicit", "Sex Toys", confidence=0.6
    )
    verdict = judge(labels, policy(rules))
    assert verdict.action == "block"
    # Strictest first, then by confidence: the block decides, the flag is kept as reason.
    assert [label.name for label in verdict.labels] == ["Sex Toys", "Drinking"]


def test_strictest_across_video_frames() -> None:
    rules = {"Violence": {"action": "flag"}, "Hate Symbols": {"action": "block"}}
    frames = chain("Violence", "Weapons", time=1.0) + chain("Hate Symbols", "Extremist", time=9.0)
    verdict = judge(frames, policy(rules))
    assert verdict.action == "block"
    assert verdict.labels[0].time == 9.0


def test_a_label_below_its_threshold_is_ignored_and_at_it_counts() -> None:
    rules = {"Violence": {"action": "block", "min_confidence": 0.8}}
    assert judge(chain("Violence", "Weapons", confidence=0.79), policy(rules)).action == "none"
    assert judge(chain("Violence", "Weapons", confidence=0.8), policy(rules)).action == "block"


def test_the_policy_threshold_applies_to_rules_without_their_own() -> None:
    rules = {"Violence": {"action": "flag"}}
    assert judge(chain("Violence", confidence=0.69), policy(rules, 0.7)).action == "none"
    assert judge(chain("Violence", confidence=0.7), policy(rules, 0.7)).action == "flag"


def test_a_leaf_is_judged_by_its_own_confidence_not_its_parents() -> None:
    labels = [
        ModerationLabel("Violence", None, 0.95),
        ModerationLabel("Weapons", "Violence", 0.55),
    ]
    rules = {"Violence": {"action": "block", "min_confidence": 0.6}}
    assert judge(labels, policy(rules)).action == "none"


def test_labels_match_rules_whatever_their_case() -> None:
    labels = chain("Drugs & Tobacco", "Drugs & Tobacco Paraphernalia & Use")
    rules = {"drugs & TOBACCO": {"action": "flag"}}
    assert judge(labels, policy(rules)).action == "flag"


def test_labels_no_rule_reaches_are_ignored() -> None:
    assert judge(
        chain("Gambling", "Gambling"), policy({"Violence": {"action": "block"}})
    ).action == ("none")


def test_a_category_that_is_its_own_child_is_judged_once_and_terminates() -> None:
    # Rekognition files "Gambling" under "Gambling".
    labels = [ModerationLabel("Gambling", None, 0.9), ModerationLabel("Gambling", "Gambling", 0.88)]
    verdict = judge(labels, policy({"Gambling": {"action": "flag"}}))
    assert verdict.action == "flag"
    assert verdict.labels == (labels[1],)


def test_a_label_seen_in_many_frames_is_reported_once_at_its_strongest() -> None:
    frames = [
        label
        for time, confidence in ((2.0, 0.7), (4.0, 0.93), (6.0, 0.8))
        for label in chain("Violence", "Weapons", confidence=confidence, time=time)
    ]
    verdict = judge(frames, policy({"Violence": {"action": "flag"}}))
    assert [(label.name, label.time, label.confidence) for label in verdict.labels] == [
        ("Weapons", 4.0, 0.93)
    ]


def test_the_verdict_names_its_policy_and_backend() -> None:
    verdict = judge([], policy({}), backend="rekognition")
    assert (verdict.policy_name, verdict.backend, verdict.note) == ("test", "rekognition", None)


# --- policy files ---


@pytest.mark.parametrize("value", [60, -0.1, 1.5])
def test_a_percentage_threshold_is_refused(value: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        policy({"Violence": {"action": "flag", "min_confidence": value}})
    with pytest.raises(ValueError, match="fraction"):
        policy({}, min_confidence=value)


def test_an_unknown_action_is_refused() -> None:
    with pytest.raises(ValueError, match="flag"):
        policy({"Violence": {"action": "remove"}})


def test_lowest_confidence_ignores_exemptions() -> None:
    rules = {
        "Violence": {"action": "flag", "min_confidence": 0.7},
        "Alcohol": {"action": "none", "min_confidence": 0.1},
    }
    assert policy(rules).lowest_confidence == 0.7
    assert policy({}, min_confidence=0.4).lowest_confidence == 0.4


# --- round trips ---


def test_label_and_verdict_round_trip_through_json() -> None:
    labels = chain("Violence", "Weapons", confidence=0.91, time=3.5)
    verdict = judge(labels, policy({"Violence": {"action": "flag"}}), backend="rekognition")
    again = ModerationVerdict.from_dict(json.loads(json.dumps(verdict.to_dict())))
    assert again == verdict
    top = ModerationLabel.from_dict(json.loads(json.dumps(labels[0].to_dict())))
    assert top == labels[0]
    assert top.parent is None


def test_a_stored_verdict_with_an_unknown_action_is_refused() -> None:
    with pytest.raises(ValueError, match="ban"):
        ModerationVerdict.from_dict({"action": "ban", "labels": [], "policy": "default"})


# --- backends ---


def test_no_moderation_says_nothing_was_checked() -> None:
    backend = NoModeration()
    for verdict in (
        backend.moderate_image(b"\xff\xd8 any picture", ModerationPolicy.load()),
        backend.moderate_frames([(0.0, b"frame"), (5.0, b"frame")], ModerationPolicy.load()),
    ):
        assert verdict.action == "none"
        assert verdict.labels == ()
        assert verdict.backend == "none"
        assert verdict.note is not None
        assert "no offline moderation model" in verdict.note


def test_backends_are_chosen_by_name() -> None:
    assert isinstance(face_detector("opencv"), OpenCVFaces)
    assert isinstance(face_detector("rekognition"), RekognitionFaces)
    assert isinstance(moderation_backend("none"), NoModeration)
    assert isinstance(moderation_backend("rekognition"), RekognitionModeration)
    with pytest.raises(ValueError, match="opencv"):
        face_detector("dlib")
    with pytest.raises(ValueError, match="rekognition"):
        moderation_backend("openai")
