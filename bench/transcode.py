"""Transcode benchmark: the ladder's rungs (bit rate, VMAF, encode time) and the cost of
the whole ladder made three ways, from one run, printed as one table and written as
Markdown to ``bench/results/transcode-<label>.md``.

(a) naive: one ffmpeg process per rung, sequentially, plus one per audio track;
(b) limit: the fastest single ffmpeg command making the same outputs;
(c) pipeline: upload through the local stack (moto, in this process) until READY.

Run from the repository root::

    .venv/bin/python -m bench.transcode --duration 8 --skip-pipeline
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import resource
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import m3u8
from lumiere.media.audio import AudioTrack, Loudness, parse_loudnorm, plan_audio_tracks
from lumiere.media.commands import (
    POSTER_MAX,
    VARIANT_PLAYLIST,
    HlsOptions,
    build_animated_preview_args,
    build_audio_track_args,
    build_loudness_scan_args,
    build_poster_args,
    build_single_command_args,
    build_storyboard_args,
    build_video_group_args,
    poster_seek_seconds,
    upload_audio,
    video_dirname,
)
from lumiere.media.ladder import LadderPreset, Rendition, load_preset, plan_ladder
from lumiere.media.packaging import package_track
from lumiere.media.probe import MediaInfo, build_ffprobe_args, parse_probe
from lumiere.media.storyboard import DEFAULT_TILE_WIDTH, Storyboard, plan_storyboard, tile_size
from lumiere.media.streams import VideoStream
from lumiere.media.tools import find_binaries, run_tool
from lumiere_dev.file_server import serve_directory

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
CACHE_DIR = BENCH_DIR / ".cache"
RESULTS_DIR = BENCH_DIR / "results"

# How often (c) is watched. Each look is an API call and an S3 listing served by this
# same process, so it counts in (c)'s CPU: not too often.
POLL_SECONDS = 0.5
# Targets for the pipeline against the practical limit (b).
CPU_TARGET = 1.20
WALL_TARGET = 1.15

CLIP_SIZE, CLIP_RATE = (1920, 1080), 30
# Two recipes. "grain" (the default): testsrc2's moving shapes, gradients and sharp edges
# with temporal noise like film grain, so no two frames are alike. "fractal": a zooming
# Mandelbrot averaged with testsrc2 and the same grain, fine detail everywhere: a worst
# case where the 1080p bit-rate cap binds and VMAF falls to the mid 80s. alls=3, not 10:
# at crf 16 alls=10 makes a ~180 Mbit/s source, far from any camera original.
CLIP_RECIPES = {
    "grain": "testsrc2=s={w}x{h}:r={r},noise=alls=3:allf=t,format=yuv420p[v]",
    "fractal": (
        "mandelbrot=s={w}x{h}:r={r},format=yuv420p[m];"
        "testsrc2=s={w}x{h}:r={r},format=yuv420p[t];"
        "[m][t]blend=all_mode=average,noise=alls=3:allf=t,format=yuv420p[v]"
    ),
}
# Stereo, a different tone per channel, loudness stepping every 5 s over ~20 dB and a
# slow swell on top: something for loudnorm's two passes to measure and correct.
CLIP_AUDIO = (
    "aevalsrc=exprs="
    "'(0.03+0.3*mod(floor(t/5),3))*(0.75+0.25*sin(2*PI*0.3*t))*sin(2*PI*220*t)|"
    "(0.03+0.3*mod(floor(t/5),3))*(0.75+0.25*sin(2*PI*0.3*t))*sin(2*PI*330*t)'"
    ":s=48000:d={d}"
)


# --- measuring ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    wall: float
    cpu: float  # user + system, this process and its waited-for children


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Stopwatch:
    """Wall and CPU over a window. RUSAGE_CHILDREN only counts children that have been
    waited for, so every subprocess in the window must have finished by ``stop``."""

    def __init__(self) -> None:
        self._wall0 = time.perf_counter()
        self._cpu0 = _cpu_seconds()

    def elapsed(self) -> float:
        return time.perf_counter() - self._wall0

    def stop(self) -> Cost:
        return Cost(wall=self.elapsed(), cpu=_cpu_seconds() - self._cpu0)


def run_checked(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{Path(argv[0]).name} failed ({done.returncode}):\n{tail}")
    return done


# --- the source clip ------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    path: Path
    command: str  # how it was made, for the report ("given file" for --source)
    created: str


def clip_argv(
    ffmpeg: str,
    seconds: float,
    out: Path,
    recipe: str = "grain",
    size: tuple[int, int] = CLIP_SIZE,
) -> list[str]:
    w, h = size
    video = CLIP_RECIPES[recipe].format(w=w, h=h, r=CLIP_RATE)
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-filter_complex", video,
        "-f", "lavfi", "-i", CLIP_AUDIO.format(d=seconds),
        "-map", "[v]", "-map", "0:a",
        "-t", f"{seconds:g}",
        "-c:v", "libx264", "-profile:v", "high", "-preset", "fast", "-crf", "16",
        "-c:a", "aac", "-b:a", "192k",
        "-movflags", "+faststart",
        str(out),
    ]  # fmt: skip


def generated_clip(
    ffmpeg: str, seconds: float, recipe: str = "grain", size: tuple[int, int] = CLIP_SIZE
) -> Clip:
    """Made once per recipe, size and duration; the command's hash is in the name so
    editing it never reuses a stale clip."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # The cache holds large media: keep it out of git without touching the root ignore.
    (CACHE_DIR / ".gitignore").write_text("*\n")
    argv = clip_argv("ffmpeg", seconds, Path("clip.mp4"), recipe, size)
    digest = hashlib.sha256(json.dumps(argv).encode()).hexdigest()[:10]
    path = CACHE_DIR / f"clip-{seconds:g}s-{digest}.mp4"
    meta = path.with_suffix(".json")
    if not (path.is_file() and meta.is_file()):
        print(f"Generating the {seconds:g} s source clip (cached in {CACHE_DIR}) ...", flush=True)
        partial_path = path.with_suffix(".part.mp4")
        run_checked(clip_argv(ffmpeg, seconds, partial_path, recipe, size))
        partial_path.rename(path)
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        meta.write_text(json.dumps({"command": shlex.join(argv), "created": created}))
    data = json.loads(meta.read_text())
    return Clip(path=path, command=data["command"], created=data["created"])


