"""What the catalogue keeps of an image besides its variants: the dominant colour of a
placeholder box and a ThumbHash of the picture."""

from __future__ import annotations

import base64
import math

from PIL import Image

from lumiere.media.images.model import ImageFacts

# ThumbHash keeps 7x7 luminance terms at most; a 32 px copy holds all of them.
_THUMBHASH_SIZE = 32
_DOMINANT_SIZE = 64


def image_facts(
    small: Image.Image, source_format: str, width: int, height: int, frames: int
) -> ImageFacts:
    return ImageFacts(
        format=source_format,
        width=width,
        height=height,
        has_alpha=small.mode == "RGBA",
        animated=frames > 1,
        frame_count=frames,
        dominant_color=dominant_color(small),
        placeholder=base64.b64encode(thumbhash(small)).decode("ascii"),
    )


def dominant_color(img: Image.Image) -> str:
    """The colour of the largest cluster (median cut, 8 colours) of the opaque pixels,
    which on a photo is the colour a placeholder box should be, unlike the mean."""
    rgba = img.convert("RGBA")
    rgba.thumbnail((_DOMINANT_SIZE, _DOMINANT_SIZE), Image.Resampling.BILINEAR)
    palette_img = rgba.convert("RGB").quantize(8, method=Image.Quantize.MEDIANCUT)
    weights: dict[int, int] = {}
    for index, alpha in zip(palette_img.tobytes(), rgba.getchannel("A").tobytes(), strict=True):
        weights[index] = weights.get(index, 0) + alpha
    best = max(weights, key=lambda i: weights[i]) if any(weights.values()) else 0
    palette = palette_img.getpalette() or [255, 255, 255]
    r, g, b = palette[3 * best : 3 * best + 3]
    return f"#{r:02x}{g:02x}{b:02x}"


def thumbhash(img: Image.Image) -> bytes:
    """ThumbHash (https://evanw.github.io/thumbhash/) of the picture: ~25 bytes that
    decode to a blurred preview with its aspect ratio, average colour and alpha.

    A port of the reference rgbaToThumbHash, with the DCT sums made separable (rows
    first) so pure Python does it in a few milliseconds on a 32 px copy.
    """
    small = img.convert("RGBA")
    small.thumbnail((_THUMBHASH_SIZE, _THUMBHASH_SIZE), Image.Resampling.BOX)
    w, h = small.size
    raw = small.tobytes()
    pixels = [tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)]
    n = w * h
    avg_r = avg_g = avg_b = avg_a = 0.0
    for r, g, b, a in pixels:
        alpha = a / 255
        avg_r += alpha / 255 * r
        avg_g += alpha / 255 * g
        avg_b += alpha / 255 * b
        avg_a += alpha
    if avg_a:
        avg_r, avg_g, avg_b = avg_r / avg_a, avg_g / avg_a, avg_b / avg_a
    has_alpha = avg_a < n
    l_limit = 5 if has_alpha else 7  # fewer luminance terms leave room for alpha
    lx = max(1, round(l_limit * w / max(w, h)))
    ly = max(1, round(l_limit * h / max(w, h)))
    lum, p, q, al = [], [], [], []
    for r, g, b, a in pixels:  # composite on the average colour, then to LPQA
        alpha = a / 255
        rr = avg_r * (1 - alpha) + alpha / 255 * r
        gg = avg_g * (1 - alpha) + alpha / 255 * g
        bb = avg_b * (1 - alpha) + alpha / 255 * b
        lum.append((rr + gg + bb) / 3)
        p.append((rr + gg) / 2 - bb)
        q.append(rr - gg)
        al.append(alpha)
    l_dc, l_ac, l_scale = _dct_channel(lum, w, h, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _dct_channel(p, w, h, 3, 3)
    q_dc, q_ac, q_scale = _dct_channel(q, w, h, 3, 3)
    is_landscape = w > h
    header24 = (
        round(63 * l_dc)
        | (round(31.5 + 31.5 * p_dc) << 6)
        | (round(31.5 + 31.5 * q_dc) << 12)
        | (round(31 * l_scale) << 18)
        | (int(has_alpha) << 23)
    )
    header16 = (
        (ly if is_landscape else lx)
        | (round(63 * p_scale) << 3)
        | (round(63 * q_scale) << 9)
        | (int(is_landscape) << 15)
    )
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    channels = [l_ac, p_ac, q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _dct_channel(al, w, h, 5, 5)
        out.append(round(15 * a_dc) | (round(15 * a_scale) << 4))
        channels.append(a_ac)
    start = len(out)
    index = 0
    for ac in channels:
        for f in ac:
            position = start + (index >> 1)
            if position >= len(out):
                out.append(0)
            out[position] |= round(15 * f) << ((index & 1) << 2)
            index += 1
    return bytes(out)


def _dct_channel(
    channel: list[float], w: int, h: int, nx: int, ny: int
) -> tuple[float, list[float], float]:
    cos_x = [[math.cos(math.pi / w * cx * (x + 0.5)) for x in range(w)] for cx in range(nx)]
    cos_y = [[math.cos(math.pi / h * cy * (y + 0.5)) for y in range(h)] for cy in range(ny)]
    # row_sums[cx][y] = sum over x of channel * cos_x: each term then needs one column.
    rows = [channel[y * w : (y + 1) * w] for y in range(h)]
    row_sums = [
        [sum(v * c for v, c in zip(row, cos_x[cx], strict=True)) for row in rows]
        for cx in range(nx)
    ]
    dc, ac, scale = 0.0, [], 0.0
    for cy in range(ny):
        cx = 0
        while cx * ny < nx * (ny - cy):
            f = sum(s * c for s, c in zip(row_sums[cx], cos_y[cy], strict=True)) / (w * h)
            if cx or cy:
                ac.append(f)
                scale = max(scale, abs(f))
            else:
                dc = f
            cx += 1
    if scale:
        ac = [0.5 + 0.5 / scale * f for f in ac]
    return dc, ac, scale
