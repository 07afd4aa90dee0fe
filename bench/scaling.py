"""Scaling model: what one chunk of a 1080p30 film costs on this machine (per rung, at 1
and 2 vCPUs), what an ffmpeg start, an S3 transfer and the fan-in cost, and from those
the predicted time-to-READY of a 2-hour film with N concurrent Lambdas, against one
function doing the whole film. Printed as one table and written as Markdown to
``bench/results/scaling-<label>.md`` with the machine.

``--local-speedup`` instead runs a generated 10-minute source through the local stack
with 1 and then 2 workers per function on the chunked path (CHUNK_THRESHOLD_SECONDS,
CHUNK_SECONDS) and prints both wall times and their ratio.

Run from the repository root::

    .venv/bin/python bench/scaling.py
    .venv/bin/python bench/scaling.py --local-speedup
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

# Run as a script (bench/scaling.py): make ``bench.transcode`` importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lumiere.media.audio import plan_audio_tracks
from lumiere.media.commands import (
    VARIANT_PLAYLIST,
    build_audio_track_args,
    build_video_group_args,
    upload_audio,
    video_dirname,
)
from lumiere.media.dash import build_mpd
from lumiere.media.hls import build_master_playlist
from lumiere.media.ladder import Rendition
from lumiere.media.packaging import PackagedTrack, package_track
from lumiere.media.probe import build_ffprobe_args, parse_probe
from lumiere.media.tools import find_binaries, run_tool
from lumiere.pipeline.plan import group_rungs

from bench.transcode import (
    CACHE_DIR,
    CLIP_AUDIO,
    CLIP_RECIPES,
    REPO,
    RESULTS_DIR,
    Clip,
    Cost,
    Plan,
    generated_clip,
    machine_description,
    make_plan,
    run_checked,
    scan_loudness,
    serve_file,
)

# --- Lambda facts: inputs of the model, not measured here -----------------------------

MB_PER_VCPU = 1769
MAX_VCPUS = 6
MAX_MEMORY_MB = 10240
LAMBDA_TIMEOUT = 900.0
ACCOUNT_CONCURRENCY = 1000
LAMBDA_FACTS = [
    (
        "CPU share proportional to memory; 1,769 MB = 1 vCPU",
        "AWS Lambda Developer Guide, 'Configure Lambda function memory' "
        '(docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html): "Lambda '
        "allocates CPU power in proportion to the amount of memory configured ... At "
        "1,769 MB, a function has the equivalent of one vCPU (one vCPU-second of credits "
        'per second)."',
    ),
    (
        "Memory 128 to 10,240 MB; up to 6 vCPUs at 10,240 MB",
        'same page ("between 128 MB and 10,240 MB"); AWS News Blog, \'New for AWS Lambda - '
        "Functions with Up to 10 GB of Memory and 6 vCPUs' (Dec 2020)",
    ),
    (
        "Timeout at most 900 s (15 min)",
        "AWS Lambda Developer Guide, 'Lambda quotas'",
    ),
    (
        f"Default concurrency {ACCOUNT_CONCURRENCY:,} per Region, shared by every function "
        "of the account",
        "AWS Lambda Developer Guide, 'Lambda quotas' (\"Concurrent executions: 1,000\"); "
        "AWS Lambda Operator Guide, 'Scaling and concurrency' (\"All AWS accounts start "
        'with a default concurrent limit of 1000 per Region")',
    ),
]
# An assumption, not a fact: Python + boto3 + our package, measured by nobody here.
COLD_STARTS = (1.0, 5.0)
FILM_SECONDS = 2 * 3600.0
CONCURRENCY = (1, 10, 100, 1000)
START_RUNS = 7


# --- measuring ------------------------------------------------------------------------


def _children_cpu() -> float:
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def run_on_cpus(argv: list[str], cpus: int) -> Cost:
    """Run a command confined to ``cpus`` logical CPUs (what a Lambda with that many vCPUs
    would give it; ffmpeg and x264 size their thread pools from the affinity mask).
    CPU is the child's rusage, user + system."""
    allowed = sorted(os.sched_getaffinity(0))[:cpus]
    if len(allowed) < cpus:
        raise SystemExit(f"this machine has fewer than {cpus} usable CPUs")
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    done = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
        preexec_fn=lambda: os.sched_setaffinity(0, allowed),
    )
    cost = Cost(wall=time.perf_counter() - wall0, cpu=_children_cpu() - cpu0)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode("utf-8", errors="replace")[-2000:])
    return cost


