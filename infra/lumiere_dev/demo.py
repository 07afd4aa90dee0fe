"""`lumiere demo`: upload -> processed -> playable, exactly as a client would do it."""

from __future__ import annotations

import json
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests
from lumiere.media.tools import find_binaries, run_tool

from lumiere_dev.client import LumiereClient, ffmpeg_cookies
from lumiere_dev.samples import make_clip


def api_is_up(api_url: str) -> bool:
    try:
        # Any HTTP answer means something is listening; a 404 for a made-up id is fine.
        requests.get(f"{api_url}/assets/{'0' * 32}", timeout=2)
    except requests.RequestException:
        return False
    return True


def _shown(url: str) -> str:
    """A media URL for the terminal: its signature (hundreds of characters) elided."""
    plain, _, query = url.partition("?")
    return f"{plain}?<signed>" if "Signature=" in query else url


def _print_progress(asset: dict[str, Any]) -> None:
    status = asset.get("status")
    progress = asset.get("progress")
    suffix = f" {progress}%" if status == "PROCESSING" and progress is not None else ""
    print(f"  status: {status}{suffix}", flush=True)


def probe_playlist(url: str, cookies: str = "") -> dict[str, Any]:
    """Read the published HLS as a player would (our own output, so the hls demuxer is
    allowed here, over HTTP only), with the signed cookies if playback is signed."""
    argv = [
        str(find_binaries().ffprobe), "-hide_banner", "-v", "error",
        "-protocol_whitelist", "http,https,tcp,tls",
        *(["-cookies", cookies] if cookies else []),
        "-show_streams", "-show_format", "-of", "json", url,
    ]  # fmt: skip
    out = run_tool(argv, timeout=120)
    return dict(json.loads(out))


def run_demo(api_url: str, source: Path | None, *, token: str = "", timeout: float = 600.0) -> int:
    client = LumiereClient(api_url, token=token)
    with ExitStack() as stack:
        if source is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lumiere-demo-")))
            print("Making a 6 s 1280x720 test clip with a 440 Hz tone ...", flush=True)
            source = make_clip(tmp / "lumiere-demo.mp4")
        print(f"Uploading {source.name} ({source.stat().st_size:,} bytes) through a presigned POST")
        upload = client.upload_file(source)
        print(f"  asset_id: {upload.asset_id}\n  key:      {upload.key}")
        asset = client.wait_until_final(upload.asset_id, timeout=timeout, on_change=_print_progress)
    if asset["status"] != "READY":
        error = asset.get("error") or {}
        print(f"\nFAILED ({error.get('reason')}): {error.get('message')}", file=sys.stderr)
        return 1
    print("\nMetadata:")
    print(json.dumps(asset.get("probe"), indent=2))
    hls = asset["outputs"].get("hls")
    poster = asset["outputs"].get("poster")
    if poster:
        print(f"\nPoster:          {_shown(poster['url'])}")
    if hls:
        print(f"Master playlist: {_shown(hls['url'])}")
        for r in hls["renditions"]:
            size = f"{r['width']}x{r['height']}@{r.get('frame_rate') or '?'}"
            kbps = r["bandwidth"] / 1000
            print(f"  {r['uri']:<22} {size:>16}  {kbps:>7,.0f} kbit/s peak  {r['codecs']}")
        for a in hls.get("audio", []):
            loud = (a.get("loudness") or {}).get("integrated_lufs")
            measured = f"measured {loud} LUFS -> -16" if loud is not None else "silent"
            print(f"  {a['uri']:<22} {a['name']:>16}  {a['bandwidth'] / 1000:>7,.0f} kbit/s peak  "
                  f"{a['codecs']}  {measured}")  # fmt: skip
        dash = asset["outputs"].get("dash")
        if dash:
            print(f"DASH manifest:   {_shown(dash['url'])}")
    previews = asset["outputs"].get("previews") or {}
    if previews.get("storyboard"):
        board = previews["storyboard"]
        print(f"Storyboard:      {_shown(board['url'])} ({board['thumbnails']} thumbnails)")
    if previews.get("animated"):
        print(f"Preview:         {_shown(previews['animated']['url'])}")
    if previews.get("waveform"):
        print(f"Waveform peaks:  {_shown(previews['waveform']['peaks_url'])}")
    if hls:
        # A signed master URL alone does not play: its relative playlist and segment
        # URIs do not carry the signature. The signed cookies do, for every request.
        play = client.playback(upload.asset_id)
        cookies = ffmpeg_cookies(play.get("cookies", []))
        probed = probe_playlist(play["hls"], cookies)
        streams = [
            f"{s['codec_name']} {s.get('width', '')}x{s.get('height', '')}".rstrip("x")
            if s["codec_type"] == "video"
            else s["codec_name"]
            for s in probed["streams"]
        ]
        print(f"ffprobe reads the master playlist: {probed['format']['format_name']}, {streams}")
        print(
            f"\nREADY. Play it (signed cookies, valid until {play.get('expires_at')} epoch s):\n"
            f"  ffplay -cookies '{cookies.strip()}' {play['hls'].split('?')[0]}"
        )
    else:
        print(f"\nREADY. {poster['url'] if poster else ''}")
    return 0
