"""The Lambda package size check (lumiere_dev.lambda_sizes): what it measures and when it
fails, on a made-up build; the real `sam build` is the slow test in test_template.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lumiere_dev import lambda_sizes
from lumiere_dev.lambda_sizes import LIMIT_BYTES, image_functions, measure
from lumiere_dev.template import load_template

TEMPLATE = """
Globals:
  Function:
    Runtime: python3.11
    CodeUri: functions/
    Layers:
      - !Ref Shared
Resources:
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/shared/}
  Tools:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/tools/}
  Small:
    Type: AWS::Serverless::Function
    Properties: {Handler: a.b}
  WithTools:
    Type: AWS::Serverless::Function
    Properties:
      Handler: a.b
      Layers: [!Ref Tools]
  Analysis:
    Type: AWS::Serverless::Function
    Properties: {PackageType: Image}
  Foreign:
    Type: AWS::Serverless::Function
    Properties:
      Handler: a.b
      Layers: [arn:aws:lambda:us-east-1:123456789012:layer:x:1]
  Table:
    Type: AWS::DynamoDB::Table
"""


def sparse(path: Path, size: int) -> None:
    """A file of ``size`` bytes that takes no disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.truncate(size)


@pytest.fixture
def build(tmp_path: Path) -> tuple[Path, Path]:
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    build = tmp_path / "build"
    sparse(build / "Shared/python/lib.so", 10 * 1024 * 1024)
    sparse(build / "Tools/bin/tool", 150 * 1024 * 1024)
    for fn in ("Small", "WithTools", "Foreign"):
        sparse(build / fn / "pkg/code.py", 91 * 1024 * 1024)
    # A link is stored as a link in the zip: it must not count its target again.
    os.symlink(build / "Tools/bin/tool", build / "WithTools/pkg/tool-link")
    return template, build


def test_images_are_excluded_by_package_type_not_by_name(build: tuple[Path, Path]) -> None:
    template, _ = build
    assert image_functions(load_template(template)) == ["Analysis"]


def test_code_plus_every_layer_is_held_to_250_mb(build: tuple[Path, Path]) -> None:
    template, build_dir = build
    rows = {r.function: r for r in measure(load_template(template), build_dir)}
    assert set(rows) == {"Small", "WithTools", "Analysis", "Foreign"}
    small = rows["Small"]
    # Globals' layer counts for every function.
    assert (small.code_bytes, small.layers_bytes, small.status) == (
        91 * 2**20,
        10 * 2**20,
        "OK",
    )
    with_tools = rows["WithTools"]
    assert with_tools.layers_bytes == 160 * 2**20  # Globals' and its own
    # The link counts as the path it stores, not as the 150 MB it points to.
    link = len(os.readlink(build_dir / "WithTools/pkg/tool-link"))
    assert with_tools.code_bytes == 91 * 2**20 + link
    assert with_tools.total_bytes == 251 * 2**20 + link > LIMIT_BYTES
    assert with_tools.status == "FAIL"
    assert rows["Analysis"].status == "IMAGE"
    assert "10 GB" in rows["Analysis"].note
    assert rows["Foreign"].status == "UNKNOWN"  # a layer from outside cannot be measured


def test_the_command_prints_the_table_and_fails_on_any_fail(
    build: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    template, build_dir = build
    code = lambda_sizes.main(
        ["--no-build", "--template", str(template), "--build-dir", str(build_dir)]
    )
    out, err = capsys.readouterr()
    assert code == 1
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert lines["WithTools"].split()[1:6] == ["91.0", "160.0", "251.0", "250.0", "FAIL"]
    assert "container image, 10 GB limit, not built here" in lines["Analysis"]
    assert "WithTools" in err
    assert "Foreign" in err
    # Within the limit, it passes.
    (build_dir / "Tools/bin/tool").unlink()
    sparse(build_dir / "Tools/bin/tool", 140 * 1024 * 1024)
    (build_dir / "Foreign").rename(build_dir / "Gone")
    template.write_text(TEMPLATE.split("  Foreign:")[0])
    assert (
        lambda_sizes.main(
            ["--no-build", "--template", str(template), "--build-dir", str(build_dir)]
        )
        == 0
    )