def given_clip(path: Path) -> Clip:
    mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    return Clip(path=path.resolve(), command="given file", created=mtime.isoformat())


# --- serving the source over HTTP ------------------------------------------------------


@contextmanager
def output_to(log: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors 1 and 2, so threads,
    loggers holding the old streams and child processes too) to ``log``: the local
    stack's access logs and metrics would bury the benchmark's output."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with log.open("ab") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


@contextmanager
def serve_file(path: Path) -> Iterator[str]:
    with serve_directory(path.parent) as base:
        yield f"{base}/{path.name}"


# --- plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    url: str
    info: MediaInfo
    video: VideoStream
    preset: LadderPreset
    renditions: list[Rendition]
    tracks: list[AudioTrack]
    hls: HlsOptions

    @property
    def poster_seek(self) -> float:
        return poster_seek_seconds(self.info.duration)

    @property
    def storyboard(self) -> Storyboard:
        """The same layout the pipeline's video part makes."""
        width, height = self.video.display_size
        tile = tile_size(width, height, DEFAULT_TILE_WIDTH, self.video.sample_aspect_ratio)
        return plan_storyboard(self.info.duration or 0.0, tile=tile)


def make_plan(ffprobe: str, url: str, segment_seconds: float) -> Plan:
    info = parse_probe(run_tool(build_ffprobe_args(ffprobe, url), timeout=60))
    if info.primary_video is None:
        raise SystemExit("The source has no video stream.")
    preset = load_preset("default")
    return Plan(
        url=url,
        info=info,
        video=info.primary_video,
        preset=preset,
        renditions=plan_ladder(info, preset),
        tracks=plan_audio_tracks(info),
        hls=HlsOptions(segment_seconds=segment_seconds),
    )


