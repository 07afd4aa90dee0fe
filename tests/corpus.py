"""A corpus of hostile and odd uploads, generated on the fly, each with the outcome
Lumiere must reach. Used by the end-to-end corpus test."""

from __future__ import annotations

import io
import os
import random
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from lumiere.media.tools import find_binaries, run_tool
from PIL import Image

from tests.heic import enable_heic_writing


@dataclass(frozen=True)
class Case:
    name: str  # the file name the client sends
    content_type: str  # what the client claims
    path: Path
    status: str  # READY or FAILED
    reason: str | None = None
    kind: str | None = None
    declared_size: int | None = None  # a client that lies about the size


def ffmpeg(*args: str) -> None:
    quiet = ["-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    run_tool([str(find_binaries().ffmpeg), *quiet, *args], timeout=120)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims a size; the pixel data is a few bytes. Decoding it would
    need width*height*3 bytes of memory (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )  # fmt: skip


def heic_declaring(width: int, height: int) -> bytes:
    """A real 64x64 HEIC whose ispe property is rewritten to declare another size: the
    container claims width x height, the coded picture is tiny."""
    enable_heic_writing()
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (255, 0, 0)).save(out, "HEIF", quality=50)
    data = out.getvalue()
    at = data.index(b"ispe") + 8  # after the box type and the FullBox version/flags
    assert struct.unpack(">II", data[at : at + 8]) == (64, 64)
    return data[:at] + struct.pack(">II", width, height) + data[at + 8 :]


class Canary:
    """Notices any attempt to read outside the upload: a FIFO that reports being opened
    for reading, and an HTTP server that records every request."""

    def __init__(self, directory: Path) -> None:
        self.fifo = directory / f"canary-{random.getrandbits(32):08x}"
        os.mkfifo(self.fifo)
        self.opened = False
        self.http_hits: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        hits = self.http_hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "7")
                self.end_headers()
                self.wfile.write(b"secret\n")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/secret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self._thread.start()

    def _watch(self) -> None:
        # Opening a FIFO for writing without blocking succeeds only while a reader has it
        # open: so success means some process opened the canary file.
        while not self._stop.is_set():
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.005)
                continue
            self.opened = True
            os.close(fd)
            return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.server.shutdown()
        self.fifo.unlink(missing_ok=True)


