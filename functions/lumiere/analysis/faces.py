"""Faces in pictures and in frames sampled from a video, with OpenCV's Haar cascades.

Why Haar: the cascades ship inside the ``opencv-python-headless`` wheel
(``cv2.data.haarcascades``), so nothing is downloaded at run time, and they run in a few
milliseconds per 640 px frame on a Lambda CPU. No pip package ships a DNN face model that
loads offline without a much larger dependency. Haar misses small, dark and strongly
turned faces, and gives no calibrated score: boxes carry ``confidence=None``.

Frontal and profile cascades (the profile one on the picture and its mirror image, as it
was trained on one side only) are merged by a cheap non-max suppression.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from lumiere.analysis.commands import build_frames_args, frame_size, parse_showinfo_time
from lumiere.analysis.models import FaceBox
from lumiere.errors import CorruptInputError
from lumiere.media.tools import run_tool_chunks

FRONTAL = "haarcascade_frontalface_alt2.xml"  # fewer false positives than _default
PROFILE = "haarcascade_profileface.xml"
SCALE_FACTOR = 1.1
FRONTAL_MIN_NEIGHBORS = 5
# Profile detections are noisier (ears, door frames): ask for more agreement.
PROFILE_MIN_NEIGHBORS = 7
MIN_FACE_FRACTION = 0.04  # of the picture's shorter side: smaller faces are noise here
MIN_FACE_PIXELS = 24  # the cascades' own training window
MAX_SIDE = 1024  # larger pictures are shrunk first: faster, same normalised boxes
OVERLAP_IOU = 0.3
OVERLAP_CONTAINED = 0.6


# One classifier per thread: detectMultiScale keeps per-call scratch state in the object,
# and two threads sharing one fail with "scaleIdx < scaleData->size()" (seen in the local
# stack, which runs two analysis workers in one process; a Lambda runs one at a time).
_cascades = threading.local()


def _cascade(name: str) -> cv2.CascadeClassifier:
    loaded: dict[str, cv2.CascadeClassifier] = _cascades.__dict__.setdefault("by_name", {})
    if name not in loaded:
        classifier = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        if classifier.empty():
            raise FileNotFoundError(f"OpenCV cascade {name} missing from the wheel")
        loaded[name] = classifier
    return loaded[name]


def to_gray(image: bytes | np.ndarray) -> np.ndarray:
    """8-bit grey from encoded bytes (JPEG, PNG, ...) or an array. Arrays are taken as
    RGB (what ffmpeg's rgb24 and scikit-image give), RGBA, or already grey."""
    if isinstance(image, bytes | bytearray | memoryview):
        decoded = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_GRAYSCALE)
        if decoded is None:
            raise CorruptInputError("the picture could not be decoded")
        return decoded
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(array * (255.0 if array.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if array.ndim == 2:
        return array
    if array.ndim == 3 and array.shape[2] == 4:
        return cv2.cvtColor(array, cv2.COLOR_RGBA2GRAY)
    if array.ndim == 3 and array.shape[2] == 3:
        return cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)
    raise ValueError(f"unsupported image array shape {array.shape}")


@dataclass(frozen=True)
class _Hit:
    box: tuple[int, int, int, int]
    votes: int  # neighbour count: how many overlapping windows agreed
    frontal: bool


def _detect(gray: np.ndarray, name: str, min_neighbors: int, min_size: int) -> list[_Hit]:
    boxes, votes = _cascade(name).detectMultiScale2(
        gray, scaleFactor=SCALE_FACTOR, minNeighbors=min_neighbors, minSize=(min_size, min_size)
    )
    frontal = name == FRONTAL
    return [
        _Hit(tuple(int(v) for v in b), int(n), frontal)  # type: ignore[arg-type]
        for b, n in zip(boxes, votes, strict=True)
    ]


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[float, float]:
    """(IoU, intersection over the smaller box)."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area_a, area_b = a[2] * a[3], b[2] * b[3]
    union = area_a + area_b - inter
    return (inter / union if union else 0.0), (inter / min(area_a, area_b) or 0.0)


def _unmirror(hit: _Hit, width: int) -> _Hit:
    x, y, bw, bh = hit.box
    return _Hit((width - x - bw, y, bw, bh), hit.votes, hit.frontal)


def suppress(hits: list[_Hit]) -> list[_Hit]:
    """Greedy non-max suppression: frontal first, then by votes; a hit overlapping one
    already kept (by IoU, or mostly inside it) is the same face."""
    kept: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: (h.frontal, h.votes), reverse=True):
        if all(
            iou <= OVERLAP_IOU and inside <= OVERLAP_CONTAINED
            for iou, inside in (_overlap(hit.box, k.box) for k in kept)
        ):
            kept.append(hit)
    return kept


def detect_faces(image: bytes | np.ndarray) -> list[FaceBox]:
    """Faces in one picture, as boxes normalised to it, largest first."""
    gray = to_gray(image)
    height, width = gray.shape
    scale = min(1.0, MAX_SIDE / max(height, width))
    if scale < 1.0:
        gray = cv2.resize(gray, (round(width * scale), round(height * scale)), cv2.INTER_AREA)
    # Evens out exposure so backlit and dim faces still match the cascade's features.
    gray = cv2.equalizeHist(gray)
    h, w = gray.shape
    min_size = max(MIN_FACE_PIXELS, round(MIN_FACE_FRACTION * min(h, w)))
    hits = _detect(gray, FRONTAL, FRONTAL_MIN_NEIGHBORS, min_size)
    hits += _detect(gray, PROFILE, PROFILE_MIN_NEIGHBORS, min_size)
    mirrored = _detect(cv2.flip(gray, 1), PROFILE, PROFILE_MIN_NEIGHBORS, min_size)
    hits += [_unmirror(m, w) for m in mirrored]
    faces = [
        FaceBox(x=bx / w, y=by / h, w=bw / w, h=bh / h)
        for bx, by, bw, bh in (hit.box for hit in suppress(hits))
    ]
    return sorted(faces, key=lambda f: f.area, reverse=True)


def faces_in_video(
    frames: Iterable[tuple[float, np.ndarray]],
    detector: Callable[[np.ndarray], list[FaceBox]] = detect_faces,
) -> list[FaceBox]:
    """Faces in each sampled frame, stamped with the frame's time, in time order."""
    found: list[FaceBox] = []
    for time, frame in frames:
        found.extend(
            FaceBox(f.x, f.y, f.w, f.h, confidence=f.confidence, time=time) for f in detector(frame)
        )
    return found


def video_frames(
    ffmpeg_bin: str,
    source_url: str,
    source_size: tuple[int, int],
    *,
    timeout: float | None = None,
    every_seconds: float | None = None,
) -> Iterator[tuple[float, np.ndarray]]:
    """Sampled frames of a video (see ``commands.build_frames_args``) as (seconds, RGB
    array), one frame in memory at a time. ``source_size`` is the probed width, height."""
    width, height = frame_size(*source_size)
    extra = {} if every_seconds is None else {"every_seconds": every_seconds}
    argv = build_frames_args(ffmpeg_bin, source_url, (width, height), **extra)
    times: queue.Queue[float] = queue.Queue()

    def on_stderr(line: str) -> None:
        time = parse_showinfo_time(line)
        if time is not None:
            times.put(time)

    frame_bytes = width * height * 3
    for chunk in run_tool_chunks(
        argv, timeout=timeout, chunk_size=frame_bytes, on_stderr=on_stderr
    ):
        if len(chunk) < frame_bytes:
            break  # a truncated last frame: the stream ended mid-frame
        # showinfo logs a frame before it is written to stdout, so its time is on the
        # stderr pipe already; the reader thread may just not have got to it yet.
        time = times.get(timeout=30)
        yield time, np.frombuffer(chunk, np.uint8).reshape(height, width, 3)