def output_dirs(plan: Plan, out_root: Path) -> list[Path]:
    dirs = [out_root / video_dirname(r.name) for r in plan.renditions]
    return dirs + [out_root / t.dirname for t in plan.tracks]


def make_dirs(plan: Plan, out_root: Path) -> None:
    # ffmpeg's HLS and image2 muxers do not create directories.
    for d in [*output_dirs(plan, out_root), out_root / "storyboard"]:
        d.mkdir(parents=True, exist_ok=True)


def scan_loudness(ffmpeg: str, plan: Plan) -> list[tuple[AudioTrack, Loudness | None]]:
    """loudnorm's first pass, one process per track; both (a) and (b) need it."""
    measured = []
    for track in plan.tracks:
        argv = build_loudness_scan_args(ffmpeg, upload_audio(plan.url, track), plan.preset.audio)
        stderr = run_checked(argv).stderr.decode("utf-8", errors="replace")
        measured.append((track, parse_loudnorm(stderr)))
    return measured


# --- (a) naive and (b) limit ------------------------------------------------------------


@dataclass
class Baseline:
    total: Cost
    loudness_scan: Cost
    per_rung: dict[str, Cost] = field(default_factory=dict)


def run_naive(ffmpeg: str, plan: Plan, out_root: Path) -> Baseline:
    make_dirs(plan, out_root)
    total = Stopwatch()
    scan = Stopwatch()
    measured = scan_loudness(ffmpeg, plan)
    scan_cost = scan.stop()
    per_rung: dict[str, Cost] = {}
    for r in plan.renditions:
        one = Stopwatch()
        run_checked(
            build_video_group_args(
                ffmpeg, plan.url, plan.video, [r], out_root, plan.hls, progress=False
            )
        )
        per_rung[r.name] = one.stop()
    for track, loudness in measured:
        one = Stopwatch()
        argv = build_audio_track_args(
            ffmpeg,
            upload_audio(plan.url, track),
            plan.preset.audio,
            loudness,
            out_root / track.dirname,
            plan.hls,
            progress=False,
        )
        run_checked(argv)
        per_rung[track.dirname] = one.stop()
    one = Stopwatch()
    run_checked(
        build_poster_args(
            ffmpeg,
            plan.url,
            out_root / "poster.jpg",
            seek_seconds=plan.poster_seek,
            max_width=POSTER_MAX[0],
            max_height=POSTER_MAX[1],
        )
    )
    per_rung["poster"] = one.stop()
    one = Stopwatch()
    board = plan.storyboard
    (out_root / "storyboard").mkdir(exist_ok=True)
    run_checked(
        build_storyboard_args(
            ffmpeg,
            plan.url,
            out_root / "storyboard",
            interval=board.interval,
            tile_width=board.tile_width,
            tile_height=board.tile_height,
            columns=board.columns,
            rows=board.rows,
            count=board.count,
        )
    )
    per_rung["storyboard"] = one.stop()
    one = Stopwatch()
    run_checked(preview_args(ffmpeg, plan, out_root))
    per_rung["animated preview"] = one.stop()
    return Baseline(total=total.stop(), loudness_scan=scan_cost, per_rung=per_rung)


def preview_args(ffmpeg: str, plan: Plan, out_root: Path) -> list[str]:
    return build_animated_preview_args(
        ffmpeg, plan.url, out_root / "preview.mp4", duration=plan.info.duration
    )


def run_limit(ffmpeg: str, plan: Plan, out_root: Path) -> Baseline:
    make_dirs(plan, out_root)
    total = Stopwatch()
    scan = Stopwatch()
    measured = scan_loudness(ffmpeg, plan)
    scan_cost = scan.stop()
    run_checked(
        build_single_command_args(
            ffmpeg,
            plan.url,
            plan.video,
            plan.renditions,
            measured,
            plan.preset.audio,
            out_root,
            plan.hls,
            poster=(out_root / "poster.jpg", plan.poster_seek),
            storyboard=(out_root / "storyboard", plan.storyboard),
        )
    )
    # The animated preview reads four one-second windows by seeking: a second command
    # (a few hundred milliseconds) rather than a branch of the full decode.
    run_checked(preview_args(ffmpeg, plan, out_root))
    return Baseline(total=total.stop(), loudness_scan=scan_cost)


