"""JPEG decoding at any of libjpeg-turbo's DCT scales (1/8, 2/8 ... 8/8), through
simplejpeg: the smallest scale whose picture still covers the requested size.

Pillow's ``Image.draft`` asks libjpeg for 1/2, 1/4 or 1/8 only, so a 4000 px photo's
2048 px variant needs the full 12 MP decode and then a Lanczos pass over all of it.
At 5/8 the inverse DCT itself makes a 2500 px picture (a proper low-pass reduction,
as draft's are), and the Lanczos pass that follows reads 2.6 times fewer pixels:
libvips' shrink-on-load does the same. On the benchmark's 12 MP photos the decode and
the first resize took 96 CPU ms together, against about 160 with Pillow's full decode.

Pillow stays the authority on what a JPEG is. It has already read the header (size,
mode, EXIF, ICC); only pixels come from here, and only for the colour models whose
pixels both decoders agree on (YCbCr or RGB, and greyscale). CMYK and YCCK (Adobe's
inverted CMYK) stay with Pillow. A file libjpeg warns about (extraneous bytes, a
missing end marker) is handed back to Pillow, which decodes what cameras write and
calls damage what it cannot decode, so nothing Pillow accepts is refused here.
"""

from __future__ import annotations

import math

from PIL import Image

# Pillow modes of JPEGs whose pixels simplejpeg gives as Pillow would, by its colourspace.
_COLORSPACES = {"RGB": "RGB", "L": "GRAY"}


def can_decode_scaled(img: Image.Image) -> bool:
    """Whether ``img`` (opened, not loaded) is a JPEG whose pixels come from here."""
    return img.format in ("JPEG", "MPO") and img.mode in _COLORSPACES


def decode_scaled(data: bytes, img: Image.Image, scale: float) -> Image.Image | None:
    """The JPEG ``img`` (opened from ``data``, not yet loaded) decoded at the smallest DCT
    scale at least ``scale`` (0 < scale < 1) in both dimensions, with ``img``'s ``info``
    (EXIF, ICC profile) carried over; None when Pillow must decode it instead."""
    if not can_decode_scaled(img) or not 0 < scale < 1:
        return None
    import simplejpeg  # numpy with it: loaded by the first JPEG, not by every process

    width, height = img.size
    try:
        pixels = simplejpeg.decode_jpeg(
            data,
            colorspace=_COLORSPACES[img.mode],
            min_width=math.ceil(width * scale),
            min_height=math.ceil(height * scale),
            strict=True,
        )
    except ValueError:  # damage, or a warning Pillow's decoder lets pass
        return None
    size = (pixels.shape[1], pixels.shape[0])
    # frombytes copies out of numpy's buffer: the image owns its pixels and stays writable.
    out = Image.frombytes(img.mode, size, pixels, "raw", img.mode)
    out.info = dict(img.info)
    return out