def build_corpus(d: Path, canary: Canary) -> list[Case]:
    cases: list[Case] = []

    def add(name: str, ctype: str, data: bytes | None, status: str, reason: str | None = None,
            kind: str | None = None, declared_size: int | None = None) -> None:  # fmt: skip
        p = d / name
        if data is not None:
            p.write_bytes(data)
        cases.append(Case(name, ctype, p, status, reason, kind, declared_size))

    lavfi_v = ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2"]
    lavfi_a = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2"]
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]

    # a normal clip with the index at the end, and variants cut from it
    ffmpeg(*lavfi_v, *lavfi_a, *x264, "-c:a", "aac", str(d / "moov-at-end.mp4"))
    add("moov-at-end.mp4", "video/mp4", None, "READY", kind="video")
    whole = (d / "moov-at-end.mp4").read_bytes()
    moov = whole.rfind(b"moov")
    add("no-moov.mp4", "video/mp4", whole[: moov - 8], "FAILED", "corrupt")
    ffmpeg(*lavfi_v, *lavfi_a, *x264, "-c:a", "aac", "-movflags", "+faststart", str(d / "fs.mp4"))
    fast = (d / "fs.mp4").read_bytes()
    add("truncated.mp4", "video/mp4", fast[: len(fast) // 3], "READY", kind="video")

    # MPEG-TS: the pinned ffmpeg build crashes on every transport stream, so it is refused
    # by name, with the remux to do, instead of failing as "damaged" after a crash
    ffmpeg(*lavfi_v, *lavfi_a, *x264, "-c:a", "aac", "-f", "mpegts", str(d / "broadcast.ts"))
    add(
        "broadcast.ts",
        "video/mp2t",
        (d / "broadcast.ts").read_bytes(),
        "FAILED",
        "unsupported_format",
    )

    # not media at all, whatever the name says
    # the API refuses size 0, so this client claims 1000 bytes and sends none
    add("empty.mp4", "video/mp4", b"", "FAILED", "empty_file", declared_size=1000)
    noise = random.Random(7).randbytes(65536)
    add("random.mp4", "video/mp4", noise, "FAILED", "unsupported_format")
    add("notes.mov", "video/quicktime", b"Meeting notes\n" * 100, "FAILED", "unsupported_format")
    html = b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>"
    add("page.jpg", "image/jpeg", html, "FAILED", "unsupported_format")
    add("drawing.png", "image/png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
        b'<image href="file:///etc/passwd"/></svg>', "FAILED", "unsupported_format")  # fmt: skip
    add(
        "report.mp4",
        "video/mp4",
        b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n" * 50,
        "FAILED",
        "unsupported_format",
    )
    add(
        "tool.mp4",
        "video/mp4",
        b"\x7fELF\x02\x01\x01" + b"\0" * 4000,
        "FAILED",
        "unsupported_format",
    )
    add("script.mp4", "video/mp4", b"#!/bin/sh\ncat /etc/passwd\n", "FAILED", "unsupported_format")

    # local-file and internal-URL attacks dressed as media
    playlist = (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile://{canary.fifo}\n"
        f"#EXTINF:10.0,\n{canary.url}\n#EXT-X-ENDLIST\n"
    )
    add("playlist.mp4", "video/mp4", playlist.encode(), "FAILED", "unsupported_format")
    add("concat.avi", "video/x-msvideo",
        f"ffconcat version 1.0\nfile '{canary.fifo}'\nfile '{canary.url}'\n".encode(),
        "FAILED", "unsupported_format")  # fmt: skip
    add("sdp.mp4", "video/mp4",
        b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=video 9 RTP/AVP 96\n",
        "FAILED", "unsupported_format")  # fmt: skip

    # absurd sizes
    add("bomb.png", "image/png", png_header_only(60000, 60000), "FAILED", "too_many_pixels")
    add("bomb.heic", "image/heic", heic_declaring(60000, 60000), "FAILED", "too_many_pixels")
    many = [a for i in range(40) for a in ("-map", "1:a")]
    ffmpeg(*lavfi_v, *lavfi_a, "-map", "0:v", *many, *x264, "-c:a", "aac", "-t", "1",
           str(d / "many-streams.mkv"))  # fmt: skip
    add("many-streams.mkv", "video/x-matroska", None, "FAILED", "unsupported_format")

    # real media in a codec outside the decoder allow-list
    ffmpeg(*lavfi_v, "-c:v", "ffv1", str(d / "archive.mkv"))
    add("archive.mkv", "video/x-matroska", None, "FAILED", "unsupported_format")

    # odd but legitimate media
    ffmpeg(*lavfi_a, "-c:a", "aac", str(d / "audio-only.m4a"))
    add("audio-only.m4a", "audio/mp4", None, "READY", kind="audio")
    ffmpeg(*lavfi_v, *x264, str(d / "video-only.mp4"))
    add("video-only.mp4", "video/mp4", None, "READY", kind="video")
    # a phone-style portrait clip: landscape pixels plus a display matrix (ffmpeg 6.0
    # ignores the old "rotate" tag; -display_rotation on the input sets the matrix)
    ffmpeg("-display_rotation", "90", "-i", str(d / "video-only.mp4"), "-c", "copy",
           str(d / "rotated.mp4"))  # fmt: skip
    add("rotated.mp4", "video/mp4", None, "READY", kind="video")
    ffmpeg(*lavfi_v, *lavfi_a, *x264, "-c:a", "aac", "-t", "0.2", str(d / "short.mp4"))
    add("short.mp4", "video/mp4", None, "READY", kind="video")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=2",
           "-vf", "setpts='if(lt(N,30),N/30,1+(N-30)/10)/TB'", "-fps_mode", "vfr", *x264,
           str(d / "vfr.mp4"))  # fmt: skip
    add("vfr.mp4", "video/mp4", None, "READY", kind="video")
    ffmpeg(*lavfi_v, "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "high10",
           "-pix_fmt", "yuv420p10le", str(d / "ten-bit.mp4"))  # fmt: skip
    add("ten-bit.mp4", "video/mp4", None, "READY", kind="video")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=321x181:rate=25:duration=1", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv444p", str(d / "odd-size.mkv"))  # fmt: skip
    add("odd-size.mkv", "video/x-matroska", None, "READY", kind="video")
    ffmpeg(*lavfi_v, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
           *lavfi_a[:0], str(d / "vp9.webm"))  # fmt: skip
    add("vp9.webm", "video/webm", None, "READY", kind="video")
    ffmpeg(*lavfi_a, "-c:a", "libopus", str(d / "opus.webm"))
    add("opus.webm", "audio/webm", None, "READY", kind="audio")
    ffmpeg(*lavfi_a, "-c:a", "libmp3lame", str(d / "song.mp3"))
    add("song.mp3", "audio/mpeg", None, "READY", kind="audio")
    ffmpeg(*lavfi_a, str(d / "tone.wav"))
    add("tone.wav", "audio/wav", None, "READY", kind="audio")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=5:duration=1", str(d / "anim.gif"))
    add("anim.gif", "image/gif", None, "READY", kind="image")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x480:rate=1", "-frames:v", "1", str(d / "p.jpg"))
    polyglot = (d / "p.jpg").read_bytes() + b"PK\x03\x04" + b"\0" * 26 + b"evil.sh" + b"#!/bin/sh\n"
    add("holiday.jpg", "image/jpeg", polyglot, "READY", kind="image")
    # a real photo cut off half way (an interrupted copy): a header that promises pixels
    # the file does not have
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x480:rate=1", "-frames:v", "1", str(d / "p.png"))
    whole_png = (d / "p.png").read_bytes()
    add("cut.png", "image/png", whole_png[: len(whole_png) // 2], "FAILED", "corrupt", kind="image")
    # the same from a phone: the HEIC's header (meta) is whole, its coded picture is not
    enable_heic_writing()
    heic = io.BytesIO()
    Image.open(d / "p.png").save(heic, "HEIF", quality=80)
    cut_heic = heic.getvalue()[: len(heic.getvalue()) * 2 // 3]
    add("cut.heic", "image/heic", cut_heic, "FAILED", "corrupt", kind="image")
    return cases