def media_bytes_vs(a: Path, b: Path) -> str:
    """How (b)'s init and media segments compare with (a)'s: "identical", or the size
    difference. x264 is bit-exact run to run except where VBV binds (the cap), where
    frame-threaded rate control is not, so a small difference there is expected."""

    def media(d: Path) -> list[Path]:
        return sorted(f for f in d.iterdir() if f.suffix in (".mp4", ".m4s"))

    files_a, files_b = media(a), media(b)
    if [f.name for f in files_a] == [f.name for f in files_b] and all(
        fa.read_bytes() == fb.read_bytes() for fa, fb in zip(files_a, files_b, strict=True)
    ):
        return "identical"
    size_a = sum(f.stat().st_size for f in files_a)
    size_b = sum(f.stat().st_size for f in files_b)
    return f"{(size_b - size_a) / size_a:+.2%} bytes" if size_a else "missing"


# --- (c) the pipeline -------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineRun:
    cost: Cost  # from the upload landing in S3 to READY
    upload: Cost  # the client's POST of the file to (in-process) moto, not in ``cost``
    first_playable: float | None  # seconds from the upload landing
    ready: float | None
    status: str
    error: str | None
    video_tasks: int
    workers: int
    rendition_kbps: dict[str, int]  # average, measured on what the pipeline published


_VARIANT_KEY = re.compile(r"/(v_[^/]+)/index\.m3u8$")


def run_pipeline(
    clip: Path,
    video_tasks: int,
    workers: int,
    timeout: float,
    work_dir: Path,
    extra_env: dict[str, str] | None = None,
) -> PipelineRun:
    # Imported here: the local stack pulls in moto, and --skip-pipeline should not need it.
    from lumiere_dev.cli import template_path
    from lumiere_dev.client import FINAL_STATUSES
    from lumiere_dev.stack import LocalStack

    overrides = {
        "VIDEO_TASKS": str(video_tasks),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "LUMIERE_WORK_DIR": str(work_dir),
        **(extra_env or {}),
    }
    stack = LocalStack(
        template_path(),
        stack_name=f"bench-{uuid.uuid4().hex[:8]}",
        overrides=overrides,
        workers_per_function=workers,
    )
    # Started outside the measured window: a deployed stack is already up.
    with stack:
        bucket = stack.media_bucket
        assert bucket is not None, "the template has no media bucket"
        s3 = stack.client("s3")
        client = stack.api_client()
        # The client's transfer is timed on its own: it depends on the viewer's network,
        # not on Lumiere, and here it is moto parsing a multipart POST in Python. The
        # pipeline's window opens when the object is in S3 (what fires the event).
        upload_watch = Stopwatch()
        asset_id = client.upload_file(clip).asset_id
        upload = upload_watch.stop()
        watch = Stopwatch()
        prefix = f"assets/{asset_id}/"
        first_playable: float | None = None
        asset: dict[str, Any] = {}
        while watch.elapsed() < timeout:
            if first_playable is None and _has_variant(s3, bucket.name, prefix):
                first_playable = watch.elapsed()
            asset = client.get_asset(asset_id)
            if asset.get("status") in FINAL_STATUSES:
                break
            time.sleep(POLL_SECONDS)
        cost = watch.stop()
        status = str(asset.get("status"))
        ready = cost.wall if status == "READY" else None
        if ready is not None and first_playable is None:
            first_playable = ready  # published between the last two polls
        error = asset.get("error")
        kbps = _published_kbps(s3, bucket.name, prefix) if status == "READY" else {}
    return PipelineRun(
        cost=cost,
        upload=upload,
        first_playable=first_playable,
        ready=ready,
        status=status,
        error=json.dumps(error) if error else None,
        video_tasks=video_tasks,
        workers=workers,
        rendition_kbps=kbps,
    )


def _variant_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", []) if _VARIANT_KEY.search(o["Key"])]
    return keys


def _has_variant(s3: Any, bucket: str, prefix: str) -> bool:
    return bool(_variant_keys(s3, bucket, prefix))


