"""HLS AES-128 for an asset that asked for it: the one place its renditions are sealed
before they are published (segments encrypted in place, the media playlist keyed), and
what the fan-in leaves out because it cannot work on encrypted segments.

Left out when encrypted, and why: the DASH manifest (DASH players expect CENC, not HLS
AES-128 whole-segment encryption, so an MPD would be unplayable), the I-frame playlists
(their byte ranges cut into a segment encrypted whole) and the MP4 download (it would be
the clear stream again).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lumiere.cloud.content_keys import ContentKeys
from lumiere.config import ENCRYPTION_AES_128, Settings
from lumiere.errors import PermanentError, ReasonCode
from lumiere.media.commands import VARIANT_PLAYLIST
from lumiere.media.hls_crypto import (
    METHOD,
    PlaylistMismatch,
    add_key_tag,
    encrypt_segment,
    segment_sequence,
)
from lumiere.media.packaging import IFRAME_PLAYLIST

NOT_PUBLISHED = {
    "dash": "DASH players expect CENC; HLS AES-128 segments would not play, so no MPD.",
    "iframes": "I-frame playlists address byte ranges inside whole-encrypted segments.",
    "download": "An MP4 download would be the clear stream.",
}


def is_encrypted(asset: dict[str, Any]) -> bool:
    return asset.get("encryption") == ENCRYPTION_AES_128


def key_uri(settings: Settings, asset_id: str) -> str:
    """Where a player fetches the key (the API, which answers only authorised callers)."""
    if not settings.api_url:
        raise PermanentError(
            "This deployment does not know its API's URL (API_URL), which encrypted "
            "playlists must name for their key.",
            reason=ReasonCode.PROCESSING_ERROR,
        )
    return f"{settings.api_url}/assets/{asset_id}/key"


def content_key(asset: dict[str, Any], settings: Settings) -> bytes:
    wrapped = asset.get("content_key")
    if not wrapped or not settings.content_key_id:
        raise PermanentError(
            "The asset is to be encrypted but has no content key.",
            reason=ReasonCode.PROCESSING_ERROR,
        )
    return ContentKeys(settings.content_key_id).unwrap(asset["asset_id"], str(wrapped))


def encryption_record() -> dict[str, Any]:
    """What the asset's outputs say about it."""
    return {"method": METHOD, "not_published": NOT_PUBLISHED}


def seal_segment(name: str, data: bytes, key: bytes) -> bytes:
    """One media segment encrypted whole, its IV the media sequence number its
    published name carries (seg_NNNNN.m4s)."""
    return encrypt_segment(data, key, segment_sequence(name))


def seal_track(track_dir: Path, key: bytes, uri: str) -> None:
    """Encrypt every media segment still in a rendition directory in place (those
    streamed out were sealed on the way: pipeline/streaming.py; init.mp4 stays clear),
    key its media playlist if it has one, and drop its I-frame playlist."""
    for segment in sorted(track_dir.glob("seg_*.m4s")):
        segment.write_bytes(seal_segment(segment.name, segment.read_bytes(), key))
    playlist = track_dir / VARIANT_PLAYLIST
    if playlist.exists():
        try:
            keyed = add_key_tag(playlist.read_text(encoding="utf-8"), uri)
        except PlaylistMismatch as e:
            raise PermanentError(
                f"Cannot encrypt {track_dir.name}: {e}.", reason=ReasonCode.PROCESSING_ERROR
            ) from e
        playlist.write_text(keyed, encoding="utf-8")
    (track_dir / IFRAME_PLAYLIST).unlink(missing_ok=True)
