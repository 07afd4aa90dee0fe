"""Shared fixtures: generated media (nothing large is committed) and a local HTTP server
for it, since Lumiere's ffmpeg calls accept nothing but HTTP(S) input."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from lumiere_dev.file_server import serve_directory
from lumiere_dev.samples import make_clip, make_image, make_tone

REPO = Path(__file__).resolve().parents[1]


def without_query(url: str) -> str:
    return urlsplit(url)._replace(query="").geturl()


def unsigned(outputs: Any) -> Any:
    """``outputs`` with every ``*url`` stripped of its query. The API signs URLs per
    response with an expiry that moves with the clock, so two reads of one asset a
    minute apart differ only there."""
    if isinstance(outputs, dict):
        return {
            k: without_query(v) if k.endswith("url") and isinstance(v, str) else unsigned(v)
            for k, v in outputs.items()
        }
    if isinstance(outputs, list):
        return [unsigned(v) for v in outputs]
    return outputs


@dataclass(frozen=True)
class Media:
    dir: Path
    clip: Path  # 320x180 H.264/AAC, 3 s
    silent_clip: Path  # 320x180 H.264, no audio, 2 s
    tone: Path  # stereo WAV, 2 s
    surround: Path  # 160x90 with a quiet 5.1 AAC track, 4 s
    image: Path  # 400x300 PNG
    not_media: Path  # a text file named .mp4
    hls_trap: Path  # an "mp4" that is an HLS playlist naming file:///etc/passwd
    concat_trap: Path  # an "avi" that is an ffconcat script naming /etc/passwd


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    d = tmp_path_factory.mktemp("media")
    (d / "notes.mp4").write_text("These are my meeting notes, not a video.\n" * 20)
    (d / "trap.mp4").write_text(
        "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:10\n"
        "#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
    )
    (d / "trap.avi").write_text("ffconcat version 1.0\nfile '/etc/passwd'\n")
    return Media(
        dir=d,
        clip=make_clip(d / "clip.mp4", seconds=3, width=320, height=180),
        silent_clip=make_clip(d / "silent.mp4", seconds=2, width=320, height=180, audio=False),
        tone=make_tone(d / "tone.wav", seconds=2),
        surround=make_clip(
            d / "surround.mp4", seconds=4, width=160, height=90, channels=6, gain_db=-18
        ),
        image=make_image(d / "image.png", width=400, height=300),
        not_media=d / "notes.mp4",
        hls_trap=d / "trap.mp4",
        concat_trap=d / "trap.avi",
    )


@pytest.fixture(scope="session")
def media_http(media: Media) -> Iterator[str]:
    """Base URL serving the generated media over HTTP (with byte ranges, as S3 does)."""
    with serve_directory(media.dir) as base:
        yield base


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files holding a slow test go first, the one allowed the longest timeout first of
    all. `make test` hands whole files to the xdist workers in this order (with
    --no-loadscope-reorder: xdist's own order puts the files with the most tests first,
    which started the 10-minute chunked encode, two tests, last of all), so a long file
    starts at once instead of running alone at the end while the other workers idle."""
    default_timeout = float(config.getini("timeout") or 0)
    weight: dict[Path, float] = {}
    for item in items:
        if item.get_closest_marker("slow"):
            marker = item.get_closest_marker("timeout")
            timeout = float(marker.args[0]) if marker and marker.args else default_timeout
            weight[item.path] = max(weight.get(item.path, 0.0), timeout)
    items.sort(key=lambda item: (item.path not in weight, -weight.get(item.path, 0.0)))
