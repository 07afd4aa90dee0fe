"""Chunk encoding with the real ffmpeg, without the stack: the command a chunk part runs,
the identical init segments it relies on, and its segments placed and stitched
(media/stitch.py) into one track that plays as a whole."""

from __future__ import annotations

import hashlib
import itertools
import subprocess
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from lumiere.media.commands import FrameSpan, HlsOptions, build_video_group_args, video_dirname
from lumiere.media.isobmff import find, read_fragment
from lumiere.media.ladder import load_preset, plan_ladder
from lumiere.media.probe import build_ffprobe_args, parse_probe
from lumiere.media.stitch import SeamError, place_chunk, stitch
from lumiere.media.tools import find_binaries, run_tool
from lumiere_dev.file_server import serve_directory

FPS = Fraction(30000, 1001)
CHUNK_FRAMES = 240  # round(8 s x 29.97)


@pytest.fixture(scope="module", params=["mp4", "mkv"])
def ntsc_clip(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A 20 s 29.97 fps clip, served over HTTP with byte ranges as the source proxy is.
    The Matroska one's timestamps start at 1.4 s, not zero (as MPEG-TS captures do):
    chunks are cut on the source's own timestamps, so its start time must count."""
    folder = tmp_path_factory.mktemp("chunk-encoding")
    path = folder / f"ntsc.{request.param}"
    subprocess.run(
        [str(find_binaries().ffmpeg), "-v", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=320x180:rate=30000/1001:duration=20",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         *(["-output_ts_offset", "1.4"] if request.param == "mkv" else []), str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    with serve_directory(folder) as base:
        yield f"{base}/{path.name}"


def probe_start(source: str) -> float:
    info = parse_probe(
        run_tool(build_ffprobe_args(str(find_binaries().ffprobe), source), timeout=60)
    )
    assert info.primary_video is not None
    return info.primary_video.start_time or 0.0


def encode_chunks(source: str, out: Path) -> list[Path]:
    """Each chunk of the clip's one rung (180p, its own size) encoded as a chunk part does;
    their directories."""
    info = parse_probe(
        run_tool(build_ffprobe_args(str(find_binaries().ffprobe), source), timeout=60)
    )
    video = info.primary_video
    assert video is not None
    rung = [r for r in plan_ladder(info, load_preset("default")) if r.name == "180p"]
    assert rung, [r.name for r in plan_ladder(info, load_preset("default"))]
    dirs = []
    for k, count in enumerate([CHUNK_FRAMES, CHUNK_FRAMES, None]):
        root = out / f"c{k}"
        (root / video_dirname(rung[0].name)).mkdir(parents=True)
        span = FrameSpan(k * CHUNK_FRAMES, count, FPS, origin=video.start_time or 0.0)
        argv = build_video_group_args(
            str(find_binaries().ffmpeg),
            source,
            video,
            rung,
            root,
            HlsOptions(segment_seconds=4),
            progress=False,
            span=span,
        )
        run_tool(argv, timeout=120)
        dirs.append(root / video_dirname(rung[0].name))
    return dirs


def test_chunks_share_one_init_and_stitch_into_one_continuous_track(
    ntsc_clip: str, tmp_path: Path
) -> None:
    dirs = encode_chunks(ntsc_clip, tmp_path)
    if ntsc_clip.endswith(".mkv"):
        assert probe_start(ntsc_clip) > 1
    inits = {hashlib.sha256((d / "init.mp4").read_bytes()).hexdigest() for d in dirs}
    assert len(inits) == 1  # same local timeline, same settings: byte-identical
    # ffmpeg numbers and times each chunk from zero
    assert read_fragment((dirs[1] / "seg_00000.m4s").read_bytes()).base_decode_time == 0
    records = [
        place_chunk(
            d,
            index=k,
            first_number=2 * k,
            start_seconds=k * CHUNK_FRAMES / FPS,
            expected_segments=2 if k < 2 else None,
        )
        for k, d in enumerate(dirs)
    ]
    assert not (dirs[1] / "index.m3u8").exists()
    assert sorted(p.name for p in dirs[1].glob("seg_*")) == ["seg_00002.m4s", "seg_00003.m4s"]
    second = (dirs[1] / "seg_00002.m4s").read_bytes()
    assert read_fragment(second).base_decode_time == 240 * 1001  # 30 kHz timescale
    mfhd = find(second, "moof/mfhd")
    assert mfhd is not None
    assert int.from_bytes(second[mfhd.payload + 4 : mfhd.payload + 8], "big") == 3
    whole = stitch(records)  # refuses any gap or overlap at a seam
    assert [s.uri for s in whole.segments] == [f"seg_{n:05d}.m4s" for n in range(5)]
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
         "stream=nb_read_frames", "-of", "csv=p=0", ntsc_clip],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert len(times) == int(source_frames.strip().strip(","))
    step = float(1 / FPS)
    assert all(abs((b - a) - step) < step / 2 for a, b in itertools.pairwise(times))


def test_a_chunk_that_misses_the_segment_grid_is_refused(ntsc_clip: str, tmp_path: Path) -> None:
    dirs = encode_chunks(ntsc_clip, tmp_path)
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