def _published_kbps(s3: Any, bucket: str, prefix: str) -> dict[str, int]:
    """Average bit rate of each published rung (segment sizes over EXTINF), to show the
    pipeline encodes what (a) and (b) encode."""
    out: dict[str, int] = {}
    for key in _variant_keys(s3, bucket, prefix):
        base = key.rsplit("/", 1)[0]
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        playlist = m3u8.loads(body)
        size = duration = 0.0
        uris = [s.uri for s in playlist.segments]
        if playlist.segment_map:
            uris.append(playlist.segment_map[0].uri)
        for uri in uris:
            size += s3.head_object(Bucket=bucket, Key=f"{base}/{uri}")["ContentLength"]
        duration = sum(s.duration for s in playlist.segments)
        match = _VARIANT_KEY.search(key)
        if match and duration:
            out[match.group(1)] = round(size * 8 / duration / 1000)
    return out


# --- per-rung quality -------------------------------------------------------------------


@dataclass(frozen=True)
class RungStats:
    average_kbps: int
    peak_kbps: int


def measure_rung(playlist_path: Path) -> RungStats:
    """What the manifests would declare: the same measurement the pipeline makes."""
    kind = "audio" if playlist_path.parent.name.startswith("a_") else "video"
    track = package_track(playlist_path.parent, kind=kind)
    return RungStats(round(track.average_bps / 1000), round(track.peak_bps / 1000))


def vmaf(
    ffmpeg: str, rendition_playlist: Path, source: Path, rung: Rendition, subsample: int
) -> float:
    """Mean VMAF of a rung, upscaled (bicubic) to the source size, against the source.
    Both inputs are local files we made or chose, so no guard options here."""
    src_w, src_h = _source_size(source)
    with tempfile.TemporaryDirectory(prefix="bench-vmaf-") as tmp:
        log = Path(tmp) / "vmaf.json"
        fps = rung.frame_rate or CLIP_RATE
        graph = (
            f"[0:v]scale={src_w}:{src_h}:flags=bicubic,setpts=PTS-STARTPTS[d];"
            f"[1:v]fps={fps:g},setpts=PTS-STARTPTS[r];"
            f"[d][r]libvmaf=n_threads={os.cpu_count() or 2}:n_subsample={subsample}"
            f":log_fmt=json:log_path={log}"
        )
        argv = [
            ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-i", str(rendition_playlist), "-i", str(source),
            "-filter_complex", graph, "-f", "null", "-",
        ]  # fmt: skip
        run_checked(argv)
        data = json.loads(log.read_text())
    return float(data["pooled_metrics"]["vmaf"]["mean"])


_size_cache: dict[Path, tuple[int, int]] = {}


def _source_size(source: Path) -> tuple[int, int]:
    if source not in _size_cache:
        argv = [
            str(find_binaries().ffprobe), "-v", "error", "-select_streams", "v:0",
            "-show_entries", "stream=width,height", "-of", "json", str(source),
        ]  # fmt: skip
        stream = json.loads(run_tool(argv, timeout=60))["streams"][0]
        _size_cache[source] = (int(stream["width"]), int(stream["height"]))
    return _size_cache[source]


# --- report -----------------------------------------------------------------------------


@dataclass
class Report:
    label: str
    date: str
    clip: Clip
    plan: Plan
    machine: list[tuple[str, str]]
    naive: Baseline
    limit: Baseline
    pipeline: PipelineRun | None
    pipeline_skipped: str | None
    rung_stats: dict[str, RungStats]
    vmaf_scores: dict[str, float]
    vmaf_note: str
    same_as_limit: dict[str, str]


