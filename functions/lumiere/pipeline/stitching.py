"""The fan-in's first step for a chunked video: each rendition's chunks stitched into one
(media playlist, I-frame playlist, track record), before any manifest names it."""

from __future__ import annotations

import json
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lumiere.cloud.storage import PUBLISH_THREADS, put_text, read_object
from lumiere.config import Settings
from lumiere.errors import PermanentError, ReasonCode
from lumiere.media.commands import VARIANT_PLAYLIST
from lumiere.media.hls_crypto import add_key_tag
from lumiere.media.packaging import (
    IFRAME_PLAYLIST,
    TRACK_RECORD,
    PackagedTrack,
    describe_track,
    iframe_playlist,
    media_playlist,
)
from lumiere.media.stitch import ChunkRecord, SeamError, stitch
from lumiere.pipeline import keys
from lumiere.pipeline.encryption import is_encrypted, key_uri
from lumiere.pipeline.plan import VIDEO


def stitch_renditions(
    asset: dict[str, Any], settings: Settings
) -> list[tuple[PackagedTrack, dict[str, Any]]]:
    """Every chunked rendition of the asset, stitched and published (its playlist last);
    each as (track, the summary a part output would have held). Rerunning it rewrites
    the same files, so a redelivered fan-in is safe."""
    entries: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for out in (asset.get("part_outputs") or {}).values():
        for entry in out.get("chunks") or []:
            entries[entry["dirname"]].append(entry)
    stitched = []
    bucket = settings.media_bucket
    for dirname, chunks in sorted(entries.items()):
        prefix = keys.rendition_prefix(asset["asset_id"], dirname)

        def fetch(entry: dict[str, Any], prefix: str = prefix) -> ChunkRecord:
            return ChunkRecord.from_dict(json.loads(read_object(bucket, prefix + entry["record"])))

        # A 2-hour film has 60 records per rendition: read them side by side.
        with ThreadPoolExecutor(max_workers=PUBLISH_THREADS) as pool:
            records = list(pool.map(fetch, chunks))
        try:
            whole = stitch(records)
        except SeamError as e:
            raise PermanentError(
                f"The {chunks[0]['name']} rendition's chunks do not join: {e}.",
                reason=ReasonCode.PROCESSING_ERROR,
            ) from e
        track = describe_track(
            dirname,
            whole.init,
            whole.init_bytes,
            whole.segments,
            kind=VIDEO,
            frame_rate=chunks[0].get("frame_rate"),
        )
        put_text(bucket, prefix + TRACK_RECORD, json.dumps(track.to_dict()))
        playlist = media_playlist(whole.segments)
        if is_encrypted(asset):  # the segments were sealed by their chunks' parts
            playlist = add_key_tag(playlist, key_uri(settings, asset["asset_id"]))
        else:
            put_text(bucket, prefix + IFRAME_PLAYLIST, iframe_playlist(whole.segments))
        put_text(bucket, prefix + VARIANT_PLAYLIST, playlist)
        stitched.append((track, {**track.summary(), "name": chunks[0]["name"]}))
    return stitched
