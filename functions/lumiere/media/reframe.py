"""Turning and cutting a picture before it is fitted into a box, and blurring it after:
the ``rot_``, ``crop_`` and ``bl_`` options of an on-the-fly transformation.

A turn is a quarter turn clockwise (a phone photo whose EXIF said nothing, a scan on its
side). A region is a rectangle in fractions of the turned picture, so it means the same
part of it whatever the size decoded (a draft-scaled JPEG, a video's smallest rendition)
and whatever the resolution an avatar cropper showed the user. Face boxes found on the
upright picture are carried into the region's frame, so smart crop still keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageFilter

ROTATIONS = (0, 90, 180, 270)
_TRANSPOSE = {
    90: Image.Transpose.ROTATE_270,  # Pillow turns anticlockwise
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}
FaceBox = tuple[float, float, float, float]  # left, top, right, bottom in fractions


@dataclass(frozen=True)
class Region:
    """A rectangle in fractions (0..1) of the picture: left, top, width, height."""

    left: float
    top: float
    width: float
    height: float

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The region as a crop box of a ``width`` x ``height`` picture, at least one
        pixel each way, inside the picture."""
        left = min(width - 1, round(self.left * width))
        top = min(height - 1, round(self.top * height))
        right = max(left + 1, min(width, round((self.left + self.width) * width)))
        bottom = max(top + 1, min(height, round((self.top + self.height) * height)))
        return left, top, right, bottom


def turned_size(width: float, height: float, rotation: int) -> tuple[float, float]:
    return (height, width) if rotation in (90, 270) else (width, height)


def reframe(img: Image.Image, rotation: int, region: Region | None) -> Image.Image:
    if rotation:
        img = img.transpose(_TRANSPOSE[rotation])
    if region is not None:
        img = img.crop(region.pixels(img.width, img.height))
    return img


def reframe_faces(
    faces: tuple[FaceBox, ...], rotation: int, region: Region | None
) -> tuple[FaceBox, ...]:
    """Face boxes of the upright picture, in fractions of the turned and cut one; a face
    outside the region is dropped, one across its edge keeps the part inside."""
    kept = []
    for box in faces:
        left, top, right, bottom = _turned_box(box, rotation)
        if region is not None:
            left, right = ((v - region.left) / region.width for v in (left, right))
            top, bottom = ((v - region.top) / region.height for v in (top, bottom))
            left, top = max(0.0, left), max(0.0, top)
            right, bottom = min(1.0, right), min(1.0, bottom)
        if right > left and bottom > top:
            kept.append((left, top, right, bottom))
    return tuple(kept)


def _turned_box(box: FaceBox, rotation: int) -> FaceBox:
    left, top, right, bottom = box
    if rotation == 90:  # clockwise: the left edge becomes the top
        return 1 - bottom, left, 1 - top, right
    if rotation == 180:
        return 1 - right, 1 - bottom, 1 - left, 1 - top
    if rotation == 270:
        return top, 1 - right, bottom, 1 - left
    return box


def blur(img: Image.Image, radius: float) -> Image.Image:
    """A Gaussian blur of ``radius`` pixels (its standard deviation). Transparent pixels
    carry no colour into their neighbours: the blur runs on premultiplied alpha, so a
    cut-out's edge does not grow a dark fringe."""
    if radius <= 0:
        return img
    if img.mode == "RGBA":
        return img.convert("RGBa").filter(ImageFilter.GaussianBlur(radius)).convert("RGBA")
    return img.filter(ImageFilter.GaussianBlur(radius))
