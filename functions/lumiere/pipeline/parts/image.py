"""The image part of a still upload (see make_image_outputs), with the ffmpeg poster as
the fallback for formats Pillow cannot read."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from lumiere.cloud.storage import put_bytes, put_file, read_object
from lumiere.config import Settings
from lumiere.errors import LimitExceededError, ReasonCode, UnsupportedMediaError
from lumiere.media.commands import build_animation_mp4_args
from lumiere.media.images import animated_to_webp, load_image_preset, make_variants
from lumiere.media.tools import find_binaries
from lumiere.pipeline import keys
from lumiere.pipeline.job import Job
from lumiere.pipeline.models import TranscodeTask
from lumiere.pipeline.parts.previews import poster_part

# Larger than any real photo or scan; a bigger "image" is refused before it is read.
MAX_IMAGE_BYTES = 256 * 1024**2
POSTER_WIDTH = 1280


def image_part(job: Job, published: list[str]) -> dict[str, Any]:
    try:
        output = make_image_outputs(job.task, job.settings, published)
    except UnsupportedMediaError:
        # ffmpeg read it at ingest but Pillow cannot (a rare codec): a poster still.
        return poster_part(job, published)
    if output["images"]["facts"]["animated"]:
        output["images"]["animated_mp4"] = _animation_mp4(job, published)
    return output


def _animation_mp4(job: Job, published: list[str]) -> str:
    path = job.work / "animated.mp4"
    job.run(build_animation_mp4_args(str(find_binaries().ffmpeg), job.source_url, path))
    key = keys.preview_key(job.task.asset_id, path.name)
    put_file(job.settings.media_bucket, key, path)
    published.append(key)
    return key


def make_image_outputs(
    task: TranscodeTask, settings: Settings, published: list[str]
) -> dict[str, Any]:
    if task.source.size > MAX_IMAGE_BYTES:
        raise LimitExceededError(
            f"Images are limited to {MAX_IMAGE_BYTES:,} bytes; this one is {task.source.size:,}.",
            reason=ReasonCode.TOO_LARGE,
        )
    data = read_object(task.source.bucket, task.source.key, task.source.version_id)
    preset = load_image_preset(settings.image_preset)
    preset = type(preset)(**{**asdict(preset), "max_pixels": settings.max_pixels})
    facts, variants = make_variants(data, preset)
    bucket = settings.media_bucket
    shown = []
    for v in variants:
        key = keys.image_variant_key(task.asset_id, v.width, v.extension)
        put_bytes(bucket, key, v.data, v.content_type)
        published.append(key)
        shown.append({"width": v.width, "height": v.height, "format": v.format, "key": key})
    jpegs = sorted((v for v in variants if v.format == "jpeg"), key=lambda v: v.width)
    poster = next((v for v in reversed(jpegs) if v.width <= POSTER_WIDTH), jpegs[0])
    poster_key = keys.poster_key(task.asset_id)
    put_bytes(bucket, poster_key, poster.data, poster.content_type)
    published.append(poster_key)
    widest = max(variants, key=lambda v: (v.width, v.format == "webp"))
    images: dict[str, Any] = {
        "facts": asdict(facts),
        "variants": shown,
        # What /img/ transformations start from: already upright, sRGB, stripped.
        "transform_source": keys.image_variant_key(task.asset_id, widest.width, widest.extension),
    }
    if facts.animated:
        key = keys.preview_key(task.asset_id, "animated.webp")
        put_bytes(bucket, key, animated_to_webp(data, preset), "image/webp")
        published.append(key)
        images["animated"] = key
    return {"poster": poster_key, "images": images}
