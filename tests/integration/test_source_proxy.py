"""ffmpeg reads uploads through a loopback proxy because the static build cannot resolve
host names. These tests pin down both the problem and the fix."""

from __future__ import annotations

import json

import pytest
import requests
from lumiere.cloud.source_proxy import SourceProxy
from lumiere.errors import ToolError
from lumiere.media.probe import build_ffprobe_args, parse_probe
from lumiere.media.tools import find_binaries, run_tool

from tests.conftest import Media

FFPROBE = str(find_binaries().ffprobe)


def by_name(media_http: str) -> str:
    """The same server, addressed by a host name instead of an IP address."""
    return media_http.replace("127.0.0.1", "localhost")


def test_static_ffprobe_cannot_resolve_a_host_name(media_http: str) -> None:
    with pytest.raises(ToolError) as e:
        run_tool([FFPROBE, "-v", "error", f"{by_name(media_http)}/clip.mp4"], timeout=30)
    assert e.value.returncode in (-11, 139)  # SIGSEGV inside glibc's resolver


def test_through_the_proxy_a_named_host_probes_fine(media_http: str) -> None:
    with SourceProxy(f"{by_name(media_http)}/clip.mp4") as local:
        assert local.startswith("http://127.0.0.1:")
        info = parse_probe(run_tool(build_ffprobe_args(FFPROBE, local), timeout=30))
    assert info.primary_video is not None
    assert info.primary_video.width == 320


def test_ranges_pass_through_and_nothing_else_is_served(media_http: str, media: Media) -> None:
    whole = media.clip.read_bytes()
    with SourceProxy(f"{media_http}/clip.mp4") as local:
        part = requests.get(local, headers={"Range": "bytes=100-199"}, timeout=10)
        assert part.status_code == 206
        assert part.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
        assert part.content == whole[100:200]
        assert requests.get(local, timeout=10).content == whole
        head = requests.head(local, timeout=10)
        assert int(head.headers["Content-Length"]) == len(whole)
        base = local.rsplit("/", 1)[0]
        for other in ("/", "/tone.wav", "/../clip.mp4"):
            assert requests.get(base + other, timeout=10).status_code == 404


def test_upstream_errors_are_passed_on(media_http: str) -> None:
    with SourceProxy(f"{media_http}/missing.mp4") as local:
        assert requests.get(local, timeout=10).status_code == 404


def test_each_proxy_has_its_own_unguessable_path(media_http: str) -> None:
    a, b = SourceProxy(f"{media_http}/clip.mp4"), SourceProxy(f"{media_http}/clip.mp4")
    assert a.path != b.path
    assert len(a.path) > 20
    assert json.dumps(a.url)  # a plain string URL