def _fresh_dirs(root: Path, renditions: Sequence[Rendition]) -> None:
    for r in renditions:
        d = root / video_dirname(r.name)
        for f in d.glob("*") if d.is_dir() else []:
            f.unlink()
        d.mkdir(parents=True, exist_ok=True)


def encode_group(
    ffmpeg: str, plan: Plan, rungs: Sequence[Rendition], out_root: Path, cpus: int
) -> Cost:
    """One video task's encode, with the pipeline's own command builder and options."""
    _fresh_dirs(out_root, rungs)
    argv = build_video_group_args(
        ffmpeg, plan.url, plan.video, list(rungs), out_root, plan.hls, progress=False
    )
    return run_on_cpus(argv, cpus)


@dataclass(frozen=True)
class EncodeCosts:
    sample_seconds: float
    per_rung: dict[int, dict[str, Cost]]  # vCPUs -> rung -> cost
    ladder: dict[int, Cost]  # vCPUs -> every rung from one decode (VIDEO_TASKS=1)
    output_bytes: int  # what the whole ladder wrote for the sample
    output_files: int


def measure_encodes(ffmpeg: str, plan: Plan, work: Path, seconds: float) -> EncodeCosts:
    per_rung: dict[int, dict[str, Cost]] = {1: {}, 2: {}}
    ladder: dict[int, Cost] = {}
    for cpus in (1, 2):
        for r in plan.renditions:
            _step(f"  {r.name} on {cpus} vCPU ...")
            per_rung[cpus][r.name] = encode_group(ffmpeg, plan, [r], work / "rung", cpus)
        _step(f"  whole ladder (one decode) on {cpus} vCPU ...")
        ladder[cpus] = encode_group(ffmpeg, plan, plan.renditions, work / "ladder", cpus)
    files = [f for f in (work / "ladder").rglob("*") if f.is_file()]
    return EncodeCosts(
        sample_seconds=seconds,
        per_rung=per_rung,
        ladder=ladder,
        output_bytes=sum(f.stat().st_size for f in files),
        output_files=len(files),
    )


def audio_source(ffmpeg: str, seconds: float) -> Path:
    """The clip's audio recipe alone, long enough that the fixed cost of the two ffmpeg
    starts does not pass for per-second cost when scaled to a film."""
    path = CACHE_DIR / f"audio-{seconds:g}s.m4a"
    if not path.is_file():
        part = path.with_suffix(".part.m4a")
        run_checked(
            [
                ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
                "-f", "lavfi", "-i", CLIP_AUDIO.format(d=seconds),
                "-c:a", "aac", "-b:a", "192k", "-f", "mp4", str(part),
            ]
        )  # fmt: skip
        part.rename(path)
    return path


def measure_audio(ffmpeg: str, ffprobe: str, plan: Plan, work: Path, seconds: float) -> Cost:
    """The audio part on 1 vCPU (loudness scan plus the AAC encode of every track) over
    ``seconds`` of the clip's audio."""
    source = audio_source(ffmpeg, seconds)
    with serve_file(source) as url:
        info = parse_probe(run_tool(build_ffprobe_args(ffprobe, url), timeout=60))
        return _audio_part(ffmpeg, replace(plan, url=url, tracks=plan_audio_tracks(info)), work)


def _audio_part(ffmpeg: str, plan: Plan, work: Path) -> Cost:
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    measured = scan_loudness(ffmpeg, plan)
    for track, loudness in measured:
        out = work / "audio" / track.dirname
        out.mkdir(parents=True, exist_ok=True)
        argv = build_audio_track_args(
            ffmpeg,
            upload_audio(plan.url, track),
            plan.preset.audio,
            loudness,
            out,
            plan.hls,
            progress=False,
        )
        run_on_cpus(argv, 1)
    return Cost(wall=time.perf_counter() - wall0, cpu=_children_cpu() - cpu0)


@dataclass(frozen=True)
class StartCost:
    version: float  # median wall of ``ffmpeg -version``: exec and dynamic loading
    tiny: float  # median wall of a whole video-group command on a 6-frame input
    runs: int


