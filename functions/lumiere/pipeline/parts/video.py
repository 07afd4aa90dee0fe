"""A video part: a group of ladder rungs from one decode (and the storyboard, when the plan
puts it on this group), measured and published. In a chunked plan, one chunk of the
group's rungs: its segments placed on the whole timeline and published with a record
the fan-in stitches (media/stitch.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from lumiere.cloud.storage import publish_directory
from lumiere.errors import PermanentError, ReasonCode
from lumiere.media.commands import (
    INIT_SEGMENT,
    FrameSpan,
    build_video_group_args,
    video_dirname,
)
from lumiere.media.ladder import Rendition, plan_ladder
from lumiere.media.packaging import as_sealed, package_track
from lumiere.media.stitch import (
    ChunkPlacement,
    SeamError,
    chunk_record_name,
    finish_chunk,
    read_chunk_init,
)
from lumiere.media.storyboard import (
    DEFAULT_TILE_WIDTH,
    Storyboard,
    plan_storyboard,
    storyboard_vtt,
    tile_size,
)
from lumiere.media.streams import VideoStream
from lumiere.media.tools import find_binaries
from lumiere.pipeline import keys
from lumiere.pipeline.job import Job, publish_rendition
from lumiere.pipeline.plan import STORYBOARD, VIDEO, Chunk


def video_part(job: Job, published: list[str]) -> dict[str, Any]:
    video = job.info.primary_video
    if video is None:
        raise PermanentError("The file has no video stream.", reason=ReasonCode.NO_STREAMS)
    renditions = [r for r in plan_ladder(job.info, job.preset) if r.name in job.part.rungs]
    for r in renditions:
        (job.work / video_dirname(r.name)).mkdir()
    if job.part.chunk is not None:
        return _chunk_part(job, published, video, renditions, job.part.chunk)
    storyboard = None
    if STORYBOARD in job.part.extras and job.info.duration:
        board_dir = job.work / "storyboard"
        board_dir.mkdir()
        storyboard = (board_dir, plan_video_storyboard(job.info.duration, video))
    ffmpeg_bin = str(find_binaries().ffmpeg)
    streamer = job.run_streamed(
        build_video_group_args(
            ffmpeg_bin,
            job.source_url,
            video,
            renditions,
            job.work,
            job.hls,
            storyboard=storyboard,
        ),
        job.meter(),
        [job.streamed(job.work / video_dirname(r.name)) for r in renditions],
    )
    tracks = []
    for r in renditions:
        track_dir = job.work / video_dirname(r.name)
        track = package_track(
            track_dir,
            kind=VIDEO,
            frame_rate=r.frame_rate,
            measured=streamer.measured(track_dir),
            sealed=job.sealed,
        )
        tracks.append({**publish_rendition(job, track_dir, published, track), "name": r.name})
    output: dict[str, Any] = {"tracks": tracks}
    if storyboard is not None:
        output["previews"] = publish_storyboard(job, *storyboard, published)
    return output


def plan_video_storyboard(duration: float, video: VideoStream) -> Storyboard:
    width, height = video.display_size
    tile = tile_size(width, height, DEFAULT_TILE_WIDTH, video.sample_aspect_ratio)
    return plan_storyboard(duration, tile=tile)


def publish_storyboard(
    job: Job, board_dir: Path, board: Storyboard, published: list[str]
) -> dict[str, Any]:
    """Write the storyboard's VTT beside the sheets ffmpeg made and publish them; the
    ``previews`` record the catalogue keeps."""
    (board_dir / board.vtt).write_text(storyboard_vtt(board), encoding="utf-8")
    prefix = keys.preview_key(job.task.asset_id, "storyboard/")
    published.append(prefix)
    publish_directory(job.settings.media_bucket, prefix, board_dir)
    return {"storyboard": {**board.to_dict(), "vtt": prefix + board.vtt}}


@dataclass
class _ChunkPlacer:
    """One rendition's ``ChunkPlacement``, made when its first segment is placed: it
    needs the track's timescale, from the init segment ffmpeg writes just before that
    segment (segment_watch)."""

    track_dir: Path
    chunk: Chunk
    rung: str

    @cached_property
    def placement(self) -> ChunkPlacement:
        # Two upload threads may both make it: it is the same value, so no lock.
        init, _ = read_chunk_init(self.track_dir)
        with self.seams():
            return ChunkPlacement.of(
                init,
                index=self.chunk.index,
                first_number=self.chunk.index * self.chunk.segments,
                start_seconds=self.chunk.start,
            )

    def place(self, name: str, data: bytes) -> tuple[str, bytes]:
        placement = self.placement
        with self.seams():
            return placement.place(name, data)

    @contextmanager
    def seams(self) -> Iterator[None]:
        try:
            yield
        except SeamError as e:
            raise PermanentError(
                f"Chunk {self.chunk.index} of the {self.rung} rendition could not be placed: {e}.",
                reason=ReasonCode.PROCESSING_ERROR,
            ) from e


def _chunk_part(
    job: Job,
    published: list[str],
    video: VideoStream,
    renditions: list[Rendition],
    chunk: Chunk,
) -> dict[str, Any]:
    """One chunk of a group's rungs. Each rendition's segments land under the rendition's
    own prefix with their global names as ffmpeg finishes them, then ``chunk_NNNNN.json``
    beside them; only chunk 0 publishes init.mp4 (every chunk writes the same one), and
    none publishes a playlist: the fan-in writes those once every chunk is in."""
    span = FrameSpan(
        chunk.first_frame, chunk.frame_count, chunk.fps, origin=video.start_time or 0.0
    )
    end = chunk.end if chunk.end is not None else job.info.duration
    placers = [_ChunkPlacer(job.work / video_dirname(r.name), chunk, r.name) for r in renditions]
    streamer = job.run_streamed(
        build_video_group_args(
            str(find_binaries().ffmpeg),
            job.source_url,
            video,
            renditions,
            job.work,
            job.hls,
            span=span,
        ),
        job.meter(duration=float(end - chunk.start) if end else None),
        [job.streamed(p.track_dir, p.place) for p in placers],
    )
    chunks = []
    for r, placer in zip(renditions, placers, strict=True):
        track_dir = placer.track_dir
        with placer.seams():
            record = finish_chunk(
                track_dir,
                placer.placement,
                streamer.measured(track_dir),
                expected_segments=chunk.segments if chunk.frame_count is not None else None,
            )
        if job.sealed:  # measured as published, for the stitched BANDWIDTH
            record = replace(record, segments=as_sealed(record.segments))
        if chunk.index != 0:
            (track_dir / INIT_SEGMENT).unlink()
        name = chunk_record_name(chunk.index)
        (track_dir / name).write_text(json.dumps(record.to_dict()), encoding="utf-8")
        prefix = keys.rendition_prefix(job.task.asset_id, track_dir.name)
        published.append(prefix)
        job.seal(track_dir)
        publish_directory(job.settings.media_bucket, prefix, track_dir)
        chunks.append(
            {
                "name": r.name,
                "dirname": track_dir.name,
                "chunk": chunk.index,
                "record": name,
                "frame_rate": r.frame_rate,
            }
        )
    return {"chunks": chunks}
