"""Posters and a video's previews: both seek, so neither decodes the whole upload."""

from __future__ import annotations

from typing import Any

from lumiere.cloud.storage import put_file
from lumiere.errors import PermanentError, ReasonCode
from lumiere.media.blackframe import is_mostly_black, poster_seek_candidates
from lumiere.media.commands import (
    POSTER_MAX,
    build_animated_preview_args,
    build_poster_args,
    build_storyboard_args,
)
from lumiere.media.streams import MediaKind, VideoStream
from lumiere.media.tools import find_binaries
from lumiere.pipeline import keys
from lumiere.pipeline.job import Job
from lumiere.pipeline.parts.video import plan_video_storyboard, publish_storyboard
from lumiere.pipeline.plan import STORYBOARD


def poster_part(job: Job, published: list[str]) -> dict[str, Any]:
    path = job.work / "poster.jpg"
    seeks = [0.0] if job.task.kind is MediaKind.IMAGE else poster_seek_candidates(job.info.duration)
    first_dark: bytes | None = None
    for seek in seeks:
        path.unlink(missing_ok=True)
        job.run(
            build_poster_args(
                str(find_binaries().ffmpeg),
                job.source_url,
                path,
                seek_seconds=seek,
                max_width=POSTER_MAX[0],
                max_height=POSTER_MAX[1],
            )
        )
        if not path.is_file() or not is_mostly_black(data := path.read_bytes()):
            break
        # A black opening (fade-in, title card): look further in, keep this if all are.
        first_dark = first_dark or data
    else:
        if first_dark is not None:
            path.write_bytes(first_dark)
    if not path.is_file():
        # ffmpeg exits 0 when a seek lands past the last frame and nothing is written.
        raise PermanentError(
            "No frame could be taken from this file for a poster; it may have no decodable "
            "pictures. Check that it plays, then upload it again.",
            reason=ReasonCode.CORRUPT,
        )
    key = keys.poster_key(job.task.asset_id)
    put_file(job.settings.media_bucket, key, path)
    published.append(key)
    return {"poster": key}


def previews_part(job: Job, published: list[str]) -> dict[str, Any]:
    """A video's poster (not a black frame) and a short silent animated preview; both
    seek, so neither decodes the whole upload. A chunked video's storyboard too (the
    plan puts it here: no video part sees the whole timeline)."""
    output = poster_part(job, published)
    path = job.work / "preview.mp4"
    job.run(
        build_animated_preview_args(
            str(find_binaries().ffmpeg), job.source_url, path, duration=job.info.duration
        )
    )
    key = keys.preview_key(job.task.asset_id, "preview.mp4")
    put_file(job.settings.media_bucket, key, path)
    published.append(key)
    previews: dict[str, Any] = {"animated": key}
    video = job.info.primary_video
    if STORYBOARD in job.part.extras and job.info.duration and video is not None:
        previews.update(_storyboard(job, video, published))
    return {**output, "previews": previews}


def _storyboard(job: Job, video: VideoStream, published: list[str]) -> dict[str, Any]:
    """The seek-bar storyboard from a pass of its own; past 10 s between pictures it
    decodes keyframes only, so a long film costs little."""
    assert job.info.duration
    board = plan_video_storyboard(job.info.duration, video)
    board_dir = job.work / "storyboard"
    board_dir.mkdir()
    job.run(
        build_storyboard_args(
            str(find_binaries().ffmpeg),
            job.source_url,
            board_dir,
            interval=board.interval,
            tile_width=board.tile_width,
            tile_height=board.tile_height,
            columns=board.columns,
            rows=board.rows,
            count=board.count,
        )
    )
    return publish_storyboard(job, board_dir, board, published)
