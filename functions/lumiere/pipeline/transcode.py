"""Run one part of an asset (fan-out) and, if it was the last, hand over to the fan-in.

A part is a group of video rungs, the audio renditions, the previews or a still image's
variants (pipeline/plan.py; the producers are in pipeline/parts/). Each publishes its own
files under deterministic keys, so a redelivered part overwrites its earlier attempt. Its
completion is one conditional DynamoDB write that adds it to ``parts_done``; whichever
part completes the set runs pipeline/fan_in.py, which writes the manifests last.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lumiere.cloud.catalogue import Catalogue
from lumiere.cloud.source_proxy import SourceProxy
from lumiere.cloud.storage import delete_prefix, presign_get
from lumiere.config import Settings
from lumiere.errors import MalformedEventError, PartPending, StaleTransitionError
from lumiere.media.ladder import load_preset
from lumiere.media.streams import MediaInfo
from lumiere.pipeline import parts as producers
from lumiere.pipeline.clock import utc_now
from lumiere.pipeline.encryption import content_key, is_encrypted, key_uri
from lumiere.pipeline.fan_in import finish_if_complete
from lumiere.pipeline.job import Job
from lumiere.pipeline.models import TranscodeTask
from lumiere.pipeline.plan import Part
from lumiere.pipeline.status import TERMINAL, AssetStatus


def transcode_part(
    task: TranscodeTask,
    catalogue: Catalogue,
    settings: Settings,
    remaining_ms: Callable[[], int | None] = lambda: None,
    *,
    produce: producers.Producer | None = None,
) -> AssetStatus | None:
    """Returns the asset's final status if this part finished it, else None. ``produce``
    replaces the part's producer (a part that gives up completes with a stand-in)."""
    asset = catalogue.get(task.asset_id)
    if asset is None or AssetStatus(asset["status"]) in TERMINAL:
        return None
    parts = (asset.get("plan") or {}).get("parts") or {}
    if task.part not in parts:
        raise MalformedEventError(f"asset {task.asset_id} has no part {task.part!r}")
    part = Part.from_dict(parts[task.part])
    if task.part in (asset.get("parts_done") or []):
        # A redelivery of a finished part: only the fan-in may still be owed (the worker
        # that completed the set may have died before publishing the manifests).
        return finish_if_complete(asset, catalogue, settings)
    try:
        catalogue.transition(task.asset_id, AssetStatus.PROCESSING, utc_now())
    except StaleTransitionError:
        return None
    work = Path(settings.work_dir) / task.asset_id / task.part
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    presigned = presign_get(
        task.source.bucket,
        task.source.key,
        ttl_seconds=settings.source_url_ttl_seconds,
        version_id=task.source.version_id,
    )
    published: list[str] = []
    encrypted = is_encrypted(asset)
    try:
        with SourceProxy(presigned) as source_url:
            job = Job(
                task=task,
                part=part,
                info=MediaInfo.from_dict(asset["probe"]),
                preset=load_preset((asset.get("plan") or {}).get("preset") or "default"),
                source_url=source_url,
                work=work,
                settings=settings,
                catalogue=catalogue,
                remaining_ms=remaining_ms,
                language=asset.get("language"),
                content_key=content_key(asset, settings) if encrypted else None,
                key_uri=key_uri(settings, task.asset_id) if encrypted else None,
            )
            try:
                output = (produce or producers.PRODUCERS[part.kind])(job, published)
            except PartPending:
                # An outside service finishes this part; its event completes it
                # (pipeline/parts/analysis.py resume_captions).
                return None
        return record_part_done(task.asset_id, task.part, output, published, catalogue, settings)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def record_part_done(
    asset_id: str,
    part: str,
    output: dict[str, Any],
    published: list[str],
    catalogue: Catalogue,
    settings: Settings,
) -> AssetStatus | None:
    """Record a finished part; if it was the last, run the fan-in. Returns the asset's
    final status if this part finished it, else None."""
    try:
        asset = catalogue.complete_part(asset_id, part, utc_now(), output)
    except StaleTransitionError:
        # Failed or deleted meanwhile: take back what this part published.
        for prefix in published:
            delete_prefix(settings.media_bucket, prefix)
        return None
    return finish_if_complete(asset, catalogue, settings)
