"""Imports from a URL: ImportFunction's peak memory and speed fetching files of growing
size from a web server on loopback into the uploads bucket (moto), each import one
handler invocation in a child process, measured as bench/budgets.py measures a function.

Streaming in parts should hold memory flat whatever the file's size, so the table gives
each size's peak against the smallest size's, from the same run. Printed and written as
Markdown to ``bench/results/imports-<label>.md`` with the machine.

Run from the repository root::

    .venv/bin/python bench/imports.py [--sizes-mb 64,256,1024] [--label 2core]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import socket
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lumiere.media.tools import find_binaries

from bench.budgets import Run, _event, _receive, invoke
from bench.transcode import CACHE_DIR, REPO, RESULTS_DIR, machine_description

MIB = 1024 * 1024


def render(label: str, date: str, rows: list[tuple[int, Run]], memory: int, machine: list) -> str:
    base = rows[0][1].peak_tree_mb
    lines = [
        f"# Imports from a URL ({label})",
        "",
        f"{date}. ImportFunction (MemorySize {memory} MB) fetching a file from a web "
        "server on 127.0.0.1 into the uploads bucket (moto's server, in the parent "
        "process), one child process per import. Peak RSS is the handler process's, "
        "polled every 20 ms (it starts no children).",
        "",
        "| file | peak RSS | vs the smallest | duration | throughput | CPU |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, r in rows:
        lines.append(
            f"| {size / MIB:,.0f} MiB | {r.peak_tree_mb:.0f} MB | {r.peak_tree_mb / base:.2f}x "
            f"| {r.duration:.1f} s | {size / MIB / r.duration:.0f} MiB/s | {r.cpu:.1f} s |"
        )
    lines += ["", "## Machine", "", *(f"- {k}: {v}" for k, v in machine), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes-mb", default="64,256,1024", help="file sizes, MiB, smallest first")
    p.add_argument("--label", default=socket.gethostname(), help="names the results file")
    args = p.parse_args(argv)
    sizes = [int(s) * MIB for s in args.sizes_mb.split(",")]

    from lumiere_dev.cli import template_path
    from lumiere_dev.file_server import serve_directory
    from lumiere_dev.stack import LocalStack

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="imports-", dir=CACHE_DIR))
    date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    rows: list[tuple[int, Run]] = []
    try:
        for size in sizes:  # sparse: no disk, and the server reads zeros fast
            with (work / f"file-{size // MIB}.bin").open("wb") as fh:
                fh.truncate(size)
        with (
            serve_directory(work) as origin,
            LocalStack(
                template_path(),
                run_functions=False,
                stack_name=f"imports-{uuid.uuid4().hex[:8]}",
                overrides={
                    "IMPORT_ALLOWED_NETWORKS": "127.0.0.1/32",
                    "MAX_UPLOAD_BYTES": str(max(sizes)),
                },
            ) as stack,
        ):
            client = stack.api_client()
            s3, bucket = stack.client("s3"), stack.spec.buckets["UploadsBucket"].name
            for size in sizes:
                name = f"file-{size // MIB}.bin"
                asset_id = client.import_url(f"{origin}/{name}")["asset_id"]
                event = _event(stack, "ImportFunction", _receive(stack, "ImportQueue"))
                run = invoke(stack, "ImportFunction", f"{size // MIB} MiB", event)
                stored = s3.head_object(Bucket=bucket, Key=f"uploads/{asset_id}/{name}")
                if not run.ok or stored["ContentLength"] != size:
                    raise RuntimeError(f"import of {name} failed: {run.note or stored}")
                print(
                    f"{size / MIB:>6,.0f} MiB  peak {run.peak_tree_mb:5.0f} MB  "
                    f"{run.duration:5.1f} s",
                    flush=True,
                )
                rows.append((size, run))
                # moto keeps every object; free it before the next, larger one
                s3.delete_object(Bucket=bucket, Key=f"uploads/{asset_id}/{name}")
            memory = stack.spec.functions["ImportFunction"].memory
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = render(args.label, date, rows, memory, machine_description(str(find_binaries().ffmpeg)))
    print("\n" + text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"imports-{args.label}.md"
    out.write_text(text)
    print(f"Written to {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
