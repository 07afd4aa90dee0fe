"""Still and animated image processing with Pillow alone: no AWS, no environment.

The package's parts: ``model`` (preset, variant, facts, crop focus), ``decoding``
(opening untrusted bytes, normalising), ``variants`` (the responsive set), ``facts``
(dominant colour, ThumbHash), ``animation`` (animated WebP) and ``on_the_fly`` (the
on-the-fly picture). What other packages use is imported from here.

``make_variants`` turns one upload into the responsive set (every preset width as JPEG,
WebP and AVIF) from a single decode: the pixel limit is checked on the header before
any decoder runs, JPEGs are decoded at the smallest DCT scale that still covers the
widest variant (``Image.draft``), and each width is resized from the previous one (a
cascade), so only the first resize reads the full-size picture. Encoding runs on a few
threads: Pillow releases the GIL inside its codecs and resamplers, so a 2-vCPU Lambda
encodes two variants at once while the next width is being resized.

Every output is upright (EXIF orientation applied), sRGB (an embedded ICC profile is
converted, not kept: browsers assume sRGB for untagged images), 8-bit RGB or RGBA, and
carries no metadata except the preset's allow-list (by default copyright and artist):
no GPS, serial numbers, maker notes, XMP or thumbnails.

Never upscaled: a width wider than the source is skipped, and a source narrower than
the widest preset width gets one more variant at its own width when that is clearly
larger (``native_width_ratio``) than the widest width kept; so a 500 px image gets 160,
320 and 500.
"""

from lumiere.media.images.animation import animated_to_webp
from lumiere.media.images.decoding import (
    decode_for,
    normalise,
    open_image,
    open_upright,
    read_source,
)
from lumiere.media.images.facts import dominant_color, thumbhash
from lumiere.media.images.model import (
    CONTENT_TYPES,
    METADATA_TAGS,
    CropFocus,
    Fit,
    ImageFacts,
    ImagePreset,
    ImageVariantSpec,
    Source,
    Variant,
    can_encode,
    load_image_preset,
    plan_widths,
)
from lumiere.media.images.on_the_fly import transform
from lumiere.media.images.variants import (
    ENCODE_THREADS,
    LANCZOS,
    REDUCING_GAP,
    encode,
    flatten,
    make_variants,
    resize,
)

__all__ = [
    "CONTENT_TYPES",
    "ENCODE_THREADS",
    "LANCZOS",
    "METADATA_TAGS",
    "REDUCING_GAP",
    "CropFocus",
    "Fit",
    "ImageFacts",
    "ImagePreset",
    "ImageVariantSpec",
    "Source",
    "Variant",
    "animated_to_webp",
    "can_encode",
    "decode_for",
    "dominant_color",
    "encode",
    "flatten",
    "load_image_preset",
    "make_variants",
    "normalise",
    "open_image",
    "open_upright",
    "plan_widths",
    "read_source",
    "resize",
    "thumbhash",
    "transform",
]