def measure_start(ffmpeg: str, ffprobe: str, work: Path) -> StartCost:
    """ffmpeg's fixed cost per task: process start to its outputs written, on an input
    so small (6 frames of 426x240) that encoding is nothing."""
    tiny = work / "tiny.mp4"
    run_checked(
        [
            ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc2=s=426x240:r=30",
            "-frames:v", "6", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(tiny),
        ]
    )  # fmt: skip
    with serve_file(tiny) as url:
        plan = make_plan(ffprobe, url, 4.0)
        rungs = plan.renditions[-1:]
        version, whole = [], []
        for _ in range(START_RUNS):
            t0 = time.perf_counter()
            run_checked([ffmpeg, "-version"])
            version.append(time.perf_counter() - t0)
            whole.append(encode_group(ffmpeg, plan, rungs, work / "tiny-out", 2).wall)
    return StartCost(statistics.median(version), statistics.median(whole), START_RUNS)


@dataclass(frozen=True)
class Transfer:
    files: int
    bytes: int
    upload: float  # seconds
    download: float

    @property
    def upload_mbps(self) -> float:
        return self.bytes * 8 / self.upload / 1e6

    @property
    def download_mbps(self) -> float:
        return self.bytes * 8 / self.download / 1e6


def measure_transfer(ladder_dir: Path, work: Path) -> Transfer:
    """A chunk's outputs to S3 and back with the pipeline's own storage functions,
    against moto on loopback."""
    from lumiere.cloud.storage import download_prefix, publish_directory
    from lumiere_dev.cli import template_path
    from lumiere_dev.stack import LocalStack

    files = [f for f in ladder_dir.rglob("*") if f.is_file()]
    size = sum(f.stat().st_size for f in files)
    with LocalStack(
        template_path(), run_functions=False, stack_name=f"scaling-{uuid.uuid4().hex[:8]}"
    ) as stack:
        bucket = stack.media_bucket
        assert bucket is not None
        prefix = "assets/scaling/hls/"
        t0 = time.perf_counter()
        publish_directory(bucket.name, prefix, ladder_dir)
        upload = time.perf_counter() - t0
        t0 = time.perf_counter()
        download_prefix(bucket.name, prefix, work / "downloaded")
        download = time.perf_counter() - t0
    return Transfer(files=len(files), bytes=size, upload=upload, download=download)


@dataclass(frozen=True)
class FanIn:
    package: float  # package_track over the chunk's renditions (each task's own)
    manifests: float  # the 2-hour film's media playlists, master and MPD, written
    segments_per_rendition: int


def measure_fan_in(plan: Plan, ladder_dir: Path, film_seconds: float) -> FanIn:
    """Without the chunked code, the stitch is modelled as what it writes: each
    rendition's media playlist for the whole film (the chunk's lines repeated), the
    master playlist and the MPD, from the measured track records."""
    t0 = time.perf_counter()
    tracks = [
        package_track(ladder_dir / video_dirname(r.name), kind="video", frame_rate=r.frame_rate)
        for r in plan.renditions
    ]
    package = time.perf_counter() - t0
    per_chunk = max(t.segment_count for t in tracks)
    repeats = max(1, math.ceil(film_seconds / max(1e-9, tracks[0].duration)))
    t0 = time.perf_counter()
    long_tracks = [_stretched(t, repeats) for t in tracks]
    out = ladder_dir / "stitched"
    out.mkdir(exist_ok=True)
    for t in tracks:
        text = (ladder_dir / t.dirname / VARIANT_PLAYLIST).read_text()
        head, _, body = text.partition("#EXTINF")
        body = "#EXTINF" + body.replace("#EXT-X-ENDLIST", "")
        (out / f"{t.dirname}.m3u8").write_text(head + body * repeats + "#EXT-X-ENDLIST\n")
    (out / "master.m3u8").write_text(build_master_playlist(long_tracks, []))
    (out / "manifest.mpd").write_text(build_mpd(long_tracks, [], plan.hls.segment_seconds))
    manifests = time.perf_counter() - t0
    return FanIn(package=package, manifests=manifests, segments_per_rendition=per_chunk * repeats)


def _stretched(track: PackagedTrack, repeats: int) -> PackagedTrack:
    data = track.to_dict()
    data["duration"] = track.duration * repeats
    data["segment_count"] = track.segment_count * repeats
    data["timeline"] = track.timeline * repeats
    return PackagedTrack.from_dict(data)


