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

from lumiere_dev.client import LumiereClient
from lumiere_dev.samples import make_clip


def api_is_up(api_url: str) -> bool:
    try:
        # Any HTTP answer means something is listening; a 404 for a made-up id is fine.
        requests.get(f"{api_url}/assets/{'0' * 32}", timeout=2)
    except requests.RequestException:
        return False
    return True


def _print_progress(asset: dict[str, Any]) -> None:
    status = asset.get("status")
    progress = asset.get("progress")
    suffix = f" {progress}%" if status == "PROCESSING" and progress is not None else ""
    print(f"  status: {status}{suffix}", flush=True)


def probe_playlist(url: str) -> dict[str, Any]:
    """Read the published HLS as a player would (our own output, so the hls demuxer is
    allowed here, over HTTP only)."""
    argv = [
        str(find_binaries().ffprobe), "-hide_banner", "-v", "error",
        "-protocol_whitelist", "http,https,tcp,tls",
        "-show_streams", "-show_format", "-of", "json", url,
    ]  # fmt: skip
    out = run_tool(argv, timeout=120)
    return dict(json.loads(out))


def run_demo(api_url: str, source: Path | None, *, timeout: float = 600.0) -> int:
    client = LumiereClient(api_url)
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
        print(f"\nPoster:          {poster['url']}")
    if hls:
        print(f"Master playlist: {hls['url']}")
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
            print(f"DASH manifest:   {dash['url']}")
    previews = asset["outputs"].get("previews") or {}
    if previews.get("storyboard"):
        board = previews["storyboard"]
        print(f"Storyboard:      {board['url']} ({board['thumbnails']} thumbnails)")
    if previews.get("animated"):
        print(f"Preview:         {previews['animated']['url']}")
    if previews.get("waveform"):
        print(f"Waveform peaks:  {previews['waveform']['peaks_url']}")
        probed = probe_playlist(hls["url"])
        streams = [
            f"{s['codec_name']} {s.get('width', '')}x{s.get('height', '')}".rstrip("x")
            if s["codec_type"] == "video"
            else s["codec_name"]
            for s in probed["streams"]
        ]
        print(f"ffprobe reads the master playlist: {probed['format']['format_name']}, {streams}")
    print(
        f"\nREADY. Play it with any HLS player, e.g. ffplay {hls['url'] if hls else poster['url']}"
    )
    return 0
