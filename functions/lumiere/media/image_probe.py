"""What Pillow says about a still image, from its first bytes only: the header, EXIF and
ICC profile sit at the start of the file, and nothing here decodes pixels."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from lumiere.media.heif import register_heif
from lumiere.media.streams import ImageInfo

_ORIENTATION, _MAKE, _MODEL, _GPS_IFD = 0x0112, 0x010F, 0x0110, 0x8825
_NOT_AN_IMAGE = (
    UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError
)  # fmt: skip


def image_info(head: bytes) -> ImageInfo | None:
    register_heif()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bomb warnings: the pixel limit is checked apart
        try:
            with Image.open(io.BytesIO(head)) as img:
                exif = img.getexif()
                camera = " ".join(
                    str(exif[tag]).strip("\x00 ") for tag in (_MAKE, _MODEL) if exif.get(tag)
                )
                try:
                    frames = still_frame_count(img)
                except (OSError, EOFError, ValueError):
                    frames = 1  # counting frames needs more than the head: say one
                orientation = exif.get(_ORIENTATION)
                return ImageInfo(
                    format=str(img.format),
                    width=img.width,
                    height=img.height,
                    mode=img.mode,
                    orientation=orientation if isinstance(orientation, int) else None,
                    camera=camera or None,
                    has_gps=_GPS_IFD in exif,
                    has_icc_profile=bool(img.info.get("icc_profile")),
                    frame_count=frames,
                )
        except (
            UnidentifiedImageError,
            OSError,
            SyntaxError,
            ValueError,
            Image.DecompressionBombError,
        ):
            return None


def still_frame_count(img: Image.Image) -> int:
    """Frames of an animation, 1 for a still. A HEIF's several top-level pictures are a
    burst or a stereo pair, not an animation (pillow-heif does not read HEIF sequences):
    it counts as one still, its primary picture."""
    if img.format == "HEIF":
        return 1
    return int(getattr(img, "n_frames", 1))
