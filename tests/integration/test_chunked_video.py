"""Chunk-parallel encoding end to end through the handlers (moto, real ffmpeg): a long
video is cut into chunks of whole frames, one task per (rung group x chunk), and the
fan-in stitches each rendition. The package must pass the conformance checks and play
as if it had been encoded whole: every source frame once, in order, timestamps
continuous across every seam, one continuous audio track."""

from __future__ import annotations

import io
import itertools
import json
import re
import subprocess
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import numpy as np
import pytest
import requests
from lumiere.handlers import runtime
from lumiere.media.isobmff import read_fragment
from lumiere.media.tools import find_binaries
from lumiere_dev.client import LumiereClient
from lumiere_dev.stack import LocalStack
from PIL import Image

from tests.integration.helpers import assert_package_valid, fetch_package, process_upload

SEGMENT = 4.0
# The seam check compares this many frames on each side of every chunk boundary.
AROUND = 2
GRAY = (128, 72)  # small grayscale pictures: enough to tell neighbouring frames apart


def make_source(path: Path, seconds: int, rate: str, width: int, height: int) -> Path:
    """testsrc2 (a moving picture with a running counter: every frame differs from its
    neighbours) and a tone. Drawn small and scaled up, quick to make and to decode."""
    if path.is_file():
        return path
    ffmpeg = str(find_binaries().ffmpeg)
    small = f"{width // 4}x{height // 4}"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={small}:rate={rate}:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
         "-vf", f"scale={width}:{height}:flags=neighbor",
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "36", "-g", "150",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart",
         str(path)],
        check=True, timeout=300,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chunked-sources")


