"""Face detection from several threads at once, as the local stack runs two analysis
workers in one process: each thread must get the answer one thread alone gets, also
when the pictures differ in size (the classifier sizes its scratch state per picture)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

cv2 = pytest.importorskip("cv2")
skimage_data = pytest.importorskip("skimage.data")
faces_module = pytest.importorskip("lumiere.analysis.faces")


def test_concurrent_detections_agree_with_single_ones() -> None:
    big = faces_module.to_gray(skimage_data.astronaut())
    pictures = [big, cv2.resize(big, (320, 320)), cv2.resize(big, (200, 260))]
    alone = [faces_module.detect_faces(p) for p in pictures]
    assert alone[0]  # her face
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: faces_module.detect_faces(pictures[n % 3]), range(18)))
    assert results == [alone[n % 3] for n in range(18)]
