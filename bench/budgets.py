"""Lambda budgets: each function's real work on the benchmark clips, run in a process of
its own, with its peak memory (the handler process plus its ffmpeg children) and its
duration, against the MemorySize and Timeout template.yaml gives it. Printed as one
table and written as Markdown to ``bench/results/budgets-<label>.md`` with the machine.

The local stack (moto, the API, the CDN) runs in this process with no event-source
mappings; each handler invocation is a child process that gets the stack's handler
environment and one event, the way Lambda would deliver it, so its memory is its own.

Run from the repository root::

    .venv/bin/python bench/budgets.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Run as a script (bench/budgets.py): make ``bench.transcode`` importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lumiere.config import Settings
from lumiere.media.tools import find_binaries

from bench.transcode import (
    CACHE_DIR,
    REPO,
    RESULTS_DIR,
    generated_clip,
    machine_description,
    run_checked,
)

POLL_SECONDS = 0.02
UHD = (3840, 2160)
PAGE = os.sysconf("SC_PAGE_SIZE")
SENTENCES = (
    "The quick brown fox jumps over the lazy dog. "
    "Please call Stella and ask her to bring these things with her from the store. "
    "Six spoons of fresh snow peas, five thick slabs of blue cheese, and maybe a snack "
    "for her brother Bob."
)


# --- the child: one handler invocation ---------------------------------------------------


def child_main(function_id: str) -> int:
    """Read {"handler", "event", "memory", "timeout", "region", "account"} on stdin; invoke;
    print the outcome and this process's rusage as JSON on the last line of stdout."""
    job = json.loads(sys.stdin.read())
    t0 = time.perf_counter()
    if job.get("api_path"):
        response = _call_api(job["handler"], job["api_path"], job["api_claims"])
    else:
        from lumiere_dev.runner import LocalLambdaContext, import_handler

        context = LocalLambdaContext(
            function_name=function_id,
            memory_limit_in_mb=job["memory"],
            timeout_seconds=job["timeout"],
            region=job["region"],
            account_id=job["account"],
        )
        response = import_handler(job["handler"])(job["event"], context)
    duration = time.perf_counter() - t0
    cpu = sum(
        u.ru_utime + u.ru_stime
        for u in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )
    result = {"response": response, "duration": duration, "cpu": cpu, "hwm": _vm_hwm()}
    print(json.dumps(result, default=str))
    return 0


