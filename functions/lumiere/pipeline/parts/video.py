"""A video part: a group of ladder rungs from one decode (and the storyboard, when the plan
puts it on this group), measured and published."""

from __future__ import annotations

from typing import Any

from lumiere.cloud.storage import publish_directory
from lumiere.errors import PermanentError, ReasonCode
from lumiere.media.commands import build_video_group_args, video_dirname
from lumiere.media.ladder import plan_ladder
from lumiere.media.packaging import package_track
from lumiere.media.storyboard import DEFAULT_TILE_WIDTH, plan_storyboard, storyboard_vtt, tile_size
from lumiere.media.tools import find_binaries
from lumiere.pipeline import keys
from lumiere.pipeline.job import Job, publish_rendition
from lumiere.pipeline.plan import STORYBOARD, VIDEO


def video_part(job: Job, published: list[str]) -> dict[str, Any]:
    video = job.info.primary_video
    if video is None:
        raise PermanentError("The file has no video stream.", reason=ReasonCode.NO_STREAMS)
    renditions = [r for r in plan_ladder(job.info, job.preset) if r.name in job.part.rungs]
    for r in renditions:
        (job.work / video_dirname(r.name)).mkdir()
    storyboard = None
    if STORYBOARD in job.part.extras and job.info.duration:
        board_dir = job.work / "storyboard"
        board_dir.mkdir()
        width, height = video.display_size
        tile = tile_size(width, height, DEFAULT_TILE_WIDTH, video.sample_aspect_ratio)
        storyboard = (board_dir, plan_storyboard(job.info.duration, tile=tile))
    ffmpeg_bin = str(find_binaries().ffmpeg)
    job.run(
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
    )
    tracks = []
    for r in renditions:
        track_dir = job.work / video_dirname(r.name)
        track = package_track(track_dir, kind=VIDEO, frame_rate=r.frame_rate)
        tracks.append({**publish_rendition(job, track_dir, published, track), "name": r.name})
    output: dict[str, Any] = {"tracks": tracks}
    if storyboard is not None:
        board_dir, board = storyboard
        (board_dir / board.vtt).write_text(storyboard_vtt(board), encoding="utf-8")
        prefix = keys.preview_key(job.task.asset_id, "storyboard/")
        published.append(prefix)
        publish_directory(job.settings.media_bucket, prefix, board_dir)
        output["previews"] = {
            "storyboard": {**board.to_dict(), "vtt": prefix + board.vtt},
        }
    return output
