"""Transcode one asset: renditions, poster, then the master playlist, then READY.

Outputs have deterministic keys, so a redelivered task overwrites its own earlier
attempt. The master playlist is written after every rendition it names is complete.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.source_proxy import SourceProxy
from lumiere.cloud.storage import presign_get, publish_directory, put_file, put_text
from lumiere.config import Settings
from lumiere.errors import (
    PermanentError,
    ReasonCode,
    StaleTransitionError,
    ToolError,
    TransientError,
)
from lumiere.media.commands import (
    VARIANT_PLAYLIST,
    HlsOptions,
    build_audio_rendition_args,
    build_poster_args,
    build_video_rendition_args,
    poster_seek_seconds,
)
from lumiere.media.hls import (
    AAC_LC,
    VariantEntry,
    avc1_codec,
    build_master_playlist,
    measure_variant,
)
from lumiere.media.ladder import load_preset, plan_ladder
from lumiere.media.probe import MediaInfo, MediaKind
from lumiere.media.tools import find_binaries, run_tool, timeout_from_remaining
from lumiere.pipeline import keys
from lumiere.pipeline.clock import utc_now
from lumiere.pipeline.deletion import delete_outputs
from lumiere.pipeline.models import TranscodeTask
from lumiere.pipeline.outcomes import record_ready
from lumiere.pipeline.status import TERMINAL, AssetStatus

log = logging.getLogger(__name__)

POSTER_MAX = (1280, 720)


@dataclass
class _Job:
    task: TranscodeTask
    info: MediaInfo
    source_url: str
    work: Path
    settings: Settings
    catalogue: Catalogue
    remaining_ms: Callable[[], int | None]

    def run(self, argv: list[str]) -> None:
        timeout = timeout_from_remaining(
            self.remaining_ms(), self.settings.tool_timeout_margin_seconds
        )
        try:
            run_tool(argv, timeout=timeout)
        except ToolError as e:
            if e.returncode is None:
                raise TransientError(f"ffmpeg ran out of time: {e}") from e
            raise PermanentError(
                "The file could not be transcoded; it may be damaged or use a feature we do "
                f"not support. ffmpeg said: {e.stderr_tail.strip()[-300:]}",
                reason=ReasonCode.PROCESSING_ERROR,
            ) from e


def transcode_asset(
    task: TranscodeTask,
    catalogue: Catalogue,
    settings: Settings,
    remaining_ms: Callable[[], int | None] = lambda: None,
) -> AssetStatus | None:
    """Returns the asset's final status, or None when the task was a stale duplicate."""
    asset = catalogue.get(task.asset_id)
    if asset is None or AssetStatus(asset["status"]) in TERMINAL:
        return None
    try:
        catalogue.transition(task.asset_id, AssetStatus.PROCESSING, utc_now(), progress=0)
    except StaleTransitionError:
        return None
    work = Path(settings.work_dir) / task.asset_id
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    presigned = presign_get(
        task.source.bucket,
        task.source.key,
        ttl_seconds=settings.source_url_ttl_seconds,
        version_id=task.source.version_id,
    )
    try:
        with SourceProxy(presigned) as source_url:
            job = _Job(
                task=task,
                info=MediaInfo.from_dict(asset["probe"]),
                source_url=source_url,
                work=work,
                settings=settings,
                catalogue=catalogue,
                remaining_ms=remaining_ms,
            )
            outputs = _produce(job)
        record_ready(catalogue, settings, task.asset_id, outputs)
        return AssetStatus.READY
    except StaleTransitionError:
        current = catalogue.get(task.asset_id)
        if current is None or current.get("status") == AssetStatus.DELETED:
            # Deleted while encoding: take back what this run published.
            delete_outputs(task.asset_id, settings)
        return None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _produce(job: _Job) -> dict[str, Any]:
    outputs: dict[str, Any] = {}
    if job.task.kind is MediaKind.IMAGE:
        outputs["poster"] = _poster(job)
        return outputs
    variants = _renditions(job)
    if job.task.kind is MediaKind.VIDEO:
        outputs["poster"] = _poster(job)
    master_key = keys.master_playlist_key(job.task.asset_id)
    put_text(job.settings.media_bucket, master_key, build_master_playlist(variants))
    outputs["hls"] = {
        "master": master_key,
        "renditions": [
            {
                "uri": v.uri,
                "bandwidth": v.stats.peak_bps,
                "average_bandwidth": v.stats.average_bps,
                "codecs": ",".join(v.codecs),
                "width": v.resolution[0] if v.resolution else None,
                "height": v.resolution[1] if v.resolution else None,
                "segments": v.stats.segment_count,
            }
            for v in variants
        ],
    }
    return outputs