def _vm_hwm() -> int:
    """This process's own peak resident bytes (VmHWM). Not getrusage's ru_maxrss: Linux
    carries that across fork and exec, so a child started from a large parent reports the
    parent's size at the fork (the same inflates RUSAGE_CHILDREN for ffmpeg)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _call_api(handler: str, path: str, claims: dict[str, str]) -> dict[str, Any]:
    """The Chalice app in-process (chalice's own test client builds the API Gateway
    event), so what runs is the function's code, not a server around it. The owner's
    claims (verified by the parent's user pool) go where API Gateway's Cognito
    authorizer puts them."""
    from chalice.local import LocalGatewayAuthorizer
    from chalice.test import Client
    from lumiere_dev.runner import import_handler

    class GatewayClaims(LocalGatewayAuthorizer):
        def authorize(self, raw_path: str, event: Any, context: Any) -> tuple[Any, Any]:
            event["requestContext"]["authorizer"] = {"claims": claims}
            return event, context

    app = import_handler(handler)
    with Client(app) as client:
        client.http._local_gateway._authorizer = GatewayClaims(app)
        response = client.http.get(path, headers={"Accept": "image/webp,image/*"})
    return {
        "status": response.status_code,
        "cache": response.headers.get("X-Lumiere-Cache", ""),
        "location": response.headers.get("Location", "")[:80],
    }


# --- the parent: measuring a child --------------------------------------------------------


def _tree_rss(root: int) -> tuple[int, int]:
    """Resident bytes of ``root`` and of all its descendants together (the sum of both is
    what Lambda's "Max Memory Used" counts: the whole sandbox)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == pid and p not in tree]
        tree.update(kids)
        frontier.extend(kids)
    own = kids = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/statm") as fh:
                rss = int(fh.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        if pid == root:
            own = rss
        else:
            kids += rss
    return own, kids


@dataclass(frozen=True)
class Run:
    label: str
    function: str
    peak_tree_mb: float  # polled: handler + children at once
    self_mb: float  # the handler process's own peak (VmHWM)
    child_mb: float  # polled: peak of its children together
    duration: float  # the handler call, in the child
    cpu: float  # user + system of the child and its children (imports included)
    ok: bool
    note: str


def invoke(
    stack: Any,
    function_id: str,
    label: str,
    event: dict[str, Any] | None,
    api_path: str = "",
    api_claims: dict[str, str] | None = None,
) -> Run:
    fn = stack.spec.functions[function_id]
    job = {
        "handler": fn.handler,
        "event": event,
        "memory": fn.memory,
        "timeout": fn.timeout,
        "region": stack.spec.context.region,
        "account": stack.spec.context.account_id,
        "api_path": api_path,
        "api_claims": api_claims or {},
    }
    env = {**os.environ, **stack.environment(), "POWERTOOLS_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", function_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    peak = peak_kids = 0
    done = threading.Event()

    def poll() -> None:
        nonlocal peak, peak_kids
        while not done.is_set():
            own, kids = _tree_rss(proc.pid)
            peak, peak_kids = max(peak, own + kids), max(peak_kids, kids)
            time.sleep(POLL_SECONDS)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    out, err = proc.communicate(json.dumps(job).encode())
    done.set()
    watcher.join()
    lines = out.decode(errors="replace").strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = err.decode(errors="replace")[-1500:]
        raise RuntimeError(f"{function_id} ({label}) exited {proc.returncode}:\n{tail}")
    result = json.loads(lines[-1])
    response = result["response"]
    ok = _succeeded(response)
    return Run(
        label=label,
        function=function_id,
        peak_tree_mb=peak / 2**20,
        self_mb=result["hwm"] / 2**20,
        child_mb=peak_kids / 2**20,
        duration=result["duration"],
        cpu=result["cpu"],
        ok=ok,
        note="" if ok else f"handler answered {json.dumps(response)[:200]}",
    )


def _succeeded(response: Any) -> bool:
    if isinstance(response, dict) and "batchItemFailures" in response:
        return not response["batchItemFailures"]
    if isinstance(response, dict) and "cache" in response:
        # /img/ renders, stores and redirects: a 302 that missed the cache did the work.
        return int(response["status"]) == 302 and response["cache"] == "miss"
    return True


# --- the work -------------------------------------------------------------------------------


def _receive(stack: Any, queue_id: str, wait: int = 2) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    url = stack.spec.queues[queue_id].url
    got: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0 if got else wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            return got
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        got += batch


def _event(stack: Any, function_id: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    from lumiere_dev.runner import to_lambda_record

    fn = stack.spec.functions[function_id]
    queue = stack.spec.queues[fn.sqs_events[0].queue_id]
    region = stack.spec.context.region
    return {"Records": [to_lambda_record(m, queue, region) for m in messages]}


def _part_name(message: dict[str, Any]) -> str:
    body = json.loads(message["Body"])
    part = body.get("part") or {}
    return str(part.get("name") if isinstance(part, dict) else part or body.get("kind", "?"))


PART_QUEUES = (("TranscodeQueue", "TranscodeFunction"), ("AnalysisQueue", "AnalysisFunction"))


def run_asset(stack: Any, client: Any, path: Path, content_type: str, what: str) -> list[Run]:
    """Upload, then ingest, every transcode part and the analysis part, each measured."""
    runs: list[Run] = []
    asset_id = client.upload_file(path, content_type=content_type, language="en").asset_id
    messages = _receive(stack, "IngestQueue")
    ingest = _event(stack, "IngestFunction", messages)
    runs.append(invoke(stack, "IngestFunction", f"{what}: probe", ingest))
    for queue_id, function_id in PART_QUEUES:
        if queue_id not in stack.spec.queues:
            continue
        for m in _receive(stack, queue_id, wait=1):
            label = f"{what}: {_part_name(m)} part"
            runs.append(invoke(stack, function_id, label, _event(stack, function_id, [m])))
    status = client.get_asset(asset_id).get("status")
    if status != "READY":
        runs.append(Run(f"{what}: asset", "-", 0, 0, 0, 0, 0, False, f"ended {status}"))
    return [*runs, Run(f"{what}: asset id {asset_id}", "-", 0, 0, 0, 0, 0, True, "")]


def talking_head(ffmpeg: str, work: Path) -> Path:
    """A face and speech, like the analysis tests: the astronaut photograph at 1080p for
    the length of espeak-ng reading SENTENCES (three times, ~30 s)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("espeak-ng is needed for the speech clip (apt-get install espeak-ng)")
    from PIL import Image
    from skimage import data as skimage_data

    still = work / "astronaut.png"
    Image.fromarray(skimage_data.astronaut()).save(still)
    speech = work / "speech.wav"
    subprocess.run([espeak, "-w", str(speech), " ".join([SENTENCES] * 3)], check=True, timeout=60)
    out = work / "talking.mp4"
    run_checked(
        [
            ffmpeg, "-v", "error", "-y", "-loop", "1", "-framerate", "30", "-i", str(still),
            "-i", str(speech), "-vf", "scale=1080:1080,format=yuv420p",
            "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", "-b:a", "128k",
            "-shortest", str(out),
        ]
    )  # fmt: skip
    return out


def photo_12mp(work: Path) -> Path:
    from bench.images import photo

    path = work / "photo-12mp.jpg"
    photo(4000, 3000, seed=1).save(path, quality=90)
    return path


def owner_claims(stack: Any) -> dict[str, str]:
    """The uploader's (stack.api_client()'s) ID-token claims, as the authorizer passes them."""
    from lumiere_dev.auth import gateway_claims

    return gateway_claims(stack.user_pool.verify(stack.token("developer")))


def api_image_path(stack: Any, asset_id: str, options: str = "w_1200,h_800,fit_cover") -> str:
    from lumiere.api.image_links import sign_path, transform_path
    from lumiere.media.transform_spec import parse_transform

    secret = stack.environment().get("IMAGE_SIGNING_SECRET", "")
    if not secret:
        raise SystemExit("the local stack has no IMAGE_SIGNING_SECRET: /img/ is off")
    path = transform_path(asset_id, parse_transform(options))
    return f"{path}?s={sign_path(secret, path)}"


def _progress_line(r: Run) -> str:
    line = f"  {r.function:18} {r.label:45} {r.peak_tree_mb:6.0f} MB {r.duration:7.1f} s"
    return line if r.ok else f"{line} {r.note}"


# --- report --------------------------------------------------------------------------------


NOTES = {
    "IngestFunction": "ffprobe over a presigned GET; independent of the video's length",
    "TranscodeFunction": "grows with the part's length; plan.py's TaskBudget (720 s of "
    "work at 110e6 px/s) sizes video parts to fit 900 s",
    "AnalysisFunction": "grows with the length (frames sampled every 2 s, speech decoded)",
    "ApiFunction": "API Gateway's integration limit is 29 s",
}


def _note(r: Run) -> str:
    if "GIF from" in r.label:
        return "at most 10 s of the smallest rung that fills the box, whatever the length"
    if "frame at" in r.label:
        return "one segment decoded, whatever the video's length"
    if "JPEG" in r.label and r.function != "IngestFunction":
        return "one picture: no length to grow with; the 12 MP image is decoded in memory"
    return NOTES.get(r.function, "")


def render(
    label: str,
    date: str,
    runs: list[Run],
    configured: dict[str, tuple[int, int]],
    machine: list[tuple[str, str]],
    clip_note: str,
) -> str:
    header = ["Function", "Work", "Peak RSS MB (tree)", "Handler / children MB"]
    header += ["Configured MB", "Headroom", "Duration s", "CPU s", "Timeout s", "Note"]
    rows = []
    for r in runs:
        if r.function == "-":
            continue
        mb, timeout = configured[r.function]
        rows.append(
            [
                r.function,
                r.label,
                f"{r.peak_tree_mb:.0f}",
                f"{r.self_mb:.0f} / {r.child_mb:.0f}",
                str(mb),
                f"{mb / max(1.0, r.peak_tree_mb):.1f}x",
                f"{r.duration:.1f}",
                f"{r.cpu:.1f}",
                str(timeout),
                r.note or _note(r),
            ]
        )
    lines = [
        f"# Lambda budgets: {label}",
        "",
        f"Run {date}. {clip_note}",
        "",
        "Peak RSS (tree): the handler process and all its descendants (ffmpeg, ffprobe), "
        f"summed and polled every {POLL_SECONDS * 1000:.0f} ms: what Lambda's \"Max Memory "
        "Used\" counts. Handler / children: the handler process's own peak (VmHWM) and "
        "the polled peak of its children together; not `ru_maxrss`, which Linux carries "
        "across fork and exec, so a child reports its parent's size at the fork. "
        "Duration: importing the handler and calling it (a cold invocation), on this "
        "machine's 2 shared cores (a Lambda at "
        "3008 MB has 1.70 vCPUs); CPU: user + system of the handler process and its "
        "children, imports included, which the machine's load does not inflate. "
        "Headroom: configured / peak.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *["| " + " | ".join(row) + " |" for row in rows],
        "",
        "## Machine",
        "",
        "|  |  |",
        "|---|---|",
        *[f"| {k} | {f'`{v}`' if k == 'ffmpeg' else v} |" for k, v in machine],
        "",
    ]
    return "\n".join(lines)


def configured_limits(stack: Any) -> dict[str, tuple[int, int]]:
    return {name: (fn.memory, fn.timeout) for name, fn in stack.spec.functions.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--label", default=socket.gethostname(), help="names the results file")
    p.add_argument("--duration", type=float, default=30.0, help="1080p clip length, s")
    p.add_argument(
        "--uhd-duration", type=float, default=10.0, help="2160p clip length, s (0: none)"
    )
    args = p.parse_args(argv)
    if args.child:
        return child_main(args.child)

    from lumiere_dev.cli import template_path
    from lumiere_dev.stack import LocalStack

    ffmpeg = str(find_binaries().ffmpeg)
    clip = generated_clip(ffmpeg, args.duration, "grain")
    uhd = generated_clip(ffmpeg, args.uhd_duration, "grain", UHD) if args.uhd_duration else None
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="budgets-", dir=CACHE_DIR))
    date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    runs: list[Run] = []
    try:
        speech = talking_head(ffmpeg, work)
        photo = photo_12mp(work)
        with LocalStack(
            template_path(),
            run_functions=False,
            stack_name=f"budgets-{uuid.uuid4().hex[:8]}",
            parameters={"AnalysisBackend": "offline"},
            overrides={"LUMIERE_WORK_DIR": str(work / "lambda")},
        ) as stack:
            client = stack.api_client()
            configured = configured_limits(stack)
            assets = [
                (clip.path, "video/mp4", f"{args.duration:g} s 1080p30 clip"),
                (speech, "video/mp4", "speech clip"),
                (photo, "image/jpeg", "12 MP JPEG"),
            ]
            if uhd is not None:  # the largest rungs: 2160p and 1440p exist only here
                assets.insert(1, (uhd.path, "video/mp4", f"{args.uhd_duration:g} s 2160p30 clip"))
            ids: dict[str, str] = {}
            for path, ctype, what in assets:
                print(f"{what} ...", flush=True)
                got = run_asset(stack, client, path, ctype, what)
                for r in got:
                    if r.function != "-":
                        print(_progress_line(r), flush=True)
                runs += got
                ids[what] = got[-1].label.rsplit(" ", 1)[1]
            # A still's smart crop, and a video's frame at a time: the heaviest is the
            # top rung at full size, late in its segment (every frame before it decoded).
            renders = [("12 MP JPEG", "w_1200,h_800,fit_cover", "1200x800 cover of the")]
            renders.append((f"{args.duration:g} s 1080p30 clip", "w_1280,h_720,t_15.9",
                            "1280x720 frame at 15.9 s of the"))  # fmt: skip
            # the largest animation allowed: 10 s at 30 fps, 640 px, as GIF (the palette
            # pass holds every frame)
            renders.append((f"{args.duration:g} s 1080p30 clip", "w_640,t_10,d_10,fps_30,f_gif",
                            "640 px 10 s 30 fps GIF from 10 s of the"))  # fmt: skip
            if uhd is not None:
                renders.append((f"{args.uhd_duration:g} s 2160p30 clip", "w_3840,t_7.9",
                                "3840 px frame at 7.9 s of the"))  # fmt: skip
            for what, options, work_done in renders:
                print(f"ApiFunction /img {options} ...", flush=True)
                runs.append(
                    invoke(
                        stack,
                        "ApiFunction",
                        f"/img/ {work_done} {what}",
                        None,
                        api_path=api_image_path(stack, ids[what], options),
                        api_claims=owner_claims(stack),  # /img/ renders only its owner's
                    )
                )
                print(_progress_line(runs[-1]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    machine = machine_description(ffmpeg)
    note = (
        f"Inputs: the bench/transcode.py `grain` clip ({clip.path.name}, 1920x1080 30 fps, "
        f"{args.duration:g} s, stereo), "
        + (
            f"the same recipe at 3840x2160 ({uhd.path.name}, {args.uhd_duration:g} s), "
            if uhd is not None
            else ""
        )
        + "a speech clip (the astronaut photograph at "
        "1080x1080 30 fps with ~30 s of espeak-ng speech, as in the analysis tests), and a "
        "12 MP (4000x3000) JPEG from bench/images.py. Analysis backend: offline (OpenCV, "
        f"speech engine {Settings.from_env().speech_engine}). Load average before the run: "
        f"{load_before}; after: see Machine."
    )
    text = render(args.label, date, runs, configured, machine, note)
    print("\n" + text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"budgets-{args.label}.md"
    out.write_text(text)
    print(f"Written to {out.relative_to(REPO)}")
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