def machine_description(ffmpeg: str) -> list[tuple[str, str]]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")),
        platform.processor() or "unknown",
    )
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
    ram = f"{int(mem.group(1)) / 1024**2:.1f} GiB" if mem else "unknown"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = f"{os.cpu_count()} logical" + (f" ({usable} usable)" if usable else "")
    version = run_tool([ffmpeg, "-version"], timeout=30).splitlines()[0]
    return [
        ("Host", socket.gethostname()),
        ("CPU", model),
        ("Cores", cores),
        ("RAM", ram),
        ("OS", platform.platform()),
        # Wall times mean little on a busy machine: say how busy it was.
        ("Load average", " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min)"),
        ("Python", platform.python_version()),
        ("ffmpeg", f"{version} ({ffmpeg})"),
    ]


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def _verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio <= target else "FAIL"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def render(report: Report) -> str:
    plan, info = report.plan, report.plan.info
    v = plan.video
    lines = [
        f"# Transcode benchmark: {report.label}",
        "",
        f"Run {report.date}. Source: {report.clip.path.name}, {v.width}x{v.height} "
        f"{_fmt(v.frame_rate, 'g')} fps {v.codec}, {_fmt(info.duration, '.1f')} s, "
        f"{_fmt((info.bit_rate or 0) / 1e6, '.1f')} Mbit/s, {len(plan.tracks)} audio track(s); "
        f"preset `{plan.preset.name}` ({plan.preset.video.codec} {plan.preset.video.preset} "
        f"crf {plan.preset.video.crf}), {plan.hls.segment_seconds:g} s segments.",
        "",
        "## Rungs",
        "",
        *_rung_table(report),
        "",
        f"Bit rates and VMAF measured on the outputs of (a); {report.vmaf_note} "
        "Encode time and CPU: the rung's own ffmpeg process in (a). "
        "'(b) vs (a)': the init and media segments (b) wrote, against (a)'s; x264 is not "
        "bit-exact run to run where the VBV cap binds (frame-threaded rate control).",
        "",
        "## Whole ladder",
        "",
        *_ladder_table(report),
        "",
        *_ratio_lines(report),
        "",
        "## Machine",
        "",
        *_table(["", ""], [[k, f"`{v}`" if k == "ffmpeg" else v] for k, v in report.machine]),
        "",
        "## Source clip",
        "",
        f"Created {report.clip.created}:",
        "",
        "```",
        report.clip.command,
        "```",
        "",
    ]
    return "\n".join(lines)


def _rung_table(report: Report) -> list[str]:
    header = ["Rung", "Resolution", "fps", "Cap kbit/s", "Avg kbit/s", "Peak kbit/s"]
    header += ["VMAF", "Encode s", "Encode CPU s", "(b) vs (a)"]
    if report.pipeline and report.pipeline.rendition_kbps:
        header.append("Pipeline avg kbit/s")
    rows = []
    for r in report.plan.renditions:
        name = video_dirname(r.name)
        stats, cost = report.rung_stats[name], report.naive.per_rung[r.name]
        row = [
            r.name,
            f"{r.width}x{r.height}",
            _fmt(r.frame_rate, "g"),
            str(r.max_kbps),
            str(stats.average_kbps),
            str(stats.peak_kbps),
            _fmt(report.vmaf_scores.get(name)),
            f"{cost.wall:.2f}",
            f"{cost.cpu:.2f}",
            report.same_as_limit.get(name, ""),
        ]
        if report.pipeline and report.pipeline.rendition_kbps:
            row.append(str(report.pipeline.rendition_kbps.get(name, "missing")))
        rows.append(row)
    for track in report.plan.tracks:
        stats, cost = report.rung_stats[track.dirname], report.naive.per_rung[track.dirname]
        row = [track.dirname, "audio", "", str(report.plan.preset.audio.bitrate_kbps)]
        row += [str(stats.average_kbps), str(stats.peak_kbps), "", f"{cost.wall:.2f}"]
        row += [f"{cost.cpu:.2f}", report.same_as_limit.get(track.dirname, "")]
        if report.pipeline and report.pipeline.rendition_kbps:
            row.append("")
        rows.append(row)
    return _table(header, rows)


