"""Writing HEIC fixtures. Lumiere reads HEIF with pi-heif, which has no encoder; tests
write their HEIC files with pillow-heif's encoder (a dev dependency). pillow-heif's
plugin registers a reader too; Lumiere registers pi-heif's again before each open
(``register_heif``), so every HEIC the tests decode through Lumiere is decoded by pi-heif,
as in Lambda."""

from __future__ import annotations

from functools import cache


@cache
def enable_heic_writing() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()  # Image.save(..., "HEIF"), and a reader
