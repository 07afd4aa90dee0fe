"""Chunk encoding with the real ffmpeg, without the stack: the command a chunk part runs,
the identical init segments it relies on, and its segments placed and stitched
(media/stitch.py) into one track that plays as a whole."""

from __future__ import annotations

import hashlib
import itertools
import math
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest
from lumiere.media.commands import FrameSpan, HlsOptions, build_video_group_args, video_dirname
from lumiere.media.isobmff import find, read_fragment
from lumiere.media.ladder import load_preset, plan_ladder
from lumiere.media.probe import build_ffprobe_args, parse_probe
from lumiere.media.stitch import SeamError, place_chunk, stitch
from lumiere.media.streams import MediaInfo
from lumiere.media.tools import find_binaries, run_tool
from lumiere.pipeline.plan import Chunk, ChunkPolicy, chunks_for
from lumiere_dev.file_server import serve_directory

CLIPS = {
    # name: (frame rate, container, timestamp offset)
    "ntsc.mp4": ("30000/1001", "mp4", 0.0),
    # Timestamps from 1.4 s, as MPEG-TS captures have: chunks are cut on the source's
    # own timestamps, so its start time must count.
    "ntsc-offset.mkv": ("30000/1001", "matroska", 1.4),
    # 59.94: the clip's one rung runs at half the rate (below 540p), so chunks must start
    # on its frames too.
    "ntsc60.mp4": ("60000/1001", "mp4", 0.0),
}


@pytest.fixture(scope="module", params=sorted(CLIPS))
def clip(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[str]:
    """A 20 s clip, served over HTTP with byte ranges as the source proxy is."""
    rate, container, offset = CLIPS[request.param]
    folder = tmp_path_factory.mktemp("chunk-encoding")
    path = folder / request.param
    subprocess.run(
        [str(find_binaries().ffmpeg), "-v", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc2=size=320x180:rate={rate}:duration=20",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-output_ts_offset", str(offset), "-f", container, str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    with serve_directory(folder) as base:
        yield f"{base}/{path.name}"


def probe(source: str) -> MediaInfo:
    return parse_probe(
        run_tool(build_ffprobe_args(str(find_binaries().ffprobe), source), timeout=60)
    )


POLICY = ChunkPolicy(threshold_seconds=0, chunk_seconds=8, segment_seconds=4)


@dataclass
class Encoded:
    dirs: list[Path]
    chunks: list[Chunk]
    out_fps: Fraction  # the rung's rate


def encode_chunks(source: str, out: Path) -> Encoded:
    """Each chunk of the clip's one rung (180p, its own size) encoded as a chunk part
    does, the chunks planned as the plan does."""
    info = probe(source)
    video = info.primary_video
    assert video is not None
    ladder = plan_ladder(info, load_preset("default"))
    assert [r.name for r in ladder] == ["180p"]
    chunks = chunks_for(info, POLICY, ladder)
    assert len(chunks) == 3  # 8 s, 8 s, the last 4 s
    dirs = []
    for chunk in chunks:
        root = out / f"c{chunk.index}"
        (root / video_dirname(ladder[0].name)).mkdir(parents=True)
        span = FrameSpan(
            chunk.first_frame, chunk.frame_count, chunk.fps, origin=video.start_time or 0.0
        )
        argv = build_video_group_args(
            str(find_binaries().ffmpeg),
            source,
            video,
            ladder,
            root,
            HlsOptions(segment_seconds=4),
            progress=False,
            span=span,
        )
        run_tool(argv, timeout=120)
        dirs.append(root / video_dirname(ladder[0].name))
    ratio = round(float(chunks[0].fps) / (ladder[0].frame_rate or 1))
    return Encoded(dirs, chunks, chunks[0].fps / ratio)


def test_chunks_share_one_init_and_stitch_into_one_continuous_track(
    clip: str, tmp_path: Path
) -> None:
    encoded = encode_chunks(clip, tmp_path)
    dirs, chunks = encoded.dirs, encoded.chunks
    video = probe(clip).primary_video
    assert video is not None
    assert (video.start_time or 0) == pytest.approx(CLIPS[clip.rsplit("/", 1)[1]][2], abs=0.05)
    inits = {hashlib.sha256((d / "init.mp4").read_bytes()).hexdigest() for d in dirs}
    assert len(inits) == 1  # same local timeline, same settings: byte-identical
    # ffmpeg numbers and times each chunk from zero
    assert read_fragment((dirs[1] / "seg_00000.m4s").read_bytes()).base_decode_time == 0
    records = [
        place_chunk(
            d,
            index=c.index,
            first_number=2 * c.index,
            start_seconds=c.start,
            expected_segments=2 if c.frame_count is not None else None,
        )
        for c, d in zip(chunks, dirs, strict=True)
    ]
    assert not (dirs[1] / "index.m3u8").exists()
    assert sorted(p.name for p in dirs[1].glob("seg_*")) == ["seg_00002.m4s", "seg_00003.m4s"]
    second = (dirs[1] / "seg_00002.m4s").read_bytes()
    assert read_fragment(second).base_decode_time == chunks[1].start * records[0].init.timescale
    mfhd = find(second, "moof/mfhd")
    assert mfhd is not None
    assert int.from_bytes(second[mfhd.payload + 4 : mfhd.payload + 8], "big") == 3
    whole = stitch(records)  # refuses any gap or overlap at a seam
    # numbered without gaps; 5 segments, or 6 when the chunks' rounding (59.94: each 8 s
    # chunk is 478 frames, 7.975 s) leaves the last chunk a few frames past its 4 s
    assert [s.uri for s in whole.segments] == [
        f"seg_{n:05d}.m4s" for n in range(len(whole.segments))
    ]
    assert len(whole.segments) in (5, 6)
    assert all(round(s.duration) <= 4 for s in whole.segments)

    # One file of init + every segment in order plays every frame once, evenly spaced.
    track = tmp_path / "whole.mp4"
    with track.open("wb") as f:
        f.write((dirs[0] / "init.mp4").read_bytes())
        for seg in whole.segments:
            f.write(next(d / seg.uri for d in dirs if (d / seg.uri).exists()).read_bytes())
    out = subprocess.run(
        [str(find_binaries().ffprobe), "-v", "error", "-show_entries", "frame=pts_time",
         "-of", "csv=p=0", str(track)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    times = [float(t.strip(",")) for t in out.split()]
    source_frames = subprocess.run(
        [str(find_binaries().ffprobe), "-v", "error", "-count_frames", "-show_entries",
         "stream=nb_read_frames", "-of", "csv=p=0", clip],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    # every source frame (every other one, for a half-rate rung)
    ratio = int(chunks[0].fps / encoded.out_fps)
    assert len(times) == math.ceil(int(source_frames.strip().strip(",")) / ratio)
    step = float(1 / encoded.out_fps)
    assert all(abs((b - a) - step) < step / 2 for a, b in itertools.pairwise(times))


def test_a_chunk_that_misses_the_segment_grid_is_refused(clip: str, tmp_path: Path) -> None:
    dirs = encode_chunks(clip, tmp_path).dirs
    with pytest.raises(SeamError, match="not 3"):
        place_chunk(
            dirs[0], index=0, first_number=0, start_seconds=Fraction(0), expected_segments=3
        )
    with pytest.raises(SeamError, match="whole tick"):
        place_chunk(
            dirs[1],
            index=1,
            first_number=2,
            start_seconds=Fraction(1, 7),
            expected_segments=2,
        )