def _ladder_table(report: Report) -> list[str]:
    limit = report.limit.total
    rows = [
        _ladder_row("(a) naive: a process per rung + per audio track", report.naive.total, limit),
        _ladder_row("(b) limit: one ffmpeg command", limit, limit),
    ]
    p = report.pipeline
    if p is None:
        rows.append(["(c) pipeline", "skipped", "", "", "", "", ""])
    else:
        label = f"(c) pipeline: VIDEO_TASKS={p.video_tasks}, {p.workers} workers/function"
        row = _ladder_row(label, p.cost, limit)
        row[-2] = _fmt(p.first_playable)
        row[-1] = _fmt(p.ready) if p.ready is not None else p.status
        rows.append(row)
    header = ["Way", "Wall s", "CPU s", "Wall / (b)", "CPU / (b)", "First playable s", "READY s"]
    return _table(header, rows)


def _ladder_row(label: str, cost: Cost, limit: Cost) -> list[str]:
    return [
        label,
        f"{cost.wall:.2f}",
        f"{cost.cpu:.2f}",
        f"{_ratio(cost.wall, limit.wall):.2f}x",
        f"{_ratio(cost.cpu, limit.cpu):.2f}x",
        "",
        "",
    ]


def _ratio_lines(report: Report) -> list[str]:
    naive, limit, p = report.naive.total, report.limit.total, report.pipeline
    scan = report.limit.loudness_scan
    lines = [
        f"(a) and (b) include the loudness scan (loudnorm first pass, {len(report.plan.tracks)} "
        f"process(es)): {scan.wall:.2f} s wall, {scan.cpu:.2f} s CPU in (b). "
        "CPU = getrusage(RUSAGE_SELF) + getrusage(RUSAGE_CHILDREN) deltas of the benchmark "
        "process (the source's HTTP server runs in it).",
        "",
        "All three make the same outputs: the rungs, the audio, the poster, the storyboard "
        "sprite sheets and the animated preview. In (a) the last three are processes of "
        "their own ("
        + ", ".join(
            f"{name} {report.naive.per_rung[name].wall:.2f} s"
            for name in ("poster", "storyboard", "animated preview")
            if name in report.naive.per_rung
        )
        + " wall); in (b) the poster and storyboard are branches of the one decode and the "
        "preview, which seeks to four one-second windows, is a second short command.",
        "",
        f"- naive / limit: wall {_ratio(naive.wall, limit.wall):.2f}x, "
        f"CPU {_ratio(naive.cpu, limit.cpu):.2f}x",
    ]
    if p is None:
        lines.append(f"- pipeline / limit: not measured ({report.pipeline_skipped})")
        return lines
    if p.status != "READY":
        lines.append(f"- pipeline ended {p.status}: {p.error} (ratios not meaningful) FAIL")
    wall, cpu = _ratio(p.cost.wall, limit.wall), _ratio(p.cost.cpu, limit.cpu)
    ok = p.status == "READY"
    lines += [
        f"- pipeline / limit: wall {wall:.2f}x (target <= {WALL_TARGET:.2f}x) "
        f"{_verdict(wall, WALL_TARGET) if ok else 'FAIL'}, "
        f"CPU {cpu:.2f}x (target <= {CPU_TARGET:.2f}x) "
        f"{_verdict(cpu, CPU_TARGET) if ok else 'FAIL'}",
        f"- upload -> first playable rendition (first v_*/index.m3u8 in the media bucket, "
        f"polled every {POLL_SECONDS:g} s): {_fmt(p.first_playable)} s; "
        f"upload -> READY: {_fmt(p.ready)} s",
        "- (c) wall and CPU run from the upload landing in S3 to READY and include the S3 "
        "event, moto, the API, the queue pollers, probe, loudness scan, poster and "
        "publishing, all in this process; the stack's start-up and the client's upload "
        f"(here {p.upload.wall:.2f} s wall, {p.upload.cpu:.2f} s CPU into moto) are not.",
    ]
    return lines