@dataclass(frozen=True)
class _RenditionPlan:
    name: str
    argv: list[str]
    codecs: tuple[str, ...]
    resolution: tuple[int, int] | None = None
    frame_rate: float | None = None


def _plan(job: _Job) -> list[_RenditionPlan]:
    ffmpeg_bin = str(find_binaries().ffmpeg)
    hls = HlsOptions(segment_seconds=job.settings.segment_seconds)
    preset = load_preset(job.settings.ladder_preset)
    if job.task.kind is MediaKind.AUDIO:
        out = job.work / "audio"
        args = build_audio_rendition_args(ffmpeg_bin, job.source_url, preset.audio, out, hls)
        return [_RenditionPlan(name="audio", argv=args, codecs=(AAC_LC,))]
    plans = []
    for r in plan_ladder(job.info, preset):
        args = build_video_rendition_args(ffmpeg_bin, job.source_url, r, job.work / r.name, hls)
        video_codec = avc1_codec(r.video.profile, r.video.level)
        plans.append(
            _RenditionPlan(
                name=r.name,
                argv=args,
                codecs=(video_codec, AAC_LC) if r.audio else (video_codec,),
                resolution=(r.width, r.height),
                frame_rate=r.frame_rate,
            )
        )
    return plans


def _renditions(job: _Job) -> list[VariantEntry]:
    plans = _plan(job)
    variants: list[VariantEntry] = []
    for done, plan in enumerate(plans, start=1):
        out = job.work / plan.name
        out.mkdir()
        job.run(plan.argv)
        stats = measure_variant(out / VARIANT_PLAYLIST)
        prefix = f"{keys.hls_prefix(job.task.asset_id)}{plan.name}/"
        publish_directory(job.settings.media_bucket, prefix, out)
        variants.append(
            VariantEntry(
                uri=f"{plan.name}/{VARIANT_PLAYLIST}",
                stats=stats,
                codecs=plan.codecs,
                resolution=plan.resolution,
                frame_rate=plan.frame_rate,
            )
        )
        # Encoding is ~90% of the work; the poster and the master take the rest.
        job.catalogue.set_progress(job.task.asset_id, utc_now(), 90 * done // len(plans))
    return variants


def _poster(job: _Job) -> str:
    path = job.work / "poster.jpg"
    job.run(
        build_poster_args(
            str(find_binaries().ffmpeg),
            job.source_url,
            path,
            seek_seconds=(
                0.0 if job.task.kind is MediaKind.IMAGE else poster_seek_seconds(job.info.duration)
            ),
            max_width=POSTER_MAX[0],
            max_height=POSTER_MAX[1],
        )
    )
    if not path.is_file():
        # ffmpeg exits 0 when a seek lands past the last frame and nothing is written.
        raise PermanentError(
            "No frame could be taken from this file for a poster; it may have no decodable "
            "pictures. Check that it plays, then upload it again.",
            reason=ReasonCode.CORRUPT,
        )
    key = keys.poster_key(job.task.asset_id)
    put_file(job.settings.media_bucket, key, path)
    return key
