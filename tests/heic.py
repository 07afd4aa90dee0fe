"""Writing HEIC fixtures. Lumiere reads HEIF with pi-heif, which has no encoder; tests
write their HEIC files with pillow-heif's encoder (a dev dependency). pillow-heif's
plugin registers a reader too, so Lumiere's is registered again after it: every HEIC
the tests decode is decoded by pi-heif, as in Lambda."""

from __future__ import annotations

from functools import cache

from lumiere.media.heif import register_heif


@cache
def enable_heic_writing() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()  # Image.save(..., "HEIF"), and a reader
    register_heif.cache_clear()
    register_heif()  # pi-heif takes reading back