def measure_probe(ffprobe: str, url: str, runs: int = 3) -> float:
    """Ingest's probe (ffprobe over HTTP, parsed): median wall."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        make_plan(ffprobe, url, 4.0)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# --- the model --------------------------------------------------------------------------


def vcpus(memory_mb: int) -> float:
    return min(memory_mb / MB_PER_VCPU, MAX_VCPUS)


def scaled_wall(one: float, two: float, cpus: float) -> float:
    """Encode wall on ``cpus`` vCPUs from the CPU seconds measured with 1 and 2 threads.

    CPU seconds, not wall: this machine is shared, so wall times carry other people's
    load, while a process's own CPU time barely does. An encode is CPU-bound, and Lambda
    grants ``cpus`` vCPU-seconds per second, so the wall is CPU / vCPU; above one vCPU
    with the 2-thread figure (which includes x264's threading overhead), assumed to hold
    beyond 2 as well."""
    return (one if cpus <= 1.0 else two) / cpus


@dataclass(frozen=True)
class Inputs:
    encodes: EncodeCosts
    start: StartCost
    transfer: Transfer
    fan_in: FanIn
    probe: float
    audio: Cost  # the audio part over audio_seconds of audio, 1 vCPU
    audio_seconds: float
    memory_mb: int
    chunk_seconds: float
    film_seconds: float


@dataclass(frozen=True)
class TaskShape:
    """One task of the chunked plan: a rung group over one chunk."""

    name: str
    one: float  # CPU seconds of the chunk's encode with 1 thread
    two: float  # ... with 2
    bytes: float


def task_shapes(inputs: Inputs, groups: int, renditions: list[Rendition]) -> list[TaskShape]:
    """Each video task of one chunk. One group is measured directly (every rung from one
    decode); with more groups a group's cost is its rungs' own costs scaled by the
    measured saving of sharing one decode (ladder / sum of rungs)."""
    e = inputs.encodes
    scale = inputs.chunk_seconds / e.sample_seconds
    out_bytes = e.output_bytes * scale
    if groups == 1:
        return [TaskShape("ladder", e.ladder[1].cpu * scale, e.ladder[2].cpu * scale, out_bytes)]
    shapes = []
    total_pixels = sum(r.pixel_rate for r in renditions)
    for group in group_rungs(renditions, groups):
        walls = []
        for cpus in (1, 2):
            rung_sum = sum(e.per_rung[cpus][r.name].cpu for r in renditions)
            share = e.ladder[cpus].cpu / rung_sum
            walls.append(sum(e.per_rung[cpus][r.name].cpu for r in group) * share * scale)
        pixels = sum(r.pixel_rate for r in group) / total_pixels
        shapes.append(TaskShape("+".join(r.name for r in group), *walls, out_bytes * pixels))
    return shapes


def task_seconds(inputs: Inputs, shape: TaskShape, cpus: float) -> float:
    """ffmpeg start + encode on this many vCPUs + packaging + upload of its outputs."""
    upload_bps = inputs.transfer.bytes / inputs.transfer.upload
    package = inputs.fan_in.package * shape.bytes / max(1.0, inputs.encodes.output_bytes)
    return (
        inputs.start.tiny
        + scaled_wall(shape.one, shape.two, cpus)
        + package
        + shape.bytes / upload_bps
    )


@dataclass(frozen=True)
class Prediction:
    concurrency: int
    tasks: int
    waves: int
    task: float  # the longest task
    audio: float
    ready: dict[float, float]  # cold start -> seconds to READY


def audio_seconds(inputs: Inputs, cpus: float) -> float:
    """The audio part encodes the whole film's audio at once: linear in duration, and
    single-threaded (CPU seconds, as for the encodes)."""
    per_second = inputs.audio.cpu / inputs.audio_seconds
    return inputs.start.tiny + per_second * inputs.film_seconds / min(1.0, cpus)


def predict(inputs: Inputs, groups: int, renditions: list[Rendition], n: int) -> Prediction:
    cpus = vcpus(inputs.memory_mb)
    chunks = math.ceil(inputs.film_seconds / inputs.chunk_seconds)
    shapes = task_shapes(inputs, groups, renditions)
    # Audio and previews are tasks of their own; analysis (its own queue and function)
    # also takes a slot of the account's concurrency but is left out of the critical
    # path: its length depends on the backend.
    tasks = chunks * len(shapes) + 3
    waves = math.ceil(tasks / min(n, ACCOUNT_CONCURRENCY))
    longest = max(task_seconds(inputs, s, cpus) for s in shapes)
    audio = audio_seconds(inputs, cpus)
    fan_in = inputs.fan_in.manifests
    ready = {
        cold: cold + inputs.probe + max(cold + waves * longest, cold + audio) + fan_in
        for cold in COLD_STARTS
    }
    return Prediction(n, tasks, waves, longest, audio, ready)


@dataclass(frozen=True)
class SingleFunction:
    memory_mb: int
    cpus: float
    seconds: float  # the whole film in one invocation

    @property
    def fits(self) -> bool:
        return self.seconds <= LAMBDA_TIMEOUT


def single_function(inputs: Inputs, memory_mb: int) -> SingleFunction:
    """One function doing the whole film: the ladder from one decode, then the audio."""
    cpus = vcpus(memory_mb)
    e = inputs.encodes
    scale = inputs.film_seconds / e.sample_seconds
    shape = TaskShape("film", e.ladder[1].cpu * scale, e.ladder[2].cpu * scale,
                      e.output_bytes * scale)  # fmt: skip
    seconds = (
        inputs.probe
        + task_seconds(inputs, shape, cpus)
        + audio_seconds(inputs, cpus)
        + inputs.fan_in.manifests
    )
    return SingleFunction(memory_mb, cpus, seconds)


# --- report -----------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _hm(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


FORMULA = """\
vCPU      = min(MemorySize / 1769, 6)
enc(v)    = cpu1 / v  for v <= 1,  cpu2 / v  for v > 1
            (cpu1, cpu2: measured CPU s of the group's encode with 1 and 2 threads,
             scaled from the measured sample to the chunk length)
chunks    = ceil(film / chunk);  tasks = chunks x groups + 3 (audio, previews, analysis)
task      = ffmpeg start + enc(v) + packaging + chunk outputs / measured upload rate
audio     = ffmpeg start + (audio part CPU s per source s) x film / min(v, 1)  (one task)
waves     = ceil(tasks / min(N, 1000))
READY     = cold + probe + max(cold + waves x task, cold + audio) + fan-in"""


def render(
    *,
    label: str,
    date: str,
    clip: Clip,
    plan: Plan,
    inputs: Inputs,
    predictions: dict[int, list[Prediction]],
    singles: list[SingleFunction],
    machine: list[tuple[str, str]],
    load_before: str,
) -> str:
    e, v = inputs.encodes, plan.video
    lines = [
        f"# Scaling model: {label}",
        "",
        f"Run {date}. Source: {clip.path.name}, {v.width}x{v.height} "
        f"{v.frame_rate or 0:g} fps, {e.sample_seconds:g} s (the bench/transcode.py `grain` "
        f"clip); preset `{plan.preset.name}` ({plan.preset.video.preset} crf "
        f"{plan.preset.video.crf}), {plan.hls.segment_seconds:g} s segments. The measured "
        f"{e.sample_seconds:g} s stands for a chunk; the model scales it linearly to "
        f"{inputs.chunk_seconds:g} s chunks. Load average before the run: {load_before}; "
        "after: see Machine.",
        "",
        "## Measured on this machine",
        "",
        f"Encode of one {e.sample_seconds:g} s chunk with `build_video_group_args` (the "
        "pipeline's codec options), confined to 1 or 2 logical CPUs by affinity. CPU = "
        "the ffmpeg child's rusage (user + system).",
        "",
        *_encode_table(plan, e),
        "",
        "x realtime, CPU-bound: the sample's length over its 2-thread CPU seconds shared by "
        "2 vCPUs, what an otherwise idle 2-vCPU machine would do.",
        *_load_warning(load_before),
        "",
        *_table(
            ["What", "Measured"],
            [
                [
                    "ffmpeg start (median of "
                    f"{inputs.start.runs}): `ffmpeg -version` / a whole video-group command "
                    "on 6 frames of 426x240",
                    f"{inputs.start.version * 1000:.0f} ms / {inputs.start.tiny * 1000:.0f} ms",
                ],
                [
                    "Ingest probe (ffprobe over HTTP + parse, median of 3)",
                    f"{inputs.probe * 1000:.0f} ms",
                ],
                [
                    f"Audio part (loudness scan + AAC) for {inputs.audio_seconds:g} s of the "
                    "clip's audio, 1 vCPU",
                    f"{inputs.audio.wall:.2f} s wall, {inputs.audio.cpu:.2f} s CPU",
                ],
                [
                    f"Chunk outputs ({inputs.transfer.files} files, "
                    f"{inputs.transfer.bytes / 1e6:.1f} MB) uploaded with `publish_directory`",
                    f"{inputs.transfer.upload:.2f} s ({inputs.transfer.upload_mbps:.0f} Mbit/s)",
                ],
                [
                    "... and downloaded with `download_prefix`",
                    f"{inputs.transfer.download:.2f} s "
                    f"({inputs.transfer.download_mbps:.0f} Mbit/s)",
                ],
                [
                    "`package_track` of the chunk's renditions (each task's own)",
                    f"{inputs.fan_in.package * 1000:.0f} ms",
                ],
                [
                    f"Fan-in: the film's media playlists ({inputs.fan_in.segments_per_rendition} "
                    "segments each), master and MPD written",
                    f"{inputs.fan_in.manifests * 1000:.0f} ms",
                ],
            ],
        ),
        "",
        "S3 transfer is against moto on loopback (127.0.0.1), not AWS: no network is "
        "crossed, so it says nothing of S3's throughput from Lambda and stands only as a "
        "floor for the network part; here moto's Python request handling is what limits "
        "it. The model charges each task its outputs' upload at this measured rate, and no "
        "download (the source is read by ranged GETs while decoding). The fan-in is "
        "modelled (the chunked code is not in this branch) as the measured cost of writing "
        "the manifests of the whole film; the stitch also lists and reads each chunk's "
        "playlist, which this leaves out.",
        "",
        "## Lambda facts used (inputs, not measured)",
        "",
        *_table(["Fact", "Source"], [[f, s] for f, s in LAMBDA_FACTS]),
        "",
        f"Assumptions: cold start {' and '.join(f'{c:g} s' for c in COLD_STARTS)} (not "
        "measured; both shown); a Lambda vCPU is as fast as one logical CPU of this "
        "machine; encoding is CPU-bound, so its wall is its CPU seconds over the vCPUs "
        "(the 2-thread CPU cost, threading overhead included, held beyond 2 vCPUs); the "
        "source is read by ranged GETs overlapped with decoding (not charged); analysis "
        "is off the critical path.",
        "",
        "## Model",
        "",
        "```",
        FORMULA,
        "```",
        "",
        f"TranscodeFunction MemorySize {inputs.memory_mb} MB = "
        f"{vcpus(inputs.memory_mb):.2f} vCPU; 2-hour film, {inputs.chunk_seconds:g} s "
        f"chunks ({math.ceil(inputs.film_seconds / inputs.chunk_seconds)} chunks).",
        "",
        "## Predicted time-to-READY, 2-hour 1080p30 film",
        "",
        *_prediction_table(predictions),
        "",
        "## One function doing the whole film",
        "",
        *_table(
            ["MemorySize", "vCPU", "Predicted duration", "Fits in 900 s?"],
            [
                [
                    f"{s.memory_mb} MB",
                    f"{s.cpus:.2f}",
                    _hm(s.seconds),
                    "yes" if s.fits else f"no: {s.seconds / LAMBDA_TIMEOUT:.1f}x the limit",
                ]
                for s in singles
            ],
        ),
        "",
        "## Machine",
        "",
        *_table(["", ""], [[k, f"`{val}`" if k == "ffmpeg" else val] for k, val in machine]),
        "",
        "## Source clip",
        "",
        f"Created {clip.created}:",
        "",
        "```",
        clip.command,
        "```",
        "",
    ]
    return "\n".join(lines)


def _load_warning(load_before: str) -> list[str]:
    cores = os.cpu_count() or 1
    worst = max(float(x) for x in [*load_before.split()[:1], f"{os.getloadavg()[0]}"])
    if worst <= cores:
        return []
    return [
        "",
        f"**The load average exceeded the {cores} cores during this run (up to {worst:.1f}): "
        "the wall columns and the wall speedup measure contention, not x264. The model "
        "does not use them.**",
    ]


def _encode_table(plan: Plan, e: EncodeCosts) -> list[str]:
    rows = []
    for r in plan.renditions:
        one, two = e.per_rung[1][r.name], e.per_rung[2][r.name]
        name = f"{r.name} {r.width}x{r.height}@{r.frame_rate or 0:g}"
        rows.append(_encode_row(name, one, two, e.sample_seconds))
    rows.append(_encode_row("whole ladder, one decode", e.ladder[1], e.ladder[2], e.sample_seconds))
    header = ["Task", "1 vCPU wall s", "1 vCPU CPU s", "2 vCPU wall s", "2 vCPU CPU s"]
    return _table([*header, "2-vCPU wall speedup", "x realtime, CPU-bound on 2 vCPUs"], rows)


def _encode_row(name: str, one: Cost, two: Cost, seconds: float) -> list[str]:
    return [
        name,
        f"{one.wall:.2f}",
        f"{one.cpu:.2f}",
        f"{two.wall:.2f}",
        f"{two.cpu:.2f}",
        f"{one.wall / two.wall:.2f}x",
        f"{seconds / (two.cpu / 2):.2f}x",
    ]


def _prediction_table(predictions: dict[int, list[Prediction]]) -> list[str]:
    header = ["Video groups per chunk", "N", "Tasks", "Waves", "Longest task"]
    header += [f"READY, cold {c:g} s" for c in COLD_STARTS]
    rows = []
    for groups, preds in predictions.items():
        for p in preds:
            rows.append(
                [str(groups), f"{p.concurrency:,}", str(p.tasks), str(p.waves), _hm(p.task)]
                + [_hm(p.ready[c]) for c in COLD_STARTS]
            )
    return _table(header, rows)


# --- local speedup ----------------------------------------------------------------------


def chunk_settings_known() -> bool:
    """True when config.py reads the chunked path's settings (issue 9, item 1)."""
    from lumiere import config

    source = inspect.getsource(config)
    return "CHUNK_THRESHOLD_SECONDS" in source and "CHUNK_SECONDS" in source


def local_speedup(args: argparse.Namespace) -> int:
    if not chunk_settings_known():
        print(
            "--local-speedup needs the chunked path: functions/lumiere/config.py reads no "
            "CHUNK_THRESHOLD_SECONDS / CHUNK_SECONDS here. Run it on a branch where chunk-"
            "parallel encoding (issue 9, item 1) has landed.",
            file=sys.stderr,
        )
        return 2
    from bench.transcode import output_to, run_pipeline

    ffmpeg = str(find_binaries().ffmpeg)
    clip = _speedup_clip(ffmpeg, args.speedup_duration, args.speedup_height)
    overrides = {
        "CHUNK_THRESHOLD_SECONDS": f"{args.speedup_chunk:g}",
        "CHUNK_SECONDS": f"{args.speedup_chunk:g}",
    }
    walls: dict[int, float] = {}
    log = CACHE_DIR / "scaling-speedup.log"
    for workers in (1, 2):
        _step(f"{clip.name} through the local stack, {workers} worker(s)/function (log {log}) ...")
        with output_to(log):
            run = run_pipeline(
                clip, 1, workers, args.pipeline_timeout, CACHE_DIR / "lambda", extra_env=overrides
            )
        if run.ready is None:
            raise SystemExit(f"ended {run.status}: {run.error}")
        walls[workers] = run.ready
        _step(f"  READY after {run.ready:.1f} s")
    summary = (
        f"upload -> READY: 1 worker {walls[1]:.1f} s, 2 workers {walls[2]:.1f} s, "
        f"speedup {walls[1] / walls[2]:.2f}x (load average {_load()})"
    )
    _step(summary)
    text = "\n".join(
        [
            f"# Chunked path, local speedup ({args.label})",
            "",
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. `bench/scaling.py --local-speedup "
            f"--label {args.label}`: a generated {args.speedup_duration:g} s "
            f"{args.speedup_height}p source through the local stack on the chunked path "
            f"(chunks of {args.speedup_chunk:g} s), 1 then 2 workers per function.",
            "",
            f"- {summary}",
            "",
            "## Machine",
            "",
            *(f"- {key}: {value}" for key, value in machine_description(ffmpeg)),
            "",
        ]
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"scaling-speedup-{args.label}.md"
    out.write_text(text)
    _step(f"Written to {out.relative_to(REPO)}")
    return 0


def _speedup_clip(ffmpeg: str, seconds: float, height: int) -> Path:
    width = height * 16 // 9
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"speedup-{seconds:g}s-{height}p.mp4"
    if not path.is_file():
        _step(f"Generating {path.name} ...")
        video = CLIP_RECIPES["grain"].format(w=width, h=height, r=30)
        part = path.with_suffix(".part.mp4")
        run_checked(
            [
                ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
                "-filter_complex", video, "-f", "lavfi", "-i", CLIP_AUDIO.format(d=seconds),
                "-map", "[v]", "-map", "0:a", "-t", f"{seconds:g}",
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                "-c:a", "aac", "-b:a", "160k", "-movflags", "+faststart", str(part),
            ]
        )  # fmt: skip
        part.rename(path)
    return path


# --- main -------------------------------------------------------------------------------


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _step(message: str) -> None:
    print(message, flush=True)


def _template_memory(function: str) -> int:
    """TranscodeFunction's MemorySize, read from template.yaml."""
    from lumiere_dev.template import load_template

    resource = load_template(REPO / "template.yaml")["Resources"][function]
    return int(resource["Properties"]["MemorySize"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--label", default=socket.gethostname(), help="names the results file")
    p.add_argument("--sample-seconds", type=float, default=30.0, help="measured chunk, s")
    p.add_argument("--chunk-seconds", type=float, default=60.0, help="modelled chunk, s")
    p.add_argument("--film-seconds", type=float, default=FILM_SECONDS)
    p.add_argument("--audio-seconds", type=float, default=600.0, help="audio part sample, s")
    p.add_argument("--memory", type=int, help="TranscodeFunction MB (default: template)")
    p.add_argument("--local-speedup", action="store_true", help="see the module docstring")
    p.add_argument("--speedup-duration", type=float, default=600.0)
    p.add_argument("--speedup-height", type=int, default=720)
    p.add_argument("--speedup-chunk", type=float, default=60.0)
    p.add_argument("--pipeline-timeout", type=float, default=3600.0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.local_speedup:
        return local_speedup(args)
    tools = find_binaries()
    ffmpeg, ffprobe = str(tools.ffmpeg), str(tools.ffprobe)
    load_before = _load()
    clip = generated_clip(ffmpeg, args.sample_seconds, "grain")
    date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="scaling-", dir=CACHE_DIR))
    try:
        _step("ffmpeg start cost ...")
        start = measure_start(ffmpeg, ffprobe, work)
        with serve_file(clip.path) as url:
            probe = measure_probe(ffprobe, url)
            plan = make_plan(ffprobe, url, 4.0)
            _step("Encodes ...")
            encodes = measure_encodes(ffmpeg, plan, work, args.sample_seconds)
            _step("Audio part ...")
            audio = measure_audio(ffmpeg, ffprobe, plan, work, args.audio_seconds)
        _step("S3 transfer (moto, loopback) ...")
        transfer = measure_transfer(work / "ladder", work)
        _step("Fan-in (manifests) ...")
        fan_in = measure_fan_in(plan, work / "ladder", args.film_seconds)
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    inputs = Inputs(
        encodes=encodes,
        start=start,
        transfer=transfer,
        fan_in=fan_in,
        probe=probe,
        audio=audio,
        audio_seconds=args.audio_seconds,
        memory_mb=args.memory or _template_memory("TranscodeFunction"),
        chunk_seconds=args.chunk_seconds,
        film_seconds=args.film_seconds,
    )
    predictions = {
        groups: [predict(inputs, groups, plan.renditions, n) for n in CONCURRENCY]
        for groups in (1, 2)
    }
    singles = [single_function(inputs, mb) for mb in (inputs.memory_mb, MAX_MEMORY_MB)]
    text = render(
        label=args.label,
        date=date,
        clip=clip,
        plan=plan,
        inputs=inputs,
        predictions=predictions,
        singles=singles,
        machine=machine_description(ffmpeg),
        load_before=load_before,
    )
    print("\n" + text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"scaling-{args.label}.md"
    out.write_text(text)
    _step(f"Written to {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