@pytest.fixture
def chunking(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set the chunk threshold and length the handlers read (their settings are cached)."""

    def configure(threshold: float, chunk: float) -> None:
        monkeypatch.setenv("CHUNK_THRESHOLD_SECONDS", str(threshold))
        monkeypatch.setenv("CHUNK_SECONDS", str(chunk))
        runtime.settings.cache_clear()

    yield configure
    monkeypatch.delenv("CHUNK_THRESHOLD_SECONDS", raising=False)
    monkeypatch.delenv("CHUNK_SECONDS", raising=False)
    runtime.settings.cache_clear()


def frame_times(media: Path) -> list[float]:
    """Every video frame's presentation time, in presentation order: from the packets
    (one per frame), without decoding them again. assert_package_valid has already
    decoded every frame of every rendition, with any decoder complaint (a missing
    reference at a seam) failing the test."""
    ffprobe = str(find_binaries().ffprobe)
    out = subprocess.run(
        [ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
         "-of", "csv=p=0", str(media)],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    return sorted(float(line.split(",")[0]) for line in out.split() if line.strip(","))


def gray_frames(media: Path, count: int, *, seek: float | None = None) -> np.ndarray:
    """``count`` decoded frames as small grayscale pictures: from the start, or from the
    one presented at ``seek`` seconds (less a fraction of a frame: an exact seek lands on
    it; MP4 only, ffmpeg 6.0's HLS reader breaks seeking in fMP4 playlists)."""
    ffmpeg = str(find_binaries().ffmpeg)
    position = ["-ss", f"{seek:.6f}"] if seek is not None else []
    out = subprocess.run(
        [ffmpeg, "-v", "error", *position, "-i", str(media), "-map", "0:v:0",
         "-frames:v", str(count),
         "-vf", f"scale={GRAY[0]}:{GRAY[1]}:flags=area,format=gray",
         "-fps_mode", "passthrough", "-f", "rawvideo", "-"],
        capture_output=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    frames = np.frombuffer(out, dtype=np.uint8).reshape(-1, GRAY[1], GRAY[0])
    assert len(frames) == count, f"asked for {count} frames, got {len(frames)}"
    return frames.astype(np.int16)


def seam_file(track_dir: Path, before: str, after: str, dest: Path) -> tuple[Path, int]:
    """The init segment and the two segments either side of a seam as one MP4, and how
    many frames the first segment holds."""
    with dest.open("wb") as out:
        for name in ("init.mp4", before, after):
            out.write((track_dir / name).read_bytes())
    return dest, read_fragment((track_dir / before).read_bytes()).sample_count


def assert_seams(
    source: Path,
    playlist: Path,
    fps: Fraction,
    boundaries: list[int],
    source_frames: int,
    segments_per_chunk: int,
) -> None:
    """The stitched rendition plays every source frame once, in order, on a continuous
    timeline: the frame count matches, each frame follows the last by one frame duration
    (no gap, overlap or repeat anywhere, seams included), and at every chunk boundary
    the frames either side are the source's frames of the same numbers (a frame dropped
    or repeated at a seam would shift the pictures after it by one)."""
    times = frame_times(playlist)
    assert len(times) == source_frames
    step = 1 / float(fps)
    steps = np.diff(np.array(times))
    worst = float(np.max(np.abs(steps - step)))
    assert worst < step / 2, f"a frame lands {worst:.4f} s off the {step:.4f} s grid"
    for k, b in enumerate(boundaries, start=1):
        first_after = k * segments_per_chunk
        joined, before = seam_file(
            playlist.parent,
            f"seg_{first_after - 1:05d}.m4s",
            f"seg_{first_after:05d}.m4s",
            playlist.parent / f"seam_{k}.mp4",
        )
        out = gray_frames(joined, before + AROUND)[before - AROUND :]
        # the source's frame n is presented at n / fps (ultrafast: no reordering delay)
        src = gray_frames(source, 2 * AROUND + 2, seek=(b - AROUND - 1 - 0.25) * step)
        for i in range(2 * AROUND):
            # rendition frame b - AROUND + i against source frames one either side
            errors = [float(np.mean(np.abs(out[i] - src[i + d]))) for d in (0, 1, 2)]
            assert min(range(3), key=lambda d: errors[d]) == 1, (
                f"frame {b - AROUND + i} (seam at {b}) looks like {errors}"
            )


def assert_segments_on_target(root: Path, dirname: str) -> list[float]:
    text = (root / dirname / "index.m3u8").read_text()
    target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", text).group(1))  # type: ignore[union-attr]
    durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", text)]
    assert target == SEGMENT
    assert all(round(d) <= target for d in durations), durations
    assert text.count("#EXT-X-MAP") == 1
    return durations


def count_frames(path: Path, *, decode: bool = True) -> int:
    """Frames ffprobe reads from a file or an HLS playlist: decoded (-count_frames), or
    just demuxed (-count_packets, for the source: one packet per frame in MP4)."""
    ffprobe = str(find_binaries().ffprobe)
    entry = "nb_read_frames" if decode else "nb_read_packets"
    out = subprocess.run(
        [ffprobe, "-v", "error", "-select_streams", "v:0",
         "-count_frames" if decode else "-count_packets",
         "-show_entries", f"stream={entry}", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    # a playlist lists its stream twice (under its program, then alone)
    return int(out.split()[0].strip(","))


def chunked_asset(
    stack: LocalStack, client: LumiereClient, source: Path, chunks: int
) -> dict[str, Any]:
    asset = process_upload(stack, client, source, "video/mp4", preset="sd")
    assert asset["status"] == "READY", asset.get("error")
    return asset


def plan_of(asset_id: str) -> dict[str, Any]:
    item = runtime.catalogue().get(asset_id)
    assert item is not None
    return dict(item["plan"])


# A 10-minute source through the pipeline and every check: longer than the usual limit.
# At film rate (24 fps): the seams are the same at any rate, and 30 fps would add a
# fifth to the longest test of the suite; the 29.97 fps test below covers NTSC timing.
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ten_minute_720p_source_is_encoded_in_chunks_with_invisible_seams(
    stack: LocalStack, client: LumiereClient, sources: Path, tmp_path: Path, chunking: Any
) -> None:
    chunking(300, 60)
    source = make_source(sources / "ten-minutes.mp4", 600, "24", 1280, 720)
    asset = chunked_asset(stack, client, source, 10)
    parts = plan_of(asset["asset_id"])["parts"]
    video_parts = sorted(p for p in parts if p.startswith("video-"))
    assert video_parts == [f"video-360p-240p-c{k:03d}" for k in range(10)]
    assert {p for p in parts if not p.startswith("video-")} == {"audio", "previews"}

    root = fetch_package(stack, asset["asset_id"], tmp_path / "out")
    assert_package_valid(root)
    source_frames = count_frames(source, decode=False)
    assert source_frames == 14400
    boundaries = [k * 1440 for k in range(1, 10)]
    renditions = asset["outputs"]["hls"]["renditions"]
    assert [(r["width"], r["height"]) for r in renditions] == [(640, 360), (426, 240)]
    lists = []
    for r in renditions:
        dirname = r["uri"].split("/")[0]
        lists.append(assert_segments_on_target(root, dirname))
        assert r["segments"] == 150  # 10 chunks x 15 segments, numbered without gaps
        assert sorted(p.name for p in (root / dirname).glob("seg_*.m4s")) == [
            f"seg_{n:05d}.m4s" for n in range(150)
        ]
    assert lists[0] == lists[1]  # the renditions cut at the same instants
    for r in renditions:
        assert_seams(source, root / r["uri"], Fraction(24), boundaries, source_frames, 15)

    audio = asset["outputs"]["hls"]["audio"]
    assert len(audio) == 1
    record = json.loads((root / audio[0]["uri"].split("/")[0] / "track.json").read_text())
    runs = record["timeline"]
    for (t, d, r), (t_next, _, _) in itertools.pairwise(runs):
        assert t + d * (r + 1) == t_next  # no gap or overlap anywhere in the audio
    assert abs(record["duration"] - 600) < 0.1

    # one storyboard over the whole film (the previews part's pass), its sheets published
    board = asset["outputs"]["previews"]["storyboard"]
    assert board["thumbnails"] == 120  # every 5 s
    response = requests.get(board["url"], timeout=10)
    assert response.status_code == 200
    vtt = response.text
    sheets = sorted(set(re.findall(r"^(\S+\.jpg)#xywh=", vtt, flags=re.MULTILINE)))
    assert len(sheets) == 2  # 100 tiles a sheet
    # The sheets are relative to the signed VTT; a player carries the signature over.
    signature = urlsplit(board["url"]).query
    for sheet in sheets:
        url = f"{urljoin(board['url'], sheet)}?{signature}"
        assert requests.get(url, timeout=10).status_code == 200
    cues = re.findall(r"(\d+):(\d+):([\d.]+) --> (\d+):(\d+):([\d.]+)", vtt)
    spans = [
        (int(a) * 3600 + int(b) * 60 + float(c), int(d) * 3600 + int(e) * 60 + float(f))
        for a, b, c, d, e, f in cues
    ]
    assert spans[0][0] == 0
    assert all(end == nxt for (_, end), (nxt, _) in itertools.pairwise(spans))
    assert abs(spans[-1][1] - 600) < 0.1


def test_ntsc_rate_chunks_join_on_exact_frames(
    stack: LocalStack, client: LumiereClient, sources: Path, tmp_path: Path, chunking: Any
) -> None:
    """29.97 fps: an 8 s chunk is round(8 x 30000/1001) = 240 frames (8.008 s), so the
    chunks start at 8.008 s multiples, not 8 s ones; the seams must still be exact and
    every segment within the 4 s target."""
    chunking(20, 8)
    source = make_source(sources / "ntsc.mp4", 41, "30000/1001", 640, 360)
    asset = chunked_asset(stack, client, source, 5)
    parts = plan_of(asset["asset_id"])["parts"]
    chunks = sorted(p for p in parts if p.startswith("video-"))
    assert len(chunks) == 5  # 41 s = 5.1 chunks: the sliver joins the last
    assert parts[chunks[1]]["chunk"]["first_frame"] == 240
    root = fetch_package(stack, asset["asset_id"], tmp_path / "out")
    assert_package_valid(root)
    source_frames = count_frames(source, decode=False)
    for r in asset["outputs"]["hls"]["renditions"]:
        assert_segments_on_target(root, r["uri"].split("/")[0])
    boundaries = [k * 240 for k in range(1, 5)]
    for r in asset["outputs"]["hls"]["renditions"]:
        assert_seams(source, root / r["uri"], Fraction(30000, 1001), boundaries, source_frames, 2)
    # /img/'s frame at a time is the source frame on screen then, at 29.97 fps, on both
    # sides of a seam and deep in a later chunk (the stitched playlist's times add up)
    secret = stack.environment()["IMAGE_SIGNING_SECRET"]
    step = 1001 / 30000
    for n in (239, 240, 241, 700):
        seconds = f"{(n + 0.5) * step:.3f}"  # mid-frame: frame n is on screen
        rendered = client.render_image(asset["asset_id"], f"w_640,f_png,t_{seconds}", secret=secret)
        picture = Image.open(io.BytesIO(rendered.data)).convert("L").resize(GRAY, Image.BOX)
        got = np.asarray(picture, dtype=np.int16)
        around = gray_frames(source, 3, seek=(n - 1 - 0.25) * step)  # frames n-1, n, n+1
        errors = [float(np.mean(np.abs(got - frame))) for frame in around]
        assert min(range(3), key=lambda i: errors[i]) == 1, (n, seconds, errors)
