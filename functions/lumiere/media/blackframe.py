"""Reject black posters: a fade-in, a black leader or a dark title card makes a poor
thumbnail, so the poster step tries a few instants until one is not mostly black."""

from __future__ import annotations

import io

from PIL import Image, ImageStat

from lumiere.media.commands import poster_seek_seconds

# Luma 0-255 on the decoded JPEG. Video black is 16 in limited range and JPEG posters are
# full range, so real black lands near 0-20; 32 is ffmpeg blackframe's default threshold.
MAX_BLACK_MEAN = 32.0
# A black frame is also flat: noise and compression ringing stay well under this, while
# a dark scene with any detail in it (a face, a lit window) goes above.
MAX_BLACK_STDDEV = 12.0
# Statistics need no detail: JPEG can decode at 1/8 scale (``draft``), which is fast and
# keeps memory small even for a large picture.
_STATS_SIZE = (160, 160)

# Fallback instants as shares of the duration, after poster_seek_seconds' first pick.
_FALLBACK_SHARES = (0.25, 0.5, 0.75)
# Never seek closer than this to the end: the last frames are often a fade to black.
_END_MARGIN = 0.5


def is_mostly_black(
    jpeg_bytes: bytes,
    *,
    max_mean: float = MAX_BLACK_MEAN,
    max_stddev: float = MAX_BLACK_STDDEV,
) -> bool:
    """True when the picture is dark (mean luma below ``max_mean``) and flat (luma
    standard deviation below ``max_stddev``)."""
    with Image.open(io.BytesIO(jpeg_bytes)) as image:
        image.draft("L", _STATS_SIZE)  # a no-op for formats other than JPEG
        luma = image.convert("L")
        stats = ImageStat.Stat(luma)
    return stats.mean[0] < max_mean and stats.stddev[0] < max_stddev


def poster_seek_candidates(duration: float | None) -> list[float]:
    """Instants to try for the poster, best first: ``poster_seek_seconds`` (a tenth in,
    at most 10 s), then a quarter, half and three quarters of the way through. Short or
    unknown durations give only the first."""
    first = poster_seek_seconds(duration)
    candidates = [first]
    if not duration or duration <= 1.0:  # poster_seek_seconds takes frame 0 there too
        return candidates
    for share in _FALLBACK_SHARES:
        seek = round(duration * share, 3)
        if candidates[-1] < seek <= duration - _END_MARGIN:
            candidates.append(seek)
    return candidates
