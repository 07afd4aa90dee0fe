from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from lumiere.cloud.transcribe import (
    JOB_NAME_MAX,
    parse_job_state_change,
    transcription_job_name,
)
from lumiere.errors import MalformedEventError

EVENTS = Path(__file__).parents[2] / "events"
ASSET_ID = "6f1c2b9e8d7a4c3b9a0e1d2f3c4b5a69"


def _name_rule() -> tuple[re.Pattern[str], int]:
    model = botocore.session.get_session().get_service_model("transcribe")
    meta = model.shape_for("TranscriptionJobName").metadata
    return re.compile(meta["pattern"] + "$"), int(meta["max"])


def sample_event() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / "transcribe_job_state_change.json").read_text())
    return data


# --- job names ---


@pytest.mark.parametrize(
    ("asset_id", "language"),
    [
        (ASSET_ID, "en-US"),
        (ASSET_ID, "auto"),
        ("asset with spaces/and:slashes", "zh-Hant-TW"),
        ("é" * 300, "fr-FR"),
        (ASSET_ID * 10, "en-US"),
    ],
)
def test_job_names_are_valid_for_transcribe(asset_id: str, language: str) -> None:
    pattern, longest = _name_rule()
    name = transcription_job_name(asset_id, language)
    assert pattern.match(name), name
    assert len(name) <= min(longest, JOB_NAME_MAX)
    assert transcription_job_name(asset_id, language) == name  # deterministic


def test_a_plain_name_stays_readable() -> None:
    name = transcription_job_name(ASSET_ID, "en-US")
    assert ASSET_ID in name
    assert name.endswith("-en-US")


def test_inputs_that_clean_up_alike_get_different_names() -> None:
    names = {
        transcription_job_name(ASSET_ID, "en GB"),
        transcription_job_name(ASSET_ID, "en_GB"),
        transcription_job_name(ASSET_ID, "en/GB"),
        transcription_job_name(ASSET_ID * 10, "en-US"),
        transcription_job_name(ASSET_ID * 10 + "0", "en-US"),
    }
    assert len(names) == 5


def test_each_language_of_an_asset_is_its_own_job() -> None:
    assert transcription_job_name(ASSET_ID, "en-US") != transcription_job_name(ASSET_ID, "fr-FR")


# --- the EventBridge event ---


def test_the_sample_event_parses() -> None:
    event = sample_event()
    assert parse_job_state_change(event) == (
        event["detail"]["TranscriptionJobName"],
        "COMPLETED",
    )


def test_the_sample_events_job_is_one_lumiere_names() -> None:
    assert sample_event()["detail"]["TranscriptionJobName"] == transcription_job_name(
        ASSET_ID, "en-US"
    )


def test_a_failed_job_event_parses_with_extra_detail() -> None:
    event = sample_event()
    event["detail"]["TranscriptionJobStatus"] = "FAILED"
    event["detail"]["FailureReason"] = "Unsupported media format"
    assert parse_job_state_change(event)[1] == "FAILED"


def _broken(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    event = copy.deepcopy(sample_event())
    target = event
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return event


@pytest.mark.parametrize(
    "event",
    [
        _broken(("source",), "aws.s3"),
        _broken(("detail-type",), "Language Identification State Change"),
        _broken(("detail",), ...),
        _broken(("detail",), "COMPLETED"),
        _broken(("detail", "TranscriptionJobName"), ...),
        _broken(("detail", "TranscriptionJobName"), ""),
        _broken(("detail", "TranscriptionJobStatus"), "IN_PROGRESS"),
        _broken(("detail", "TranscriptionJobStatus"), ...),
        {"Records": []},
    ],
)
def test_anything_else_is_malformed(event: dict[str, Any]) -> None:
    with pytest.raises(MalformedEventError):
        parse_job_state_change(event)
