import json
from pathlib import Path

import pytest
from lumiere.config import Settings
from lumiere.errors import InvalidRequestError, MalformedEventError
from lumiere.media.probe import MediaKind
from lumiere.pipeline.models import (
    AssetChange,
    ImportTask,
    SourceObject,
    TranscodeTask,
    UploadRequest,
)

EVENTS = Path(__file__).parents[2] / "events"


def test_upload_request_normalises_content_type() -> None:
    r = UploadRequest.from_json({"filename": "a.mp4", "content_type": " Video/MP4 ", "size": 10})
    assert r == UploadRequest("a.mp4", "video/mp4", 10)


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"content_type": "video/mp4", "size": 1},
        {"filename": "a", "content_type": "mp4", "size": 1},
        {"filename": "a", "content_type": "video/mp4", "size": 0},
        {"filename": "a", "content_type": "video/mp4", "size": "12"},
        {"filename": "a", "content_type": "video/mp4", "size": True},
    ],
)
def test_upload_request_rejects_bad_bodies(body: object) -> None:
    with pytest.raises(InvalidRequestError):
        UploadRequest.from_json(body)


def test_transcode_task_round_trips_and_matches_the_sample_event() -> None:
    sample = json.loads((EVENTS / "sqs-transcode-task.json").read_text())["Records"][0]["body"]
    task = TranscodeTask.from_json(sample)
    assert task.kind is MediaKind.VIDEO
    assert task.part == "video-1080p-720p-540p-360p-240p"
    assert task.task_id == f"{task.asset_id}:{task.part}"
    assert task.source.key.endswith("été (2026).mp4")
    assert TranscodeTask.from_json(task.to_json()) == task
    assert task.to_json() == sample


def test_import_task_round_trips_and_matches_the_sample_event() -> None:
    sample = json.loads((EVENTS / "sqs-import-task.json").read_text())["Records"][0]["body"]
    task = ImportTask.from_json(sample)
    assert task.url.endswith("keynote%202026.mp4?X-Amz-Signature=abc123")
    assert task.to_json() == sample
    for bad in ("not json", "[]", '{"asset_id": "a"}', '{"asset_id": 1, "url": "u"}'):
        with pytest.raises(MalformedEventError):
            ImportTask.from_json(bad)


def test_task_id_is_deterministic() -> None:
    src = SourceObject("b", "k", 1)
    assert (
        TranscodeTask("a", MediaKind.AUDIO, src, part="audio").task_id
        == TranscodeTask("a", MediaKind.AUDIO, src, part="audio").task_id
        == "a:audio"
    )
    # Each part of an asset is its own unit of work.
    assert TranscodeTask("a", MediaKind.VIDEO, src, part="poster").task_id == "a:poster"


@pytest.mark.parametrize("body", ["not json", "{}", '{"asset_id": "a", "kind": "hologram"}'])
def test_malformed_tasks(body: str) -> None:
    with pytest.raises(MalformedEventError):
        TranscodeTask.from_json(body)


def test_settings_from_env_with_defaults() -> None:
    s = Settings.from_env(
        {
            "ASSETS_TABLE": "t",
            "MEDIA_BASE_URL": "https://cdn.example/",
            "MAX_UPLOAD_BYTES": "1024",
            "SEGMENT_SECONDS": "6",
            "MAX_ATTEMPTS": "",
        }
    )
    assert s.assets_table == "t"
    assert s.media_base_url == "https://cdn.example"
    assert s.max_upload_bytes == 1024
    assert s.segment_seconds == 6.0
    assert s.max_attempts == Settings().max_attempts
    assert Settings.from_env({}) == Settings()


@pytest.mark.parametrize("language", ["en", "eng", "en-GB", "pt-BR", "zh-Hant-TW", "es-419"])
def test_upload_request_takes_a_spoken_language(language: str) -> None:
    body = {"filename": "a.mp4", "content_type": "video/mp4", "size": 1, "language": language}
    assert UploadRequest.from_json(body).language == language


@pytest.mark.parametrize("language", ["english", "e", "en_GB!", 7, "../en", "en-GB-x"])
def test_upload_request_refuses_what_is_not_a_language_tag(language: object) -> None:
    body = {"filename": "a.mp4", "content_type": "video/mp4", "size": 1, "language": language}
    with pytest.raises(InvalidRequestError, match="language tag"):
        UploadRequest.from_json(body)


def test_analysis_runs_only_with_a_backend_and_its_queue() -> None:
    assert not Settings().analysis_enabled  # no queue: the media parts only
    on = Settings.from_env({"ANALYSIS_QUEUE_URL": "http://q", "ANALYSIS_BACKEND": " AWS "})
    assert on.analysis_enabled
    assert on.analysis_backend == "aws"
    assert not Settings.from_env(
        {"ANALYSIS_QUEUE_URL": "http://q", "ANALYSIS_BACKEND": "off"}
    ).analysis_enabled
    with pytest.raises(ValueError, match="ANALYSIS_BACKEND"):
        Settings.from_env({"ANALYSIS_BACKEND": "opencv"})


UPLOAD = {"filename": "a.mp4", "content_type": "video/mp4", "size": 1}


def test_upload_request_takes_a_title_and_a_passthrough() -> None:
    r = UploadRequest.from_json(
        {**UPLOAD, "title": "  Cafe\u0301 au lait  ", "passthrough": ' {"order": 17} '}
    )
    assert r.title == "Caf\u00e9 au lait"  # NFC, trimmed: what people typed, shown on one line
    assert r.passthrough == ' {"order": 17} '  # opaque: returned exactly as sent
    plain = UploadRequest.from_json({**UPLOAD, "title": "   ", "passthrough": ""})
    assert (plain.title, plain.passthrough) == (None, None)
    limits = UploadRequest.from_json({**UPLOAD, "title": "t" * 512, "passthrough": "p" * 255})
    assert (len(limits.title or ""), len(limits.passthrough or "")) == (512, 255)
    # emoji, right-to-left text and joiners are words, not control characters
    assert UploadRequest.from_json({**UPLOAD, "title": "👩\u200d👩\u200d👧 عائلة"}).title


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "t" * 513, "513 characters; the limit is 512"),
        ("passthrough", "p" * 256, "256 characters; the limit is 255"),
        ("title", "line one\nline two", "one line"),
        ("title", "bell\x07", "one line"),
        ("title", "\ud800", "valid Unicode"),
        ("passthrough", "x\udfff", "valid Unicode"),
        ("title", 17, "must be a string"),
        ("passthrough", {"order": 17}, "must be a string"),
    ],
)
def test_bad_titles_and_passthroughs_are_refused_with_the_rule(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        UploadRequest.from_json({**UPLOAD, field: value})
    with pytest.raises(InvalidRequestError, match=message):
        AssetChange.from_json({field: value})


def test_asset_change_carries_only_the_details_given() -> None:
    assert AssetChange.from_json({"visibility": "public"}).details == {}
    assert AssetChange.from_json({"title": " New ", "passthrough": None}).details == {
        "title": "New",
        "passthrough": None,  # null removes it
    }
    assert AssetChange.from_json({"title": ""}).details == {"title": None}
    change = AssetChange.from_json({"title": "x", "visibility": "public", "poster_time": None})
    assert sorted(change.fields) == ["poster_time", "title", "visibility"]  # what "changed" says
    with pytest.raises(InvalidRequestError, match="title"):
        AssetChange.from_json({"name": "x"})
