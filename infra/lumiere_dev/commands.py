"""`lumiere upload|ls|show|edit|image|poster|download|rm`: the web app's operations from a
terminal, against the local stack or a deployed API (--api-url/--token or
LUMIERE_API_URL/LUMIERE_TOKEN)."""

from __future__ import annotations

import argparse
import io
import json
import mimetypes
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from PIL import Image

from lumiere_dev.client import FINAL_STATUSES, ApiError, LumiereClient, local_token
from lumiere_dev.progress import ProgressBoard

# Types Python's table lacks or gets wrong for media people upload.
EXTRA_TYPES = {".mkv": "video/x-matroska", ".m4a": "audio/mp4", ".heic": "image/heic"}


def content_type_for(path: Path) -> str:
    return (
        EXTRA_TYPES.get(path.suffix.lower())
        or mimetypes.guess_type(path.name)[0]
        or "application/octet-stream"
    )


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


# The API's largest page (GET /assets?limit=); `ls --limit` may ask for more.
MAX_PAGE = 100

# Who the CLI signs in as on a local stack when given no token (as `lumiere token`).
LOCAL_USER = "developer"


def _is_local(api_url: str) -> bool:
    return urlsplit(api_url).hostname in ("127.0.0.1", "localhost", "::1")


def _client(args: argparse.Namespace) -> LumiereClient:
    """A client with the given token; without one, a local stack's development token
    (its stand-in user pool answers on loopback only), else none (a deployed API then
    says 401: pass --token or LUMIERE_TOKEN)."""
    token = args.token or None
    if token is None and _is_local(args.api_url):
        try:
            token = local_token(args.api_url, LOCAL_USER)
        except (ApiError, requests.RequestException):
            token = None
    return LumiereClient(args.api_url, token=token)


def _error_text(e: ApiError) -> str:
    body = e.body
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return f"{err.get('reason')}: {err.get('message')}"
        if body.get("Message"):
            return str(body["Message"])
    return f"HTTP {e.status}"


def _choices(args: argparse.Namespace) -> dict[str, Any]:
    """What `upload` and `import` let the owner choose (see _asset_options)."""
    return {
        "preset": args.preset,
        "language": args.language,
        "visibility": "public" if args.public else None,
        "encryption": "aes-128" if args.encrypt else None,
        "title": args.title,
        "passthrough": args.passthrough,
    }


