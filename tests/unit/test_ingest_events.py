import json
from pathlib import Path

import pytest
from lumiere.errors import MalformedEventError
from lumiere.handlers.ingest import s3_objects

EVENTS = Path(__file__).parents[2] / "events"


def body_of(name: str) -> str:
    return json.loads((EVENTS / name).read_text())["Records"][0]["body"]


def test_sample_notification_decodes_key() -> None:
    [obj] = s3_objects(body_of("sqs-s3-object-created.json"))
    assert obj.bucket == "lumiere-uploads-123456789012-us-east-1"
    assert obj.key == "uploads/0123456789abcdef0123456789abcdef/My holiday été (2026).mp4"
    assert obj.size == 1048576
    assert obj.etag == "d41d8cd98f00b204e9800998ecf8427e"


def test_s3_test_event_names_nothing() -> None:
    assert s3_objects(body_of("sqs-s3-test-event.json")) == []


def test_non_create_events_are_skipped() -> None:
    event = json.loads((EVENTS / "s3-object-created.json").read_text())
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert s3_objects(json.dumps(event)) == []


@pytest.mark.parametrize("body", ["nope", "[]", '{"Records": "x"}', '{"Records": [{"s3": {}}]}'])
def test_malformed_bodies_raise(body: str) -> None:
    with pytest.raises(MalformedEventError):
        s3_objects(body)


def test_multipart_completion_is_an_upload_too() -> None:
    event = json.loads((EVENTS / "s3-object-created.json").read_text())
    event["Records"][0]["eventName"] = "ObjectCreated:CompleteMultipartUpload"
    [obj] = s3_objects(json.dumps(event))
    assert obj.key.endswith("été (2026).mp4")
