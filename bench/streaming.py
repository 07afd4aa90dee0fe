"""How much of /tmp a video part holds with streamed segment uploads, by source length.

Encodes a generated 720p30 clip of each length with the production command of a video
part (the default ladder from one decode, SEGMENT_SECONDS segments), uploading segments
while ffmpeg runs (pipeline/streaming.py) to moto's S3 in this process, and polls the
work directory every 20 ms. Without streaming, the directory held everything encoded
when ffmpeg exited: the "encoded" column.

    .venv/bin/python bench/streaming.py                 # 30 s and 120 s
    .venv/bin/python bench/streaming.py --durations 30 240
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import boto3
from lumiere.cloud import clients
from lumiere.media.commands import HlsOptions, build_video_group_args, video_dirname
from lumiere.media.ladder import load_preset, plan_ladder
from lumiere.media.probe import build_ffprobe_args, parse_probe
from lumiere.media.tools import find_binaries, run_tool, run_tool_streaming
from lumiere.pipeline.streaming import SegmentStreamer, StreamedTrack
from lumiere_dev.environment import LOCAL_CREDENTIALS
from lumiere_dev.file_server import serve_directory
from moto import mock_aws

REPO = Path(__file__).resolve().parent.parent

BUCKET = "bench-media"
CACHE = REPO / "bench" / ".cache"


def make_clip(seconds: int) -> Path:
    path = CACHE / f"streaming-720p-{seconds}s.mp4"
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(find_binaries().ffmpeg), "-v", "error", "-y", "-f", "lavfi",
             "-i", f"testsrc2=size=1280x720:rate=30:duration={seconds}",
             "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p",
             str(path)],
            check=True,
        )  # fmt: skip
    return path


def dir_bytes(root: Path) -> int:
    total = 0
    for path in root.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except FileNotFoundError:
            continue
    return total


def run(seconds: int, segment_seconds: float) -> dict[str, float]:
    clip = make_clip(seconds)
    with serve_directory(clip.parent) as base, tempfile.TemporaryDirectory() as tmp:
        url = f"{base}/{clip.name}"
        probe = run_tool(build_ffprobe_args(str(find_binaries().ffprobe), url), timeout=60)
        info = parse_probe(probe)
        video = info.primary_video
        assert video is not None
        rungs = plan_ladder(info, load_preset("default"))
        work = Path(tmp)
        dirs = [work / video_dirname(r.name) for r in rungs]
        for d in dirs:
            d.mkdir()
        argv = build_video_group_args(
            str(find_binaries().ffmpeg), url, video, rungs, work, HlsOptions(segment_seconds)
        )
        peak, stop = [0], threading.Event()

        def poll() -> None:
            while not stop.wait(0.02):
                peak[0] = max(peak[0], dir_bytes(work))

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        started = time.monotonic()
        tracks = [StreamedTrack(d, f"bench/{d.name}/") for d in dirs]
        with SegmentStreamer(BUCKET, tracks) as streamer:
            run_tool_streaming(argv, timeout=None, on_line=lambda _: streamer.raise_if_failed())
        wall = time.monotonic() - started
        stop.set()
        poller.join()
        encoded = dir_bytes(work) + sum(
            r.bytes for d in dirs for r in streamer.measured(d).values()
        )
        # Every rung cuts on the same keyframes, so they finish a segment together: the
        # largest such set is what one look can find waiting at once.
        together = max(
            sum(r.bytes for d in dirs for r in streamer.measured(d).values() if r.uri == name)
            for name in streamer.measured(dirs[0])
        )
        return {
            "together": together,
            "seconds": seconds,
            "rungs": len(rungs),
            "segments": sum(len(streamer.measured(d)) for d in dirs),
            "encoded": encoded,
            "peak": peak[0],
            "watcher_peak": streamer.peak_bytes,
            "wall": wall,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--durations", type=int, nargs="+", default=[30, 120])
    parser.add_argument("--segment-seconds", type=float, default=4.0)
    args = parser.parse_args()
    os.environ.update(LOCAL_CREDENTIALS, AWS_DEFAULT_REGION="us-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    load = os.getloadavg()[0]
    with mock_aws():
        clients.client.cache_clear()
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        clients.client("s3").head_bucket(Bucket=BUCKET)
        rows = [run(s, args.segment_seconds) for s in args.durations]
    print(f"{platform.node()}: {os.cpu_count()} CPUs, load average {load:.1f} at the start")
    print(
        "| source | rungs | segments | encoded (held at exit unstreamed) | peak held "
        "| largest segment of every rung together | wall |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['seconds']} s 720p30 | {r['rungs']} | {r['segments']} | "
            f"{r['encoded'] / 1e6:.1f} MB | {r['peak'] / 1e6:.2f} MB "
            f"(watcher saw {r['watcher_peak'] / 1e6:.2f}) | {r['together'] / 1e6:.2f} MB "
            f"| {r['wall']:.0f} s |"
        )


if __name__ == "__main__":
    main()