def cmd_upload(args: argparse.Namespace) -> int:
    client = _client(args)
    board = ProgressBoard()
    paths = [Path(f) for f in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"lumiere: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.title and len(paths) > 1:
        print("lumiere: --title names one file; upload the others separately", file=sys.stderr)
        return 2
    assets: dict[str, str] = {}  # asset id → row key
    failed = 0
    for n, path in enumerate(paths):
        key = f"{n}:{path.name}"
        board.add(key, path.name)
        size = path.stat().st_size

        def progress(sent: int, total: int, key: str = key) -> None:
            board.update(
                key,
                fraction=sent / total if total else 1.0,
                text=f"uploading {_size(sent)} of {_size(total)}",
            )

        try:
            result = client.upload_file(
                path, content_type=content_type_for(path), on_progress=progress, **_choices(args)
            )
        except ApiError as e:
            board.update(key, text=f"REFUSED {_error_text(e)}")
            failed += 1
            continue
        board.update(key, fraction=1.0, text=f"uploaded {_size(size)} as {result.asset_id}")
        assets[result.asset_id] = key
    if args.no_wait or not assets:
        return 1 if failed else 0
    return _follow(client, board, assets, args, failed)


def _follow(
    client: LumiereClient,
    board: ProgressBoard,
    assets: dict[str, str],
    args: argparse.Namespace,
    failed: int,
) -> int:
    """Every asset's status and progress on its row until each is final, then a line
    each; 1 when any (or ``failed`` refused before) did not end READY."""
    for key in assets.values():
        board.update(key, fraction=0.0, text="CREATED")
    deadline = time.monotonic() + args.timeout
    pending = dict(assets)
    final: dict[str, dict[str, Any]] = {}
    while pending:
        for asset_id, key in list(pending.items()):
            asset = client.get_asset(asset_id)
            status = str(asset.get("status"))
            progress = float(asset.get("progress") or 0) / 100
            text = status if status != "PROCESSING" else f"PROCESSING {asset.get('progress', 0)}%"
            fetched = asset.get("import_progress")
            if status == "CREATED" and fetched:
                text, progress = _importing(fetched)
            if status == "FAILED":
                err = asset.get("error") or {}
                text = f"FAILED {err.get('reason')}: {err.get('message')}"
            board.update(key, fraction=1.0 if status == "READY" else progress, text=text)
            if status in FINAL_STATUSES:
                final[asset_id] = asset
                del pending[asset_id]
        if pending and time.monotonic() > deadline:
            print(f"lumiere: still processing after {args.timeout:.0f}s", file=sys.stderr)
            return 1
        if pending:
            time.sleep(args.interval)

    print()
    for asset_id in assets:  # in the order given
        asset = final[asset_id]
        line = f"{asset_id}  {asset['status']:<6}  {asset.get('filename')}"
        hls = (asset.get("outputs") or {}).get("hls")
        if hls:
            line += f"  {hls['url']}"
        print(line)
        if asset["status"] != "READY":
            failed += 1
    return 1 if failed else 0


def _importing(fetched: dict[str, Any]) -> tuple[str, float]:
    """An import's row while its file arrives: the bytes so far, of how many if known."""
    received, total = int(fetched.get("received") or 0), fetched.get("total")
    if total:
        return f"importing {_size(received)} of {_size(int(total))}", received / int(total)
    return f"importing {_size(received)}", 0.0


def cmd_import(args: argparse.Namespace) -> int:
    """Each URL becomes an asset that Lumiere fetches itself; followed like uploads."""
    if args.title and len(args.urls) > 1:
        print("lumiere: --title names one URL; import the others separately", file=sys.stderr)
        return 2
    client = _client(args)
    board = ProgressBoard()
    assets: dict[str, str] = {}
    failed = 0
    for n, url in enumerate(args.urls):
        key = f"{n}:{url}"
        board.add(key, url if len(url) <= 60 else f"{url[:57]}...")
        try:
            result = client.import_url(url, **_choices(args))
        except ApiError as e:
            board.update(key, text=f"REFUSED {_error_text(e)}")
            failed += 1
            continue
        board.update(key, text=f"importing as {result['asset_id']}")
        assets[result["asset_id"]] = key
    if args.no_wait or not assets:
        return 1 if failed else 0
    return _follow(client, board, assets, args, failed)


def cmd_ls(args: argparse.Namespace) -> int:
    """Up to --limit assets, following the API's cursor: a filtered page may come back
    short (the API reads for a bounded time) without the listing being over."""
    client = _client(args)
    params: dict[str, str | int] = {}
    if args.status:
        params["status"] = args.status
    if args.kind:
        params["kind"] = args.kind
    if args.search:
        params["q"] = args.search
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = client.list_assets(
            **params,
            limit=min(args.limit - len(items), MAX_PAGE),
            **({"cursor": cursor} if cursor else {}),
        )
        items += page.get("items") or []
        cursor = page.get("next_cursor")
        if not cursor or len(items) >= args.limit:
            break
    if args.json:
        print(json.dumps({"items": items, "next_cursor": cursor}, indent=2))
        return 0
    if not items:
        print("No assets." if not args.search else f"Nothing matches {args.search!r}.")
        return 0
    print(f"{'ID':<32}  {'STATUS':<10}  {'PROG':>4}  {'KIND':<5}  {'CREATED':<20}  NAME")
    for a in items:
        created = str(a.get("created_at", ""))[:19].replace("T", " ")
        progress = f"{a.get('progress') or 0}%"
        print(
            f"{a['asset_id']:<32}  {a['status']:<10}  {progress:>4}  "
            f"{a.get('kind') or '-':<5}  {created:<20}  {_name(a)}"
        )
    if cursor:
        print("(more: raise --limit)")
    return 0


def _name(asset: dict[str, Any]) -> str:
    """What people call an asset: its title, else the uploaded file's name."""
    return str(asset.get("title") or asset.get("filename"))


def _show_lines(a: dict[str, Any]) -> list[str]:
    lines = [
        f"id:        {a['asset_id']}",
        *([f"title:     {a['title']}"] if a.get("title") else []),
        f"name:      {a.get('filename')} ({a.get('content_type')})",
        *([f"passthru:  {a['passthrough']}"] if a.get("passthrough") else []),
        *([f"source:    {a['source_url']}"] if a.get("source_url") else []),
        f"status:    {a['status']}"
        + (f" {a.get('progress')}%" if a["status"] == "PROCESSING" else ""),
        f"kind:      {a.get('kind') or '-'}",
        f"created:   {a.get('created_at')}",
        f"access:    {a.get('visibility') or 'private'},"
        f" encryption {a.get('encryption') or 'none'}",
    ]
    if a.get("error"):
        lines.append(f"error:     {a['error'].get('reason')}: {a['error'].get('message')}")
    probe = a.get("probe") or {}
    if probe:
        facts = [probe.get("format") or ""]
        if probe.get("duration"):
            facts.append(f"{probe['duration']:.2f} s")
        if probe.get("size"):
            facts.append(_size(probe["size"]))
        lines.append(f"probe:     {', '.join(f for f in facts if f)}")
        v, au, img = probe.get("video"), probe.get("audio"), probe.get("image")
        if img:
            lines.append(f"image:     {img.get('format')} {img.get('width')}x{img.get('height')}")
        elif v:
            lines.append(
                f"video:     {v.get('codec')} {v.get('width')}x{v.get('height')}"
                f" @ {v.get('frame_rate')} fps"
            )
        if au:
            lines.append(
                f"audio:     {au.get('codec')} {au.get('channels')} ch {au.get('sample_rate')} Hz"
            )
    outputs = a.get("outputs") or {}
    if outputs.get("hls"):
        hls = outputs["hls"]
        lines.append(f"hls:       {hls['url']}")
        for r in hls.get("renditions") or []:
            lines.append(
                f"  {r['name']:<6} {r['width']}x{r['height']} {round(r['bandwidth'] / 1000)} kbps"
            )
    for c in outputs.get("captions") or []:
        lines.append(f"captions:  {c.get('language')} {c.get('name')} {c.get('vtt_url')}")
    if outputs.get("poster"):
        lines.append(f"poster:    {outputs['poster']['url']}")
    images = outputs.get("images")
    if images:
        variants = images.get("variants") or []
        widths = sorted({v["width"] for v in variants}, reverse=True)
        formats = sorted({v["format"] for v in variants})
        lines.append(
            f"images:    {len(variants)} variants, widths {widths}, formats {formats},"
            f" dominant {images.get('dominant_color')}"
        )
    analysis = outputs.get("analysis")
    if analysis:
        steps = ", ".join(
            f"{k} {v.get('status')}" for k, v in (analysis.get("steps") or {}).items()
        )
        lines.append(f"analysis:  {steps}; faces {analysis.get('face_count', 0)}")
    return lines


def cmd_show(args: argparse.Namespace) -> int:
    asset = _client(args).get_asset(args.asset_id)
    if args.json:
        print(json.dumps(asset, indent=2))
    else:
        print("\n".join(_show_lines(asset)))
    return 0


def cmd_visibility(args: argparse.Namespace) -> int:
    asset = _client(args).set_visibility(args.asset_id, args.visibility)
    hls = (asset.get("outputs") or {}).get("hls")
    print(f"{asset['asset_id']} is {asset['visibility']}" + (f": {hls['url']}" if hls else ""))
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    changes = {
        name: getattr(args, name) or None  # "" sends null: removed
        for name in ("title", "passthrough")
        if getattr(args, name) is not None
    }
    if not changes:
        print("lumiere: give --title and/or --passthrough ('' removes one)", file=sys.stderr)
        return 2
    asset = _client(args).update_asset(args.asset_id, **changes)
    print(
        f"{asset['asset_id']}  title: {asset.get('title') or '-'}"
        f"  passthrough: {asset.get('passthrough') or '-'}"
    )
    return 0


def cmd_poster(args: argparse.Namespace) -> int:
    seconds = None if args.seconds == "auto" else float(args.seconds)
    asset = _client(args).set_poster_time(args.asset_id, seconds)
    poster = (asset.get("outputs") or {}).get("poster") or {}
    print(f"{asset['asset_id']} poster: {poster.get('url')}")
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("give a whole number, 1 or more")
    return int(text)


def _seconds_or_auto(text: str) -> str:
    if text != "auto":
        try:
            float(text)
        except ValueError:
            raise argparse.ArgumentTypeError("give seconds (12.5) or auto") from None
    return text


def cmd_download(args: argparse.Namespace) -> int:
    """The uploaded file, byte for byte, saved under its name (or -o)."""
    link = _client(args).original(args.asset_id)
    out = Path(args.output or Path(link["filename"]).name)
    if out.exists() and not args.force:
        print(f"lumiere: {out} exists (--force to replace it)", file=sys.stderr)
        return 2
    written = 0
    # The storage's own URL: a plain session, so the API's token never goes there.
    with requests.get(link["url"], stream=True, timeout=60) as r:
        if r.status_code != 200:
            print(f"lumiere: the storage answered HTTP {r.status_code}", file=sys.stderr)
            return 1
        partial = out.with_name(out.name + ".part")
        with partial.open("wb") as fh:
            for chunk in r.iter_content(1 << 20):
                fh.write(chunk)
                written += len(chunk)
        partial.replace(out)  # a file of that name is whole, or absent
    print(f"{out}: {_size(written)}")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    client = _client(args)
    for asset_id in args.asset_ids:
        client.delete_asset(asset_id)
        print(f"deleted {asset_id}")
    return 0


# The suffix a rendered picture is saved with, by its Content-Type.
IMAGE_SUFFIXES = {
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/avif": "avif",
    "image/png": "png",
}


def cmd_image(args: argparse.Namespace) -> int:
    """Sign an /img/ link, render it and save the picture: what a customer's backend
    does for its pages, from a terminal (a video's frame at 12.5 s: ``w_640,t_12.5``)."""
    secret = args.secret
    if not secret and _is_local(args.api_url):
        from lumiere_dev.stack import LOCAL_PARAMETERS  # the local stack's fixed key

        secret = LOCAL_PARAMETERS["ImageSigningSecret"]
    if not secret:
        print(
            "lumiere: /img/ links are signed: give the deployment's ImageSigningSecret "
            "(--secret or LUMIERE_IMAGE_SECRET)",
            file=sys.stderr,
        )
        return 2
    image = _client(args).render_image(args.asset_id, args.options, secret=secret)
    suffix = IMAGE_SUFFIXES.get(image.content_type.split(";")[0], "bin")
    out = Path(args.output or f"{args.asset_id}-{args.options}.{suffix}")
    out.write_bytes(image.data)
    with Image.open(io.BytesIO(image.data)) as picture:
        size = f"{picture.width}x{picture.height}"
    print(f"{out}: {size} {image.content_type}, {_size(len(image.data))} (cache {image.cache})")
    return 0


def run_api_command(args: argparse.Namespace) -> int:
    """Runs one of the commands above with errors a person can read."""
    try:
        return int(args.api_func(args))
    except ApiError as e:
        print(f"lumiere: {_error_text(e)}", file=sys.stderr)
        return 1
    except requests.ConnectionError:
        print(
            f"lumiere: cannot reach the API at {args.api_url} (is `lumiere dev` running?)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130


def _asset_options(p: argparse.ArgumentParser) -> None:
    """What an upload and an import may choose, and how they are followed."""
    p.add_argument("--preset", help="ladder preset")
    p.add_argument("--language", help="spoken language for captions (e.g. en)")
    p.add_argument(
        "--public", action="store_true", help="anyone may play it from plain URLs (no signature)"
    )
    p.add_argument("--encrypt", action="store_true", help="HLS AES-128, the key served to you only")
    p.add_argument("--title", help="a title people read (one asset only)")
    p.add_argument(
        "--passthrough", help="your own reference, returned in every view, event and webhook"
    )
    p.add_argument(
        "--no-wait", action="store_true", help="stop once the file is up (or its import queued)"
    )
    p.add_argument("--timeout", type=float, default=1800.0)
    p.add_argument("--interval", type=float, default=1.0, help="seconds between status polls")


def add_api_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    api_options: Any,
) -> None:
    up = sub.add_parser("upload", help="upload files and follow them to READY")
    api_options(up)
    up.add_argument("files", nargs="+", help="media files")
    _asset_options(up)
    up.set_defaults(func=run_api_command, api_func=cmd_upload)

    imp = sub.add_parser(
        "import", help="make assets from files at URLs (Lumiere fetches them) and follow them"
    )
    api_options(imp)
    imp.add_argument("urls", nargs="+", help="http(s) URLs of media files")
    _asset_options(imp)
    imp.set_defaults(func=run_api_command, api_func=cmd_import)

    ls = sub.add_parser("ls", help="list your assets, newest first")
    api_options(ls)
    ls.add_argument("--status")
    ls.add_argument("--kind", choices=["video", "audio", "image"])
    ls.add_argument("-q", "--search", help="words of the title or file name (all must match)")
    ls.add_argument("--limit", type=_positive, default=25, help="how many to list at most")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_api_command, api_func=cmd_ls)

    show = sub.add_parser("show", help="one asset: status, metadata and outputs")
    api_options(show)
    show.add_argument("asset_id")
    show.add_argument("--json", action="store_true", help="the API's JSON as it is")
    show.set_defaults(func=run_api_command, api_func=cmd_show)

    vis = sub.add_parser("visibility", help="make an asset public or private again")
    api_options(vis)
    vis.add_argument("asset_id")
    vis.add_argument("visibility", choices=["public", "private"])
    vis.set_defaults(func=run_api_command, api_func=cmd_visibility)

    edit = sub.add_parser("edit", help="change an asset's title or passthrough")
    api_options(edit)
    edit.add_argument("asset_id")
    edit.add_argument("--title", help="the new title ('' removes it)")
    edit.add_argument("--passthrough", help="the new passthrough ('' removes it)")
    edit.set_defaults(func=run_api_command, api_func=cmd_edit)

    img = sub.add_parser(
        "image", help="render a signed /img/ transformation (a video's frame: t_SECONDS)"
    )
    api_options(img)
    img.add_argument("asset_id")
    img.add_argument("options", help="e.g. w_640,h_360,fit_cover,f_webp or w_640,t_12.5")
    img.add_argument("-o", "--output", help="file to write (default: ID-OPTIONS.EXT here)")
    img.add_argument(
        "--secret",
        default=os.environ.get("LUMIERE_IMAGE_SECRET", ""),
        help="the deployment's ImageSigningSecret (default: LUMIERE_IMAGE_SECRET; a local "
        "stack's is known)",
    )
    img.set_defaults(func=run_api_command, api_func=cmd_image)

    poster = sub.add_parser("poster", help="make a video's frame at a moment its poster")
    api_options(poster)
    poster.add_argument("asset_id")
    poster.add_argument(
        "seconds", type=_seconds_or_auto, help="seconds into the video, or auto (the pipeline's)"
    )
    poster.set_defaults(func=run_api_command, api_func=cmd_poster)

    down = sub.add_parser("download", help="save the uploaded file itself")
    api_options(down)
    down.add_argument("asset_id")
    down.add_argument("-o", "--output", help="file to write (default: its name, here)")
    down.add_argument("--force", action="store_true", help="replace an existing file")
    down.set_defaults(func=run_api_command, api_func=cmd_download)

    rm = sub.add_parser("rm", help="delete assets (the original and every output)")
    api_options(rm)
    rm.add_argument("asset_ids", nargs="+", metavar="asset_id")
    rm.set_defaults(func=run_api_command, api_func=cmd_rm)
