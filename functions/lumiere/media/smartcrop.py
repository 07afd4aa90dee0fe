"""Choose where to crop a picture to a new aspect ratio.

Faces win when the caller knows them; otherwise the window keeps the most detailed part
of the picture (edge energy), so a photo of a subject against sky or a wall is never
cropped to the empty side. All the measuring happens on a copy at most 256 px wide, so
the choice costs a few milliseconds whatever the source size.
"""

from __future__ import annotations

from PIL import Image, ImageChops

Box = tuple[int, int, int, int]  # left, top, right, bottom, in pixels of the image given

ANALYSIS_SIZE = 256
# Energy this close to the best counts as a tie; ties go to the window nearest the
# centre, so noise on a flat picture does not push the crop to an edge.
_TIE_TOLERANCE = 0.02


def crop_size(width: int, height: int, target_ratio: float) -> tuple[int, int]:
    """The largest box of width/height ``target_ratio`` that fits in the image."""
    if target_ratio <= 0:
        raise ValueError("target_ratio must be positive")
    if width / height > target_ratio:
        return max(1, min(width, round(height * target_ratio))), height
    return width, max(1, min(height, round(width / target_ratio)))


def choose_crop(image: Image.Image, target_ratio: float, faces: list[Box] | None = None) -> Box:
    """The crop box of ``target_ratio`` (width / height) that keeps what matters."""
    width, height = image.size
    crop_w, crop_h = crop_size(width, height, target_ratio)
    if faces:
        cx, cy = _faces_centre(faces)
    elif (crop_w, crop_h) == (width, height):
        return 0, 0, width, height
    else:
        cx, cy = _detail_centre(image, crop_w, crop_h)
    left = _clamp(round(cx - crop_w / 2), 0, width - crop_w)
    top = _clamp(round(cy - crop_h / 2), 0, height - crop_h)
    return left, top, left + crop_w, top + crop_h


def _faces_centre(faces: list[Box]) -> tuple[float, float]:
    """The area-weighted centre of the faces: a group stays together, and a large face
    near the camera counts for more than a small one in the background."""
    total = cx = cy = 0.0
    for left, top, right, bottom in faces:
        area = max(1, (right - left) * (bottom - top))
        total += area
        cx += area * (left + right) / 2
        cy += area * (top + bottom) / 2
    return cx / total, cy / total


def _detail_centre(image: Image.Image, crop_w: int, crop_h: int) -> tuple[float, float]:
    """The centre of the window, sliding along the one free axis, that holds the most
    edge energy; the picture's centre when it has no detail at all."""
    width, height = image.size
    small = _analysis_copy(image)
    energy = _edge_energy(small)
    scale = small.width / width
    # Energy sample i measures the step between pixels i and i + 1: it sits at i + 0.5.
    if crop_w < width:
        span = max(1, round(crop_w * scale))
        start = _best_window(_column_profile(energy), span)
        return (width / 2 if start is None else (start + 0.5 + span / 2) / scale), height / 2
    span = max(1, round(crop_h * scale))
    start = _best_window(_column_profile(energy.transpose(Image.Transpose.TRANSPOSE)), span)
    return width / 2, (height / 2 if start is None else (start + 0.5 + span / 2) / scale)


def _analysis_copy(image: Image.Image) -> Image.Image:
    gray = image.convert("L") if image.mode not in ("RGBA", "LA", "PA", "P") else None
    if gray is None:
        # Transparent areas are empty, whatever colour hides under the alpha.
        rgba = image.convert("RGBA")
        gray = Image.new("L", image.size, 0)
        gray.paste(rgba.convert("L"), mask=rgba.getchannel("A"))
    factor = max(1, max(gray.size) // (2 * ANALYSIS_SIZE))
    if factor > 1:
        gray = gray.reduce(factor)  # box filter: cheap and enough for measuring detail
    gray.thumbnail((ANALYSIS_SIZE, ANALYSIS_SIZE), Image.Resampling.BILINEAR)
    return gray


def _edge_energy(gray: Image.Image) -> Image.Image:
    """|dx| + |dy| from neighbour differences: no filter border artefacts, which a
    3x3 kernel leaves along the edges and which would pull the crop outwards."""
    w, h = gray.size
    if w < 2 or h < 2:
        return gray
    dx = ImageChops.difference(gray.crop((1, 0, w, h - 1)), gray.crop((0, 0, w - 1, h - 1)))
    dy = ImageChops.difference(gray.crop((0, 1, w - 1, h)), gray.crop((0, 0, w - 1, h - 1)))
    return ImageChops.add(dx, dy)


def _column_profile(energy: Image.Image) -> list[float]:
    # A BOX resize to one row averages each column in C.
    row = energy.resize((energy.width, 1), Image.Resampling.BOX)
    return [float(v) for v in row.tobytes()]  # mode L: one byte per column


def _best_window(profile: list[float], span: int) -> int | None:
    """Where the window of ``span`` samples with the most energy starts; None if the
    profile is flat (no detail) or the window covers it all."""
    n = len(profile)
    if span >= n:
        return None
    sums = [0.0]
    for value in profile:
        sums.append(sums[-1] + value)
    scores = [sums[i + span] - sums[i] for i in range(n - span + 1)]
    best = max(scores)
    if best <= 0:
        return None
    centre = (n - span) / 2
    ties = [i for i, s in enumerate(scores) if s >= best * (1 - _TIE_TOLERANCE)]
    return min(ties, key=lambda i: abs(i - centre))


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))
