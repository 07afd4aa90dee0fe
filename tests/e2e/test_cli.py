"""`lumiere upload|ls|show|rm` as a person runs them: the installed command in a
subprocess, against a running local stack, asserting what it prints."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lumiere_dev.commands import LOCAL_USER
from lumiere_dev.stack import LocalStack
from PIL import Image

from tests.conftest import REPO, Media, unsigned, without_query

LUMIERE = Path(sys.executable).with_name("lumiere")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # Loopback's 127.0.0.1 is opened to imports so `lumiere import` can fetch from the
    # tests' file server (a deployment opens nothing).
    with LocalStack(
        REPO / "template.yaml",
        stack_name="cli",
        web_port=None,
        overrides={"IMPORT_ALLOWED_NETWORKS": "127.0.0.1/32"},
    ) as s:
        yield s


def lumiere(*args: str, api_url: str, token: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LUMIERE_API_URL": api_url, "LUMIERE_TOKEN": token}
    return subprocess.run(
        [str(LUMIERE), *args], capture_output=True, text=True, timeout=300, env=env
    )


@dataclass(frozen=True)
class Uploaded:
    run: subprocess.CompletedProcess[str]
    ids: dict[str, str]  # file name → asset id


@pytest.fixture(scope="module")
def uploaded(stack: LocalStack, media: Media) -> Uploaded:
    run = lumiere(
        "upload", str(media.clip), str(media.image), str(media.not_media), "--interval", "0.2",
        api_url=stack.api_url,
    )  # fmt: skip
    ids = dict(re.findall(r"^(\S+)\s+.*uploaded .* as ([0-9a-f]{32})$", run.stdout, re.M))
    return Uploaded(run, ids)


def test_upload_prints_byte_progress_then_processing_until_final(
    stack: LocalStack, media: Media, uploaded: Uploaded
) -> None:
    out = uploaded.run.stdout
    # one of the three fails (a text file named .mp4), so the command says so by its code
    assert uploaded.run.returncode == 1, uploaded.run.stderr
    assert set(uploaded.ids) == {"clip.mp4", "image.png", "notes.mp4"}
    # byte progress: rising percentages of the clip's real size, ending at 100%
    clip_lines = [line for line in out.splitlines() if line.startswith("clip.mp4")]
    percents = [int(m) for m in re.findall(r"\]\s+(\d+)%\s+uploading", "\n".join(clip_lines))]
    assert percents == sorted(percents)
    assert percents[-1] == 100
    assert len(percents) >= 3
    # processing: the statuses in order, ending READY for media and FAILED for the text
    statuses = [
        m.group(1)
        for line in clip_lines
        if (m := re.search(r"%\s+(CREATED|UPLOADED|PROBED|PROCESSING|READY)\b", line))
    ]
    order = ["CREATED", "UPLOADED", "PROBED", "PROCESSING", "READY"]
    assert statuses[-1] == "READY"
    assert [order.index(s) for s in statuses] == sorted(order.index(s) for s in statuses)
    assert re.search(r"^notes\.mp4 .*FAILED unsupported_format: ", out, re.M)
    # the closing summary: one line per asset, in the order given, with the stream URL
    summary = out.split("\n\n")[-1].strip().splitlines()
    client = stack.api_client(LOCAL_USER)  # whom the CLI signed in as
    clip = client.get_asset(uploaded.ids["clip.mp4"])
    line, url = summary[0].rsplit("  ", 1)
    assert line == f"{uploaded.ids['clip.mp4']}  READY   clip.mp4"
    assert "Signature=" in url  # a link that plays, signed when it was printed
    assert without_query(url) == without_query(clip["outputs"]["hls"]["url"])
    assert summary[1].startswith(f"{uploaded.ids['image.png']}  READY   image.png")
    assert summary[2].startswith(f"{uploaded.ids['notes.mp4']}  FAILED  notes.mp4")


def test_ls_lists_and_filters(stack: LocalStack, uploaded: Uploaded) -> None:
    run = lumiere("ls", api_url=stack.api_url)
    assert run.returncode == 0, run.stderr
    rows = {line.split()[0]: line.split()[1:] for line in run.stdout.splitlines()[1:]}
    assert rows[uploaded.ids["clip.mp4"]][:3] == ["READY", "100%", "video"]
    assert rows[uploaded.ids["image.png"]][:3] == ["READY", "100%", "image"]
    assert rows[uploaded.ids["notes.mp4"]][0] == "FAILED"
    ready = lumiere("ls", "--status", "FAILED", api_url=stack.api_url).stdout
    assert uploaded.ids["notes.mp4"] in ready
    assert uploaded.ids["clip.mp4"] not in ready
    # --limit: that many, newest first, and a word that there are more
    two = lumiere("ls", "--limit", "2", api_url=stack.api_url).stdout.splitlines()
    assert [line.split()[0] for line in two[1:-1]] == list(rows)[:2]
    assert two[-1] == "(more: raise --limit)"
    assert lumiere("ls", "--limit", "0", api_url=stack.api_url).returncode == 2


def test_show_prints_the_outputs_and_json(stack: LocalStack, uploaded: Uploaded) -> None:
    asset_id = uploaded.ids["clip.mp4"]
    asset = stack.api_client(LOCAL_USER).get_asset(asset_id)
    run = lumiere("show", asset_id, api_url=stack.api_url)
    assert run.returncode == 0, run.stderr
    hls = re.search(r"^hls:       (\S+)$", run.stdout, re.M)
    assert hls, run.stdout
    assert without_query(hls.group(1)) == without_query(asset["outputs"]["hls"]["url"])
    for r in asset["outputs"]["hls"]["renditions"]:
        assert re.search(rf"^  {r['name']}\s+{r['width']}x{r['height']} ", run.stdout, re.M)
    assert "video:     h264 320x180 @ 25" in run.stdout
    as_json = lumiere("show", asset_id, "--json", api_url=stack.api_url)
    assert unsigned(json.loads(as_json.stdout)["outputs"]["hls"]) == unsigned(
        asset["outputs"]["hls"]
    )
    image = lumiere("show", uploaded.ids["image.png"], api_url=stack.api_url).stdout
    assert re.search(r"^images:    \d+ variants, widths \[", image, re.M)


def test_visibility_makes_an_asset_public_and_private_again(
    stack: LocalStack, uploaded: Uploaded
) -> None:
    asset_id = uploaded.ids["clip.mp4"]
    run = lumiere("visibility", asset_id, "public", api_url=stack.api_url)
    assert run.returncode == 0, run.stderr
    public_url = f"{stack.media_url}/public/assets/{asset_id}/hls/master.m3u8"
    assert run.stdout.strip() == f"{asset_id} is public: {public_url}"
    shown = lumiere("show", asset_id, api_url=stack.api_url).stdout
    assert "access:    public, encryption none" in shown
    run = lumiere("visibility", asset_id, "private", api_url=stack.api_url)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{asset_id} is private: {stack.media_url}/assets/{asset_id}/")
    refused = lumiere("visibility", asset_id, "everyone", api_url=stack.api_url)
    assert refused.returncode == 2  # argparse: not a choice


def test_image_and_poster_render_a_videos_frame(
    stack: LocalStack, uploaded: Uploaded, tmp_path: Path
) -> None:
    clip = uploaded.ids["clip.mp4"]
    out = tmp_path / "frame.png"
    first = lumiere("image", clip, "w_160,f_png,t_1.5", "-o", str(out), api_url=stack.api_url)
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(
        rf"{out}: 160x90 image/png, [\d.]+ [KM]?B \(cache miss\)", first.stdout.strip()
    )
    with Image.open(out) as frame:
        assert frame.size == (160, 90)
    again = lumiere("image", clip, "w_160,f_png,t_1.5", "-o", str(out), api_url=stack.api_url)
    assert again.stdout.strip().endswith("(cache hit)")
    # f_auto: the CLI accepts what a modern browser does, so the picture is AVIF
    photo = tmp_path / "photo"
    run = lumiere("image", uploaded.ids["image.png"], "w_100", "-o", str(photo),
                  api_url=stack.api_url)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{photo}: 100x75 image/avif, ")
    late = lumiere("image", clip, "w_160,t_30", api_url=stack.api_url)
    assert late.returncode == 1
    assert re.fullmatch(
        r"lumiere: invalid_request: t is past the end of the video, which lasts [\d.]+ s\.",
        late.stderr.strip(),
    )
    # the poster: a chosen moment, then the pipeline's again
    chosen = lumiere("poster", clip, "1.5", api_url=stack.api_url)
    assert chosen.returncode == 0, chosen.stderr
    assert re.fullmatch(
        rf"{clip} poster: \S+/assets/{clip}/poster_t1\.5\.jpg\?\S+", chosen.stdout.strip()
    )
    auto = lumiere("poster", clip, "auto", api_url=stack.api_url)
    assert re.fullmatch(rf"{clip} poster: \S+/assets/{clip}/poster\.jpg\?\S+", auto.stdout.strip())
    assert lumiere("poster", clip, "soon", api_url=stack.api_url).returncode == 2
    # a deployed API's links need its secret, which only its operator has
    no_secret = lumiere("image", clip, "w_160", api_url="https://api.example.invalid")
    assert no_secret.returncode == 2
    assert "give the deployment's ImageSigningSecret" in no_secret.stderr


def test_edit_titles_an_asset_and_ls_and_show_name_it_so(
    stack: LocalStack, uploaded: Uploaded, media: Media
) -> None:
    asset_id = uploaded.ids["image.png"]
    run = lumiere(
        "edit", asset_id, "--title", "Team photo", "--passthrough", "crm-88",
        api_url=stack.api_url,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"{asset_id}  title: Team photo  passthrough: crm-88"
    shown = lumiere("show", asset_id, api_url=stack.api_url).stdout
    assert "title:     Team photo\nname:      image.png (image/png)\npassthru:  crm-88" in shown
    row = [line for line in lumiere("ls", api_url=stack.api_url).stdout.splitlines()
           if line.startswith(asset_id)]  # fmt: skip
    assert row[0].endswith("  Team photo")
    found = lumiere("ls", "-q", "TEAM", api_url=stack.api_url).stdout.splitlines()[1:]
    assert [line.split()[0] for line in found] == [asset_id]
    none = lumiere("ls", "--search", "no-such-words", api_url=stack.api_url).stdout
    assert none.strip() == "Nothing matches 'no-such-words'."
    cleared = lumiere("edit", asset_id, "--title", "", api_url=stack.api_url)
    assert cleared.stdout.strip() == f"{asset_id}  title: -  passthrough: crm-88"
    too_long = lumiere("edit", asset_id, "--title", "x" * 600, api_url=stack.api_url)
    assert too_long.returncode == 1
    assert "invalid_request: title is 600 characters; the limit is 512." in too_long.stderr
    assert lumiere("edit", asset_id, api_url=stack.api_url).returncode == 2  # nothing to change
    two = lumiere(
        "upload", str(media.image), str(media.tone), "--title", "Both", api_url=stack.api_url
    )
    assert two.returncode == 2
    assert "--title names one file" in two.stderr


def test_download_saves_the_original_whole(
    stack: LocalStack, uploaded: Uploaded, media: Media, tmp_path: Path
) -> None:
    target = tmp_path / "copy.png"
    run = lumiere("download", uploaded.ids["image.png"], "-o", str(target), api_url=stack.api_url)
    assert run.returncode == 0, run.stderr
    assert target.read_bytes() == media.image.read_bytes()
    assert run.stdout.startswith(f"{target}: ")
    again = lumiere("download", uploaded.ids["image.png"], "-o", str(target), api_url=stack.api_url)
    assert again.returncode == 2
    assert "exists (--force to replace it)" in again.stderr
    assert not list(tmp_path.glob("*.part"))


def test_import_fetches_urls_and_follows_them_like_uploads(
    stack: LocalStack, media_http: str
) -> None:
    run = lumiere(
        "import", f"{media_http}/clip.mp4?sig=abc", "http://169.254.169.254/latest/meta-data/",
        "--interval", "0.2", api_url=stack.api_url,
    )  # fmt: skip
    # one refused at once (the metadata service is no public server), so exit 1
    assert run.returncode == 1, run.stderr
    assert "REFUSED fetch_refused: url names 169.254.169.254" in run.stdout
    ready = re.search(r"^([0-9a-f]{32})  READY   clip\.mp4  \S+master\.m3u8", run.stdout, re.M)
    assert ready, run.stdout
    shown = lumiere("show", ready.group(1), api_url=stack.api_url).stdout
    assert f"source:    {media_http}/clip.mp4\n" in shown  # without the query
    assert "video:     h264 320x180" in shown


def test_rm_deletes_and_show_then_says_so(stack: LocalStack, uploaded: Uploaded) -> None:
    asset_id = uploaded.ids["notes.mp4"]
    run = lumiere("rm", asset_id, api_url=stack.api_url)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"deleted {asset_id}"
    gone = lumiere("show", asset_id, api_url=stack.api_url)
    assert gone.returncode == 1
    assert f"No asset {asset_id}" in gone.stderr


def test_commands_send_the_token_and_explain_an_unreachable_api() -> None:
    seen: list[str | None] = []

    class Api(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            body = b'{"items": [], "next_cursor": null}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        runs = [
            lumiere("ls", api_url=url, token="env-token"),
            lumiere("ls", "--token", "flag-token", api_url=url),
            lumiere("ls", api_url=url),
        ]
    finally:
        server.shutdown()
        server.server_close()
    assert [r.stdout.strip() for r in runs] == ["No assets."] * 3
    # the raw ID token, as API Gateway's Cognito authorizer takes it
    assert seen == ["env-token", "flag-token", None]
    down = lumiere("ls", api_url=url)
    assert down.returncode == 2
    assert f"cannot reach the API at {url}" in down.stderr
