"""HEIC/HEIF decoding (iPhone photos) for Pillow, through libheif in pi-heif (the
decode-only build of pillow-heif: same code and API, no encoders).

Registered on first use rather than at import, so processes that never meet an image
(the transcoder on video) do not load libheif and its HEVC decoder.

pi-heif applies the container's ``irot``/``imir`` transforms while decoding and
then sets the EXIF orientation it hands Pillow to 1 (the original is kept in
``info["original_orientation"]``): the picture it returns is already upright, so
``ImageOps.exif_transpose`` leaves it alone and nothing is turned twice. An EXIF
orientation the container does not confirm with irot/imir is ignored, as libheif,
libvips and Apple's readers ignore it: in HEIF the container's transforms are the turn.
"""

from __future__ import annotations

from PIL import Image


def register_heif() -> None:
    """Make pi-heif Pillow's HEIF reader. Checked before every open rather than done
    once: another library in the process may register its own reader over it (imageio
    registers pillow-heif's each time it reads a picture), and the options below would
    be lost with it."""
    from pi_heif.as_plugin import HeifImageFile

    if Image.OPEN.get(HeifImageFile.format, (None,))[0] is HeifImageFile:
        return
    import pi_heif

    # Thumbnails, depth maps and auxiliary images (HDR gain maps) are decoded on demand
    # by pi-heif; Lumiere never uses them, so it never reads them either.
    pi_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
