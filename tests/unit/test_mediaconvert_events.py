"""Reading MediaConvert's job state changes, and choosing the engine by configuration."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from lumiere.config import Settings
from lumiere.errors import MalformedEventError
from lumiere.media.ladder import load_preset
from lumiere.media.probe import AudioStream, MediaInfo, MediaKind, VideoStream
from lumiere.mediaconvert.job_events import (
    failure_from_event,
    outputs_from_complete,
    parse_job_event,
)

from tests.conftest import REPO

COMPLETE = json.loads((REPO / "events/mediaconvert_job_complete.json").read_text())
ERROR = json.loads((REPO / "events/mediaconvert_job_error.json").read_text())
ASSET = COMPLETE["detail"]["userMetadata"]["lumiere_asset_id"]
BUCKET = "lumiere-local-mediabucket"
INFO = MediaInfo(
    format_name="mov",
    duration=95.2,
    size=1,
    bit_rate=1,
    video=(VideoStream(0, "h264", 1920, 1080, frame_rate=30.0),),
    audio=(AudioStream(1, "aac", 2, 48000, language="eng"),),
)


def outputs(event: dict[str, Any]) -> dict[str, Any]:
    return outputs_from_complete(
        parse_job_event(event), INFO, MediaKind.VIDEO, load_preset("default"), BUCKET
    )


@pytest.mark.parametrize(
    "event",
    [
        None,
        {"source": "aws.s3", "detail-type": "Object Created", "detail": {}},
        {**COMPLETE, "detail-type": "MediaConvert Queue State Change"},
        {**COMPLETE, "detail": {"status": "COMPLETE"}},  # no jobId
    ],
)
def test_events_that_are_not_job_state_changes_are_malformed(event: Any) -> None:
    with pytest.raises(MalformedEventError):
        parse_job_event(event)


def test_a_job_lumiere_did_not_submit_names_no_asset() -> None:
    event = copy.deepcopy(COMPLETE)
    event["detail"]["userMetadata"] = {"lumiere_asset_id": "../../etc"}
    assert parse_job_event(event).asset_id is None
    event["detail"]["userMetadata"] = {}
    assert parse_job_event(event).asset_id is None
    assert parse_job_event(COMPLETE).asset_id == ASSET


def test_outputs_are_matched_to_rungs_by_size_whatever_their_order() -> None:
    event = copy.deepcopy(COMPLETE)
    details = event["detail"]["outputGroupDetails"][0]["outputDetails"]
    details.reverse()
    details[1]["videoDetails"]["averageBitrate"] = 812_000  # the 240p output, now second
    by_name = {r["name"]: r for r in outputs(event)["hls"]["renditions"]}
    assert by_name["240p"]["average_bandwidth"] == 812_000
    assert by_name["1080p"]["average_bandwidth"] is None


def test_paths_outside_the_asset_are_not_recorded() -> None:
    event = copy.deepcopy(COMPLETE)
    event["detail"]["outputGroupDetails"][0]["playlistFilePaths"] = [
        f"s3://another-bucket/assets/{ASSET}/hls/master.m3u8",
        f"s3://{BUCKET}/assets/{'0' * 32}/hls/master.mpd",
    ]
    got = outputs(event)
    assert "hls" not in got
    assert "dash" not in got
    assert got["poster"] == f"assets/{ASSET}/poster.0000001.jpg"


def test_error_and_cancel_become_a_reason_and_a_sentence() -> None:
    reason, message = failure_from_event(parse_job_event(ERROR))
    assert reason.value == "processing_error"
    assert message.startswith("MediaConvert could not transcode this file (error 1010: Unable")
    canceled = copy.deepcopy(ERROR)
    canceled["detail"]["status"] = "CANCELED"
    assert "canceled" in failure_from_event(parse_job_event(canceled))[1]


def test_engine_is_chosen_by_configuration() -> None:
    assert Settings.from_env({}).transcode_engine == "ffmpeg"
    assert Settings.from_env({"TRANSCODE_ENGINE": "MediaConvert"}).transcode_engine == (
        "mediaconvert"
    )
    with pytest.raises(ValueError, match="TRANSCODE_ENGINE"):
        Settings.from_env({"TRANSCODE_ENGINE": "elastic-transcoder"})