# --- main -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", type=Path, help="benchmark this file instead of a generated clip")
    p.add_argument("--duration", type=float, default=30.0, help="generated clip length, s")
    p.add_argument("--clip", choices=sorted(CLIP_RECIPES), default="grain", help="clip recipe")
    p.add_argument("--label", default=socket.gethostname(), help="names the results file")
    p.add_argument("--video-tasks", type=int, default=1, help="VIDEO_TASKS for the pipeline")
    p.add_argument(
        "--workers",
        type=int,
        help="local stack workers per function (default: max(2, video tasks + 1), so "
        "every video task can run at once, as Lambda would run them)",
    )
    p.add_argument("--skip-pipeline", action="store_true")
    p.add_argument("--skip-vmaf", action="store_true")
    p.add_argument(
        "--vmaf-subsample", type=int, default=1, help="score every Nth frame (libvmaf n_subsample)"
    )
    p.add_argument("--segment-seconds", type=float, default=4.0)
    p.add_argument("--pipeline-timeout", type=float, default=1800.0)
    p.add_argument("--keep", action="store_true", help="keep the outputs of (a) and (b)")
    return p.parse_args(argv)


def _step(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tools = find_binaries()
    ffmpeg, ffprobe = str(tools.ffmpeg), str(tools.ffprobe)
    clip = (
        given_clip(args.source) if args.source else generated_clip(ffmpeg, args.duration, args.clip)
    )
    date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="work-", dir=CACHE_DIR))
    with serve_file(clip.path) as url:
        plan = make_plan(ffprobe, url, args.segment_seconds)
        names = ", ".join(f"{r.name} {r.width}x{r.height}" for r in plan.renditions)
        _step(f"Ladder: {names}; audio: {', '.join(t.dirname for t in plan.tracks) or 'none'}")
        _step("(a) naive ...")
        naive = run_naive(ffmpeg, plan, work / "naive")
        _step("(b) limit ...")
        limit = run_limit(ffmpeg, plan, work / "limit")
    pipeline, skipped = None, "--skip-pipeline"
    if not args.skip_pipeline:
        workers = args.workers or max(2, args.video_tasks + 1)
        log = CACHE_DIR / "pipeline.log"
        log.unlink(missing_ok=True)
        _step(f"(c) pipeline (VIDEO_TASKS={args.video_tasks}, {workers} workers; log: {log}) ...")
        try:
            with output_to(log):
                pipeline = run_pipeline(
                    clip.path, args.video_tasks, workers, args.pipeline_timeout, work / "lambda"
                )
        except Exception as e:  # the pipeline is under construction: report, keep (a)/(b)
            skipped = f"the pipeline raised {type(e).__name__}: {e}"
            _step(f"  {skipped}")
        if pipeline is not None and pipeline.status != "READY":
            _step(f"  pipeline ended {pipeline.status}; see {log}")
    stats = {d.name: measure_rung(d / VARIANT_PLAYLIST) for d in output_dirs(plan, work / "naive")}
    same = {
        d.name: media_bytes_vs(d, work / "limit" / d.name)
        for d in output_dirs(plan, work / "naive")
    }
    scores: dict[str, float] = {}
    note = "VMAF skipped (--skip-vmaf)."
    if not args.skip_vmaf:
        for r in plan.renditions:
            name = video_dirname(r.name)
            _step(f"VMAF {r.name} ...")
            playlist = work / "naive" / name / VARIANT_PLAYLIST
            scores[name] = vmaf(ffmpeg, playlist, clip.path, r, args.vmaf_subsample)
        every = (
            "every frame" if args.vmaf_subsample == 1 else f"every {args.vmaf_subsample}th frame"
        )
        note = (
            f"VMAF: libvmaf default model (v0.6.1), rung upscaled bicubic to the source size, "
            f"pooled mean over {every}."
        )
    report = Report(
        label=args.label,
        date=date,
        clip=clip,
        plan=plan,
        machine=machine_description(ffmpeg),
        naive=naive,
        limit=limit,
        pipeline=pipeline,
        pipeline_skipped=skipped if pipeline is None else None,
        rung_stats=stats,
        vmaf_scores=scores,
        vmaf_note=note,
        same_as_limit=same,
    )
    text = render(report)
    print("\n" + text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"transcode-{_safe(args.label)}.md"
    out.write_text(text)
    _step(f"Written to {out.relative_to(REPO)}")
    if not args.keep:
        _remove_tree(work)
    else:
        _step(f"Outputs kept in {work}")
    return 0


def _safe(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-") or "unnamed"


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
