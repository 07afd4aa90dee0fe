"""One picture for the on-the-fly endpoint: turned and cut (media/reframe.py), fitted
into a box (cover around faces, a point or the most detailed region; contain; inside),
blurred, and encoded."""

from __future__ import annotations

from dataclasses import replace

from PIL import Image

from lumiere.errors import InvalidRequestError
from lumiere.media.images.decoding import (
    decode_for,
    normalise,
    open_image,
    read_source,
    upright_size,
)
from lumiere.media.images.model import (
    CONTENT_TYPES,
    CropFocus,
    Fit,
    ImagePreset,
    Source,
    Variant,
    load_image_preset,
)
from lumiere.media.images.variants import LANCZOS, REDUCING_GAP, encode, flatten, resize_to
from lumiere.media.reframe import Region, blur, reframe, reframe_faces, turned_size
from lumiere.media.smartcrop import choose_crop, crop_size

# transform() decodes JPEGs at a DCT scale at least this much larger than the output,
# as Pillow's thumbnail() does. make_variants() uses 1.0: its widest variant is large,
# and libjpeg's scaled IDCT is a proper low-pass filter, so nothing aliases.
TRANSFORM_DRAFT_GAP = 2.0


def transform(
    source: Source,
    *,
    width: int | None = None,
    height: int | None = None,
    fit: Fit = "cover",
    format: str = "webp",  # the word the /img endpoint uses
    quality: int | None = None,
    focus: CropFocus | None = None,
    preset: ImagePreset | None = None,
    background: tuple[int, int, int] = (255, 255, 255),
    rotation: int = 0,
    region: Region | None = None,
    blur_radius: float = 0,
) -> Variant:
    """One picture for the on-the-fly endpoint. Never upscales: when the source is too
    small, the output keeps the requested shape at the largest size the source fills.
    The upright picture is first turned ``rotation`` degrees clockwise and cut to
    ``region`` (media/reframe.py); what follows sees only that part, and the face boxes
    of ``focus`` are carried into it. ``blur_radius`` (pixels of the requested box)
    blurs the result.

    - cover: exactly width x height, cropped around ``focus`` (faces or a point) or,
      without one, around the most detailed region (smartcrop);
    - contain: exactly width x height, the whole picture letterboxed on ``background``;
    - inside: the whole picture, at most width x height, no padding.

    With only a width or a height, the other follows the picture's aspect ratio.
    """
    preset = preset or load_image_preset()
    if width is None and height is None:
        raise InvalidRequestError("Give a width, a height or both.")
    if (width is not None and width < 1) or (height is not None and height < 1):
        raise InvalidRequestError("Width and height must be positive.")
    if fit not in ("cover", "contain", "inside"):
        raise InvalidRequestError(f"Unknown fit {fit!r}: use cover, contain or inside.")
    if format not in CONTENT_TYPES:
        raise InvalidRequestError(f"Unknown image format {format!r}.")
    data = read_source(source)
    img = open_image(data, max_pixels=preset.max_pixels)
    full_w, full_h = upright_size(img)
    # The part kept, in pixels of the full-size source: what the box is fitted to.
    up_w, up_h = turned_size(full_w, full_h, rotation)
    if region is not None:
        up_w, up_h = max(1.0, up_w * region.width), max(1.0, up_h * region.height)
    box_w, box_h = _box(width, height, up_w, up_h)
    asked_w = box_w
    scale = (max if fit == "cover" else min)(box_w / up_w, box_h / up_h)
    # One scale for the whole picture: the decode need be no larger than the part needs.
    img = normalise(decode_for(img, data, full_w, full_w * min(1.0, scale * TRANSFORM_DRAFT_GAP)))
    if rotation or region is not None:
        img = reframe(img, rotation, region)
        if focus is not None and focus.faces:
            focus = replace(focus, faces=reframe_faces(focus.faces, rotation, region))
    if scale > 1:  # the source cannot fill the box: shrink the box, keep its shape
        box_w, box_h = max(1, round(box_w / scale)), max(1, round(box_h / scale))
        scale = 1.0
    if fit == "cover":
        picture = _cover(img, box_w, box_h, focus)
    else:
        size = (max(1, round(up_w * scale)), max(1, round(up_h * scale)))
        picture = resize_to(img, size)
        if fit == "contain" and picture.size != (box_w, box_h):
            picture = _letterbox(picture, box_w, box_h, background)
    if blur_radius:  # as asked of the box, at the size the picture came out
        picture = blur(picture, blur_radius * picture.width / asked_w)
    if format == "jpeg":  # no alpha: the background shows through, not always white
        picture = flatten(picture, background)
    quality = quality if quality is not None else preset.quality.get(format, 80)
    data = encode(
        picture,
        format,
        quality=quality,
        webp_method=preset.webp_method,
        avif_speed=preset.avif_speed,
    )
    return Variant(
        width=picture.width, height=picture.height, format=format, quality=quality, data=data
    )


def _box(width: int | None, height: int | None, up_w: int, up_h: int) -> tuple[int, int]:
    if width is None:
        assert height is not None
        return max(1, round(up_w * height / up_h)), height
    if height is None:
        return width, max(1, round(up_h * width / up_w))
    return width, height


def _cover(img: Image.Image, width: int, height: int, focus: CropFocus | None) -> Image.Image:
    ratio = width / height
    if crop_size(img.width, img.height, ratio) == img.size:
        return resize_to(img, (width, height))
    faces = focus.boxes(img.width, img.height) if focus else None
    box = choose_crop(img, ratio, faces or None)
    return img.resize((width, height), LANCZOS, box=box, reducing_gap=REDUCING_GAP)


def _letterbox(
    picture: Image.Image, width: int, height: int, background: tuple[int, int, int]
) -> Image.Image:
    canvas = Image.new(picture.mode, (width, height), (*background, 255)[: len(picture.mode)])
    canvas.paste(picture, ((width - picture.width) // 2, (height - picture.height) // 2))
    return canvas
