"""Segments uploaded while ffmpeg writes them (pipeline/streaming.py), with the real ffmpeg
and moto's S3 in process: uploads land before ffmpeg exits, the work directory's peak does
not grow with the length of the video, a failed upload stops ffmpeg with a TransientError,
and the retry publishes the same keys."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from lumiere.cloud import clients
from lumiere.config import Settings
from lumiere.errors import TransientError
from lumiere.handlers import runtime
from lumiere.media.commands import HlsOptions, build_video_group_args, video_dirname
from lumiere.media.ladder import load_preset, plan_ladder
from lumiere.media.packaging import measure_fragment, package_track
from lumiere.media.probe import build_ffprobe_args, parse_probe
from lumiere.media.streams import MediaInfo, MediaKind
from lumiere.media.tools import find_binaries, run_tool
from lumiere.pipeline import keys, streaming
from lumiere.pipeline.job import Job
from lumiere.pipeline.models import SourceObject, TranscodeTask
from lumiere.pipeline.plan import VIDEO, Part
from lumiere_dev.file_server import serve_directory
from moto import mock_aws

BUCKET = "streaming-media"
ASSET = "0a8f6f0e-5b7e-4f53-9a53-3b5f0c7a9e11"
SHORT, LONG = 6, 24  # seconds: the long source is 4x the short one
# ffmpeg reads its input at most this many times real time, so even on an idle machine
# it runs long enough (1 s for the short source) for a poll to see it running.
READ_RATE = 6
HLS = HlsOptions(segment_seconds=1.0)
REAL_PUT = streaming.put_bytes


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, str]]:
    """640x360 (two rungs: 360p and 240p) with a keyframe each second, served over HTTP
    with byte ranges, as the source proxy serves the upload."""
    folder = tmp_path_factory.mktemp("streaming-sources")
    for seconds in (SHORT, LONG):
        subprocess.run(
            [str(find_binaries().ffmpeg), "-v", "error", "-y", "-f", "lavfi",
             "-i", f"testsrc2=size=640x360:rate=30:duration={seconds}",
             "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p",
             str(folder / f"{seconds}.mp4")],
            check=True, timeout=120,
        )  # fmt: skip
    with serve_directory(folder) as base:
        yield {seconds: f"{base}/{seconds}.mp4" for seconds in (SHORT, LONG)}


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        runtime.reset()  # the cached boto3 clients must be made inside the mock
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        # Made now, not by the first upload: a cold client would hold the first segments
        # back for its start-up (in Lambda it lives across invocations).
        clients.client("s3").head_bucket(Bucket=BUCKET)
        yield s3
    runtime.reset()


def ffmpeg_running() -> bool:
    """Whether a child ffmpeg of this process is alive (not exited, not a zombie)."""
    # A thread or a child can end between the listing and the read: reading its /proc
    # entry then fails with ENOENT or ESRCH (ProcessLookupError); either way it is gone.
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        try:
            pids = children.read_text().split()
        except OSError:
            continue
        for pid in pids:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if cmdline.endswith(b"ffmpeg") and state != "Z":
                return True
    return False


class DirPeak:
    """Polls the size of everything under a directory every 20 ms, independently of
    the streamer; ``peak`` is the most it saw."""

    def __init__(self, root: Path) -> None:
        self.root, self.peak = root, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> DirPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            total = 0
            for path in self.root.rglob("*"):
                try:
                    total += path.stat().st_size if path.is_file() else 0
                except FileNotFoundError:
                    continue
            self.peak = max(self.peak, total)


@dataclass
class Upload:
    key: str
    size: int
    while_running: bool


def make_job(source: str, work: Path) -> tuple[Job, list[str]]:
    info: MediaInfo = parse_probe(
        run_tool(build_ffprobe_args(str(find_binaries().ffprobe), source), timeout=60)
    )
    rungs = plan_ladder(info, load_preset("default"))
    assert [r.name for r in rungs] == ["360p", "240p"]
    work.mkdir()
    for r in rungs:
        (work / video_dirname(r.name)).mkdir()
    video = info.primary_video
    assert video is not None
    argv = build_video_group_args(str(find_binaries().ffmpeg), source, video, rungs, work, HLS)
    # Paced input, test only (see READ_RATE); the rest is the production command.
    at = argv.index("-i")
    argv[at:at] = ["-readrate", str(READ_RATE)]
    job = Job(
        task=TranscodeTask(ASSET, MediaKind.VIDEO, SourceObject("u", "k", 1), "video"),
        part=Part("video", VIDEO, rungs=tuple(r.name for r in rungs)),
        info=info,
        preset=load_preset("default"),
        source_url=source,
        work=work,
        settings=Settings(media_bucket=BUCKET),
        catalogue=None,  # type: ignore[arg-type]  # no progress is reported here
        remaining_ms=lambda: None,
    )
    return job, argv


def record_uploads(monkeypatch: pytest.MonkeyPatch, fail_after: int | None = None) -> list[Upload]:
    uploads: list[Upload] = []

    def put(bucket: str, key: str, data: bytes, content_type: str) -> None:
        if fail_after is not None and len(uploads) >= fail_after:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow"}}, "PutObject")
        uploads.append(Upload(key, len(data), ffmpeg_running()))
        REAL_PUT(bucket, key, data, content_type)

    monkeypatch.setattr(streaming, "put_bytes", put)
    return uploads


def stream(job: Job, argv: list[str]) -> tuple[streaming.SegmentStreamer, int]:
    dirs = sorted(job.work.iterdir())
    with DirPeak(job.work) as peak:
        streamer = job.run_streamed(argv, None, [job.streamed(d) for d in dirs])
    return streamer, peak.peak


def test_segments_reach_s3_while_ffmpeg_runs_and_tmp_stays_bounded(
    sources: dict[int, str], s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    peaks, totals, largest = {}, {}, {}
    for seconds in (SHORT, LONG):
        # GIVEN a job whose two renditions are streamed
        uploads = record_uploads(monkeypatch)
        job, argv = make_job(sources[seconds], tmp_path / f"w{seconds}")
        # WHEN ffmpeg encodes the source
        streamer, peaks[seconds] = stream(job, argv)
        # THEN segments were uploaded while ffmpeg was still running, in order
        assert uploads[0].while_running, "the first upload waited for ffmpeg to exit"
        running = sum(u.while_running for u in uploads)
        print(f"\n{seconds} s: {running} of {len(uploads)} uploads while ffmpeg ran")
        if seconds == LONG:
            assert running >= len(uploads) // 2
        totals[seconds] = sum(u.size for u in uploads)
        largest[seconds] = max(u.size for u in uploads)
        for d in sorted(job.work.iterdir()):
            prefix = keys.rendition_prefix(ASSET, d.name)
            # only what is published with the playlist is left: init and playlist
            assert sorted(p.name for p in d.iterdir()) == ["index.m3u8", "init.mp4"]
            track = package_track(d, kind=VIDEO, measured=streamer.measured(d))
            assert track.segment_count == seconds  # one per second
            # the records made while streaming are what was published
            for n in range(seconds):
                key = f"{prefix}seg_{n:05d}.m4s"
                data = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
                measured = measure_fragment(data, f"seg_{n:05d}.m4s", 0.0)
                assert streamer.measured(d)[f"seg_{n:05d}.m4s"] == measured
            head = s3.head_object(Bucket=BUCKET, Key=f"{prefix}seg_00000.m4s")
            assert head["CacheControl"] == "public, max-age=31536000, immutable"
            assert head["ContentType"] == "video/iso.segment"
        assert streamer.peak_bytes <= peaks[seconds] + largest[seconds] * 2
    print(
        f"\nwork dir peak: {peaks[SHORT]} B for {SHORT} s ({totals[SHORT]} B encoded), "
        f"{peaks[LONG]} B for {LONG} s ({totals[LONG]} B encoded)"
    )
    # The long source made 4x the bytes (what the directory held at the end before
    # streaming); its peak did not follow: the same bound of a few segments (two
    # renditions, each with the one being uploaded and the next) holds for both.
    assert totals[LONG] > 3 * totals[SHORT]
    assert peaks[LONG] < totals[LONG] / 4
    for seconds in (SHORT, LONG):
        assert peaks[seconds] <= 8 * largest[LONG]


def test_a_failed_upload_stops_ffmpeg_and_the_retry_publishes_the_same_keys(
    sources: dict[int, str], s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN S3 that refuses the third segment
    uploads = record_uploads(monkeypatch, fail_after=2)
    job, argv = make_job(sources[LONG], tmp_path / "first")
    started = time.monotonic()
    # WHEN the task runs, THEN it fails as a transient error (SQS retries it) ...
    with pytest.raises(TransientError, match="segment upload failed") as failed:
        stream(job, argv)
    assert isinstance(failed.value.__cause__, ClientError)
    # ... long before the paced encode would have ended, and ffmpeg was stopped: it
    # never wrote its playlists (it does that last) and is no longer running.
    assert time.monotonic() - started < LONG / READ_RATE
    assert not any(job.work.glob("*/index.m3u8"))
    assert not ffmpeg_running()
    assert len(uploads) == 2
    first_keys = {u.key for u in uploads}

    # GIVEN S3 working again, WHEN the task is delivered again (a fresh work directory)
    uploads = record_uploads(monkeypatch)
    job, argv = make_job(sources[LONG], tmp_path / "retry")
    stream(job, argv)
    # THEN it wrote every segment under the same keys, overwriting the first attempt's
    retried = {u.key for u in uploads}
    assert first_keys <= retried
    listed = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert {o["Key"] for o in listed} == retried
    assert len(retried) == 2 * LONG
