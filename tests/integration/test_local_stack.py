"""The local stack itself, against moto's real server: template resolution, resources, the
event-source runner, the API server and the CDN."""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import pytest
import requests
from lumiere_dev.cdn import object_key
from lumiere_dev.environment import handler_environment
from lumiere_dev.lambda_runtime import failed_message_ids
from lumiere_dev.resources import create_resources
from lumiere_dev.stack import LocalStack, _check_free
from lumiere_dev.template import StackContext, load_template, read_stack

from tests.conftest import REPO
from tests.integration.localstack_fixtures import handlers

FIXTURE = Path(__file__).parent / "localstack_fixtures" / "template.yaml"

SHORT_FORMS = """
Parameters:
  Stage: {Type: String, Default: dev}
  Flag: {Type: String}
Resources:
  Q: {Type: AWS::SQS::Queue}
  B: {Type: AWS::S3::Bucket}
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-t-${Stage}"
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
  F:
    Type: AWS::Serverless::Function
    Properties:
      Handler: m.h
      Environment:
        Variables:
          LIST_GETATT: !GetAtt [Q, Arn]
          NAME: !GetAtt Q.QueueName
          SUB: !Sub ["${X}/${!Literal}/${AWS::Partition}.${AWS::URLSuffix}", {X: !Ref B}]
          URL: !Ref Q
          BUCKET_ARN: !GetAtt B.Arn
          TABLE_ARN: !GetAtt T.Arn
          STAGE: !Ref Stage
          BOOL: true
          JOINED: !Join ["-", [a, !Ref Flag]]
  G:
    Type: AWS::Serverless::Function
    Properties: {Handler: m.g, Environment: {Variables: {STAGE: other}}}
"""


