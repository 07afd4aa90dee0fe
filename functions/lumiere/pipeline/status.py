"""The asset status machine. Transitions never go backwards; each is a conditional write."""

from __future__ import annotations

from enum import StrEnum


class AssetStatus(StrEnum):
    CREATED = "CREATED"  # upload URL issued, nothing received yet
    UPLOADED = "UPLOADED"  # the object arrived in the uploads bucket
    PROBED = "PROBED"  # ffprobe accepted it; work is planned and queued
    PROCESSING = "PROCESSING"  # renditions are being made
    READY = "READY"
    FAILED = "FAILED"
    DELETED = "DELETED"


TERMINAL: frozenset[AssetStatus] = frozenset(
    {AssetStatus.READY, AssetStatus.FAILED, AssetStatus.DELETED}
)

# to-status -> the statuses it may be entered from
_ALLOWED_FROM: dict[AssetStatus, frozenset[AssetStatus]] = {
    AssetStatus.UPLOADED: frozenset({AssetStatus.CREATED}),
    AssetStatus.PROBED: frozenset({AssetStatus.CREATED, AssetStatus.UPLOADED}),
    # PROCESSING -> PROCESSING: a redelivered task, or a progress update.
    AssetStatus.PROCESSING: frozenset({AssetStatus.PROBED, AssetStatus.PROCESSING}),
    AssetStatus.READY: frozenset({AssetStatus.PROBED, AssetStatus.PROCESSING}),
    AssetStatus.FAILED: frozenset(
        {
            AssetStatus.CREATED,
            AssetStatus.UPLOADED,
            AssetStatus.PROBED,
            AssetStatus.PROCESSING,
        }
    ),
    AssetStatus.DELETED: frozenset(set(AssetStatus) - {AssetStatus.DELETED}),
}


def allowed_from(target: AssetStatus) -> frozenset[AssetStatus]:
    return _ALLOWED_FROM.get(target, frozenset())


def can_transition(current: AssetStatus, target: AssetStatus) -> bool:
    return current in allowed_from(target)
