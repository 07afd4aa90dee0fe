"""Shared fixtures: generated media (nothing large is committed) and a local HTTP server
for it, since Lumiere's ffmpeg calls accept nothing but HTTP(S) input."""

from __future__ import annotations

import functools
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lumiere_dev.samples import make_clip, make_image, make_tone

REPO = Path(__file__).resolve().parents[1]


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


class _QuietHandler(SimpleHTTPRequestHandler):
    """A static file server that honours single byte ranges, as S3 and CDNs do (ffmpeg
    seeks with them, e.g. to reach an index at the end of an MP4)."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send_head(self):
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if not match or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        start = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        if start >= size:
            self.send_error(416)
            return None
        with path.open("rb") as fh:
            fh.seek(start)
            body = fh.read(end - start + 1)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


@pytest.fixture(scope="session")
def media_http(media: Media) -> Iterator[str]:
    """Base URL serving the generated media over HTTP."""
    handler = functools.partial(_QuietHandler, directory=str(media.dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