def test_short_form_tags_load_as_long_form_and_resolve(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(SHORT_FORMS)
    variables = load_template(path)["Resources"]["F"]["Properties"]["Environment"]["Variables"]
    assert variables["LIST_GETATT"] == {"Fn::GetAtt": ["Q", "Arn"]}
    assert variables["NAME"] == {"Fn::GetAtt": ["Q", "QueueName"]}
    assert variables["URL"] == {"Ref": "Q"}
    assert variables["SUB"]["Fn::Sub"][1] == {"X": {"Ref": "B"}}

    ctx = StackContext(stack_name="s", endpoint_url="http://h:1", parameters={"Flag": "on"})
    spec = read_stack(path, ctx)
    assert spec.functions["F"].environment == {
        "LIST_GETATT": "arn:aws:sqs:us-east-1:123456789012:s-Q",
        "NAME": "s-Q",
        "SUB": "s-b/${Literal}/aws.amazonaws.com",
        "URL": "http://h:1/123456789012/s-Q",
        "BUCKET_ARN": "arn:aws:s3:::s-b",
        "TABLE_ARN": "arn:aws:dynamodb:us-east-1:123456789012:table/s-t-dev",
        "STAGE": "dev",
        "BOOL": "true",
        "JOINED": "a-on",
    }
    assert (spec.functions["F"].timeout, spec.functions["F"].memory) == (3, 128)  # SAM's
    # One process, one os.environ: functions disagreeing on a variable is an error...
    with pytest.raises(ValueError, match="STAGE is 'dev' in F but 'other' in G"):
        handler_environment(spec)
    # ...unless an override settles it.
    assert handler_environment(spec, {"STAGE": "x"})["STAGE"] == "x"


CONDITIONAL = """
Parameters:
  Engine: {Type: String, Default: a}
Conditions:
  IsB: !Equals [!Ref Engine, b]
  NotB: !Not [!Condition IsB]
  Both: !And [!Condition IsB, !Or [!Condition IsB, !Condition NotB]]
Resources:
  OnlyB:
    Type: AWS::IAM::Role
    Condition: Both
    Properties: {}
  OnlyBQueue:
    Type: AWS::SQS::Queue
    Condition: IsB
  F:
    Type: AWS::Serverless::Function
    Properties:
      Handler: m.f
      Environment:
        Variables:
          ROLE: !If [IsB, !GetAtt OnlyB.Arn, ""]
          NOT_B: !If [NotB, "yes", "no"]
"""


@pytest.mark.parametrize(
    ("engine", "queues", "role", "not_b"),
    [("a", [], "", "yes"), ("b", ["OnlyBQueue"], "arn:aws:iam::123456789012:role/s-OnlyB", "no")],
)
def test_conditions_decide_resources_and_fn_if(
    tmp_path: Path, engine: str, queues: list[str], role: str, not_b: str
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(CONDITIONAL)
    spec = read_stack(path, StackContext(stack_name="s", parameters={"Engine": engine}))
    assert sorted(spec.queues) == queues  # a resource whose Condition is false is not made
    assert spec.functions["F"].environment == {"ROLE": role, "NOT_B": not_b}


DEPLOY_PARAMETERS = {"PlaybackPublicKey": "PEM", "PlaybackKeySecretName": "playback-key"}


def test_real_template_resolves_names_and_wiring() -> None:
    ctx = StackContext(endpoint_url="http://h:1", parameters=DEPLOY_PARAMETERS)
    spec = read_stack(REPO / "template.yaml", ctx)
    ingest = spec.queues["IngestQueue"]
    assert ingest.redrive == ("IngestDLQ", 3)
    assert ingest.visibility_timeout == 720
    [notification] = spec.buckets["UploadsBucket"].notifications
    assert (notification.queue_logical_id, notification.prefix) == ("IngestQueue", "uploads/")
    assert spec.buckets["UploadsBucket"].name == "lumiere-local-uploads-123456789012-us-east-1"
    assert spec.buckets["MediaBucket"].name == "lumiere-local-mediabucket"
    assert spec.functions["ApiFunction"].environment["ASSETS_TABLE"] == "lumiere-local-AssetsTable"
    env = spec.functions["IngestFunction"].environment
    assert env["TRANSCODE_QUEUE_URL"] == "http://h:1/123456789012/lumiere-local-TranscodeQueue"
    assert env["MAX_UPLOAD_BYTES"] == "5368709120"  # the parameter's Default
    [event] = spec.functions["IngestFunction"].sqs_events
    assert (event.queue_logical_id, event.batch_size, event.report_batch_item_failures) == (
        "IngestQueue", 5, True,
    )  # fmt: skip
    assert spec.functions["TranscodeFunction"].timeout == 900
    assert set(spec.functions["ApiFunction"].api_events) == {
        ("/uploads", "POST"),
        ("/assets", "GET"),
        ("/assets/{asset_id}", "GET"),
        ("/assets/{asset_id}", "DELETE"),
        ("/img/{asset_id}/{options}", "GET"),
        ("/public/img/{asset_id}/{options}", "GET"),
        ("/assets/{asset_id}", "PATCH"),
        ("/assets/{asset_id}/playback", "GET"),
        ("/assets/{asset_id}/key", "GET"),
        ("/assets/{asset_id}/original", "GET"),
        ("/uploads/multipart", "POST"),
        ("/uploads/url", "POST"),
        ("/uploads/{asset_id}/parts", "POST"),
        ("/uploads/{asset_id}/complete", "POST"),
        ("/uploads/{asset_id}", "DELETE"),
    }
    # every route is behind the Cognito authorizer; the CDN trusts the template's key
    assert spec.api_authorizer == "CognitoAuthorizer"
    assert spec.functions["ApiFunction"].public_api_events == [
        ("/public/img/{asset_id}/{options}", "GET")
    ]
    assert spec.cdn_public_keys == {"lumiere-local-PlaybackKey": "PEM"}
    assert spec.functions["ApiFunction"].environment["PLAYBACK_KEY_PAIR_ID"] == (
        "lumiere-local-PlaybackKey"
    )
    # the public-assets store (a stand-in table locally) and the HLS keys' KMS alias
    [store] = spec.key_value_stores.values()
    assert store.name == "lumiere-local-public-assets"
    assert spec.functions["ApiFunction"].environment["PUBLIC_ASSETS_KVS_ARN"] == (
        "arn:aws:cloudfront::123456789012:key-value-store/lumiere-local-public-assets"
    )
    assert spec.kms_aliases == ["alias/lumiere-local-content-keys"]
    assert spec.functions["TranscodeFunction"].environment["API_URL"] == (
        "https://lumiere-local-ServerlessRestApi.execute-api.us-east-1.amazonaws.com/Prod"
    )


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


# ---------------------------------------------------------------- the real template


@pytest.fixture(scope="module")
def real() -> Iterator[LocalStack]:
    with LocalStack(REPO / "template.yaml", stack_name="lst-real", run_functions=False) as s:
        yield s


def queue_attributes(stack: LocalStack, queue_id: str) -> dict[str, str]:
    url = stack.spec.queues[queue_id].url
    return dict(
        stack.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    )


def test_resources_are_created_and_wired_idempotently(real: LocalStack) -> None:
    create_resources(real.spec, real.boto3_session())  # a second time: nothing changes
    ingest = queue_attributes(real, "IngestQueue")
    assert ingest["VisibilityTimeout"] == "720"
    assert json.loads(ingest["RedrivePolicy"]) == {
        "deadLetterTargetArn": real.spec.queues["IngestDLQ"].arn,
        "maxReceiveCount": 3,
    }
    assert ingest["ApproximateNumberOfMessages"] == "1"  # one s3:TestEvent, not two
    assert queue_attributes(real, "IngestDLQ")["MessageRetentionPeriod"] == "1209600"
    s3 = real.client("s3")
    uploads = real.spec.buckets["UploadsBucket"].name
    [config] = s3.get_bucket_notification_configuration(Bucket=uploads)["QueueConfigurations"]
    assert config["QueueArn"] == real.spec.queues["IngestQueue"].arn
    assert config["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "uploads/"}]
    [cors] = s3.get_bucket_cors(Bucket=uploads)["CORSRules"]
    assert (cors["ExposeHeaders"], cors["MaxAgeSeconds"]) == (["ETag"], 3000)
    table = real.client("dynamodb").describe_table(TableName=real.spec.tables["AssetsTable"].name)
    assert table["Table"]["KeySchema"] == [{"AttributeName": "asset_id", "KeyType": "HASH"}]


def test_upload_puts_an_s3_event_in_the_ingest_queue(real: LocalStack) -> None:
    s3, sqs = real.client("s3"), real.client("sqs")
    s3.put_object(
        Bucket=real.spec.buckets["UploadsBucket"].name, Key="uploads/x/y z.bin", Body=b"1"
    )
    s3.put_object(Bucket=real.spec.buckets["UploadsBucket"].name, Key="elsewhere/a", Body=b"1")
    url = real.spec.queues["IngestQueue"].url
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    bodies = [json.loads(m["Body"]) for m in messages["Messages"]]
    [record] = [r for b in bodies for r in b.get("Records", [])]  # not the key outside uploads/
    assert record["eventName"] == "ObjectCreated:Put"
    # S3 URL-encodes keys with "+" for spaces; moto encodes "/" as well, S3 does not.
    assert record["s3"]["object"]["key"] in ("uploads/x/y+z.bin", "uploads%2Fx%2Fy+z.bin")
    assert unquote_plus(record["s3"]["object"]["key"]) == "uploads/x/y z.bin"


# ---------------------------------------------------------------- runner and API (fixture)


@pytest.fixture(scope="module")
def mini() -> Iterator[LocalStack]:
    with LocalStack(FIXTURE, stack_name="lst-mini", workers_per_function=1) as s:
        yield s


def bodies() -> list[str]:
    return [r["body"] for r in handlers.SEEN]


def object_events() -> list[dict[str, Any]]:
    return [r for r in handlers.SEEN if "Records" in json.loads(r["body"])]


def test_s3_upload_reaches_the_function_as_lambda_would_deliver_it(mini: LocalStack) -> None:
    # Like S3, moto announces a new notification configuration with an s3:TestEvent.
    wait_for(lambda: any("s3:TestEvent" in r["body"] for r in handlers.SEEN))
    mini.client("s3").put_object(Bucket="lst-mini-inbox", Key="in/a b+c.bin", Body=b"123")
    mini.client("s3").put_object(Bucket="lst-mini-inbox", Key="elsewhere/x.bin", Body=b"1")
    wait_for(object_events)
    mini.wait_idle()
    [record] = object_events()  # the key outside the prefix filter is not announced
    assert set(record) == {
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes",
        "md5OfBody", "eventSource", "eventSourceARN", "awsRegion",
    }  # fmt: skip
    assert set(record["attributes"]) == {
        "ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
    }  # fmt: skip
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert (record["eventSource"], record["awsRegion"]) == ("aws:sqs", "us-east-1")
    assert record["eventSourceARN"] == mini.spec.queues["Work"].arn
    s3_record = json.loads(record["body"])["Records"][0]
    assert unquote_plus(s3_record["s3"]["object"]["key"]) == "in/a b+c.bin"
    context = handlers.CONTEXTS[-1]
    assert context.function_name == "lst-mini-Worker"
    assert context.invoked_function_arn.endswith(":function:lst-mini-Worker")
    assert context.log_group_name == "/aws/lambda/lst-mini-Worker"
    assert (context.memory_limit_in_mb, str(uuid.UUID(context.aws_request_id))) == (
        128, context.aws_request_id,
    )  # fmt: skip
    assert 0 < context.get_remaining_time_in_millis() <= 5000


def test_only_reported_failures_are_retried(mini: LocalStack) -> None:
    handlers.SEEN.clear()
    attributes = {
        "s": {"DataType": "String", "StringValue": "v"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    mini.client("sqs").send_message_batch(
        QueueUrl=mini.spec.queues["Work"].url,
        Entries=[
            {"Id": "1", "MessageBody": "ok", "MessageAttributes": attributes},
            {"Id": "2", "MessageBody": "fail-once"},
        ],
    )
    wait_for(lambda: bodies().count("fail-once") == 2)
    mini.wait_idle()
    assert bodies().count("ok") == 1
    [ok] = [r for r in handlers.SEEN if r["body"] == "ok"]
    assert ok["messageAttributes"] == {
        "s": {"stringValue": "v", "stringListValues": [], "binaryListValues": [],
              "dataType": "String"},
        "b": {"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [],
              "dataType": "Binary"},
    }  # fmt: skip


def test_failures_are_not_reported_without_report_batch_item_failures(mini: LocalStack) -> None:
    handlers.SEEN.clear()
    mini.client("sqs").send_message(QueueUrl=mini.spec.queues["Plain"].url, MessageBody="fail-once")
    wait_for(bodies)
    mini.wait_idle()
    assert bodies() == ["fail-once"]
    assert handlers.CONTEXTS[-1].memory_limit_in_mb == 256


@pytest.mark.parametrize(
    ("result", "report", "failed"),
    [
        (None, True, set()),
        ({"batchItemFailures": []}, True, set()),
        ({"batchItemFailures": [{"itemIdentifier": "a"}]}, True, {"a"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, True, {"a", "b"}),
        ({"batchItemFailures": [{"itemIdentifier": "zz"}]}, True, {"a", "b"}),
        ({"batchItemFailures": [{"id": "a"}]}, True, {"a", "b"}),
        ({"batchItemFailures": [{"itemIdentifier": "a"}]}, False, set()),
    ],
)
def test_batch_response_is_read_as_lambda_reads_it(
    result: Any, report: bool, failed: set[str]
) -> None:
    assert failed_message_ids(result, {"a", "b"}, report) == failed


def test_poison_message_lands_in_the_dlq_not_a_loop(mini: LocalStack) -> None:
    handlers.SEEN.clear()
    sqs = mini.client("sqs")
    sqs.send_message(QueueUrl=mini.spec.queues["Work"].url, MessageBody="raise")
    dlq = mini.spec.queues["Dead"].url
    dead: list[dict[str, Any]] = []
    wait_for(lambda: dead.extend(sqs.receive_message(QueueUrl=dlq).get("Messages", [])) or dead)
    mini.wait_idle()
    assert bodies() == ["raise", "raise"]  # maxReceiveCount: 2, then moto moved it
    assert dead[0]["Body"] == "raise"


def test_api_serves_the_chalice_app_with_the_stack_environment(mini: LocalStack) -> None:
    r = requests.get(f"{mini.api_url}/hello/ada", timeout=10)
    assert r.json() == {"hello": "ada", "bucket": "lst-mini-inbox"}
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert requests.get(f"{mini.api_url}/hello/nobody", timeout=10).status_code == 404
    assert requests.get(f"{mini.api_url}/nowhere", timeout=10).status_code == 403  # as APIGW


def test_a_quiet_stack_leaves_the_terminal_to_its_caller(
    mini: LocalStack, capfd: pytest.CaptureFixture[str]
) -> None:
    """What `lumiere demo` runs: no request lines from the API, and the functions told to
    log warnings only and print no metric lines (the noisy stack, for comparison)."""
    capfd.readouterr()
    requests.get(f"{mini.api_url}/hello/ada", timeout=10)
    assert '"GET /hello/ada HTTP/1.1" 200' in capfd.readouterr().err
    with LocalStack(FIXTURE, stack_name="lst-quiet", workers_per_function=1, quiet=True) as q:
        assert requests.get(f"{q.api_url}/hello/ada", timeout=10).status_code == 200
        assert "GET /hello/ada" not in capfd.readouterr().err
        env = q.environment()
        assert env["POWERTOOLS_METRICS_DISABLED"] == "true"
        assert env["POWERTOOLS_LOG_LEVEL"] == "WARNING"
    assert "POWERTOOLS_METRICS_DISABLED" not in mini.environment()


def test_picked_ports_are_held_until_the_servers_bind_them() -> None:
    # A port picked and released is back in the ephemeral range, where the boto clients'
    # connections to moto could take it before the API server binds (CI saw EADDRINUSE).
    stack = LocalStack(FIXTURE, stack_name="lst-ports", run_functions=False, web_port=None)
    try:
        ports = [stack.moto_port, stack.api_port, stack.cdn_port]
        assert len(set(ports)) == 3
        for port in ports:
            with socket.socket() as s, pytest.raises(OSError, match="in use"):
                s.bind((stack.host, port))
        # Connections made meanwhile (as create_resources makes them) never land on them.
        with socket.create_server((stack.host, 0), backlog=1024) as listener:
            clients = [socket.create_connection(listener.getsockname()) for _ in range(500)]
            try:
                assert not {c.getsockname()[1] for c in clients} & set(ports)
            finally:
                for c in clients:
                    c.close()
        stack.start()
        assert requests.get(f"{stack.api_url}/hello/ada", timeout=10).status_code == 200
    finally:
        stack.stop()
    for port in ports:  # released on stop
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((stack.host, port))


def test_environment_is_set_while_running_and_restored_after(mini: LocalStack) -> None:
    assert os.environ["FIXTURE_BUCKET"] == "lst-mini-inbox"
    assert os.environ["AWS_ENDPOINT_URL"] == mini.endpoint_url
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    before = set(threading.enumerate())
    with LocalStack(FIXTURE, stack_name="lst-other", overrides={"EXTRA": "1"}):
        assert (os.environ["FIXTURE_BUCKET"], os.environ["EXTRA"]) == ("lst-other-inbox", "1")
        started = set(threading.enumerate()) - before
    assert {t.name for t in started} >= {"Worker-0", "Worker-1", "PlainWorker-0"}
    assert not [t for t in started if t.is_alive()]  # stop() joined them all
    assert os.environ["FIXTURE_BUCKET"] == "lst-mini-inbox"
    assert "EXTRA" not in os.environ


# ---------------------------------------------------------------- CDN


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/assets/a/hls/master.m3u8", "assets/a/hls/master.m3u8"),
        ("/assets/a/b%20c.jpg?x=1", "assets/a/b c.jpg"),
        ("/assets/../uploads/a/secret.mp4", None),
        ("/assets/%2e%2e/uploads/a/secret.mp4", None),
        ("/uploads/a/secret.mp4", None),
        ("/assets/a/", None),
        ("/assets/a/x%00.jpg", None),
    ],
)
def test_cdn_serves_only_asset_keys(path: str, key: str | None) -> None:
    assert object_key(path) == key


class TestCdn:
    @pytest.fixture(scope="class")
    @classmethod
    def media(cls, real: LocalStack) -> str:
        assert real.media_bucket is not None
        assert real.environment()["MEDIA_BASE_URL"] == real.media_url
        s3 = real.client("s3")
        bucket = real.media_bucket.name
        s3.put_object(
            Bucket=bucket,
            Key="assets/x/seg.m4s",
            Body=bytes(range(256)) * 4,
            ContentType="video/iso.segment",
            CacheControl="public, max-age=31536000, immutable",
        )
        s3.put_object(Bucket=bucket, Key="private/x", Body=b"secret")
        return real.media_url

    @pytest.fixture(scope="class")
    @classmethod
    def signed(cls, real: LocalStack) -> str:
        """A query signed for everything the CDN may serve."""
        return real.playback_signer().access("", int(time.time()) + 300).query

    def test_unsigned_is_403(self, media: str) -> None:
        assert requests.get(f"{media}/assets/x/seg.m4s", timeout=10).status_code == 403

    def test_full_and_ranged_reads(self, media: str, signed: str) -> None:
        full = requests.get(f"{media}/assets/x/seg.m4s?{signed}", timeout=10)
        assert full.status_code == 200
        assert full.headers["Content-Type"] == "video/iso.segment"
        assert full.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert full.headers["Access-Control-Allow-Origin"] == "*"
        assert full.content == bytes(range(256)) * 4
        part = requests.get(
            f"{media}/assets/x/seg.m4s?{signed}", headers={"Range": "bytes=10-19"}, timeout=10
        )
        assert part.status_code == 206
        assert part.headers["Content-Range"] == "bytes 10-19/1024"
        assert part.content == bytes(range(10, 20))
        head = requests.head(f"{media}/assets/x/seg.m4s?{signed}", timeout=10)
        assert (head.status_code, head.headers["Content-Length"]) == (200, "1024")

    def test_preflight(self, media: str) -> None:
        r = requests.options(f"{media}/assets/x/seg.m4s", timeout=10)
        assert r.status_code == 204
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert "Range" in r.headers["Access-Control-Allow-Headers"]

    @pytest.mark.parametrize(
        "path",
        ["/assets/x/nope.m4s", "/private/x", "/assets/../private/x", "/assets/%2E%2E/private/x"],
    )
    def test_missing_and_outside_are_404(self, media: str, signed: str, path: str) -> None:
        # http.client sends the path as written; requests would resolve the ".." itself.
        connection = http.client.HTTPConnection(urlsplit(media).netloc, timeout=10)
        connection.request("GET", f"{path}?{signed}")
        assert connection.getresponse().status == 404
        connection.close()


def test_a_port_left_in_time_wait_is_free_but_a_listening_one_is_taken() -> None:
    """A stack that just stopped leaves its connections in TIME_WAIT on its fixed ports;
    the next one must start (a second `make demo` at once failed here), while a port a
    server still listens on is refused with a sentence."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    with pytest.raises(OSError, match=f"127.0.0.1:{port} is taken"):
        _check_free("127.0.0.1", port)
    client = socket.create_connection(("127.0.0.1", port))
    served, _ = listener.accept()
    served.close()  # the server closes first: its end waits in TIME_WAIT on the port
    client.close()
    listener.close()
    _check_free("127.0.0.1", port)
