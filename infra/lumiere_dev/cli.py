"""The `lumiere` command: run the local stack or the demo; upload, list, show and delete
assets against it or a deployed API."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from lumiere_dev.commands import add_api_commands

if TYPE_CHECKING:
    from lumiere_dev.stack import LocalStack

DEFAULT_API_URL = "http://127.0.0.1:8601"
DEMO_USER = "demo"


def template_path() -> Path:
    override = os.environ.get("LUMIERE_TEMPLATE")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "template.yaml"


def _start_stack(args: argparse.Namespace, *, quiet: bool = False) -> LocalStack:
    from lumiere_dev.stack import LocalStack

    stack = LocalStack(
        template_path(),
        host=args.host,
        moto_port=args.moto_port,
        api_port=args.api_port,
        cdn_port=args.cdn_port,
        web_port=args.web_port,
        # The demo prints its own story; the functions' JSON logs, metric lines and the
        # API's request lines would drown it.
        quiet=quiet,
    )
    stack.start()
    return stack


def cmd_dev(args: argparse.Namespace) -> int:
    stack = _start_stack(args)
    print("Lumiere local stack is up.")
    print(f"  Web app:     {stack.web_url}")
    print(f"  API:         {stack.api_url}")
    print(f"  Media (CDN): {stack.media_url}")
    print(f"  AWS (moto):  {stack.endpoint_url}")
    print("The web app signs in through the stand-in managed login (any name is a user).")
    print("The API needs a token: lumiere token --user <name>  (send it as Authorization).")
    print("Press Ctrl-C to stop.", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from lumiere_dev.demo import api_is_up, run_demo

    api_url = args.api_url
    stack = None
    if not api_is_up(api_url):
        print("No local stack running; starting one for the demo ...", flush=True)
        stack = _start_stack(args, quiet=True)
        api_url = stack.api_url
        print(f"  API: {api_url}\n  Media: {stack.media_url}", flush=True)
        print(f"  Web app: {stack.web_url}", flush=True)
    try:
        token = _demo_token(api_url, stack)
        code = run_demo(
            api_url, Path(args.file) if args.file else None, token=token, timeout=args.timeout
        )
        if stack is not None and args.keep_running and code == 0:
            print("Keeping the stack up so you can play it; Ctrl-C to stop.", flush=True)
            threading.Event().wait()
        return code
    except KeyboardInterrupt:
        return 130
    finally:
        if stack is not None:
            stack.stop()


def _demo_token(api_url: str, stack: LocalStack | None) -> str:
    """LUMIERE_TOKEN (a Cognito ID token, for a deployed stack), else a token from the
    local stack's stand-in user pool."""
    if os.environ.get("LUMIERE_TOKEN"):
        return os.environ["LUMIERE_TOKEN"]
    if stack is not None:
        return stack.token(DEMO_USER)
    from lumiere_dev.client import local_token

    return local_token(api_url, DEMO_USER)


def cmd_token(args: argparse.Namespace) -> int:
    """Print an ID token from a running `lumiere dev`, for curl and friends."""
    from lumiere_dev.client import local_token

    print(local_token(args.api_url, args.user))
    return 0


def cmd_publish_site(args: argparse.Namespace) -> int:
    import boto3

    from lumiere_dev.site import (
        describe_stack,
        missing_player_origin,
        publish_site,
        site_config_from_outputs,
    )
    from lumiere_dev.web_server import SiteConfig

    bucket = args.bucket
    if args.stack_name:
        stack = describe_stack(boto3.client("cloudformation"), args.stack_name)
        bucket = bucket or stack.outputs["SiteBucketName"]
        config = site_config_from_outputs(stack.outputs)
        if args.api_url or args.media_url:
            config = replace(
                config,
                api_url=args.api_url or config.api_url,
                media_url=args.media_url or config.media_url,
            )
        origin = missing_player_origin(stack)
        if origin:
            print(
                f"lumiere: warning: PlayerOrigins does not list {origin}: the page will sign"
                " in but the media CDN will refuse it (CORS); deploy again with"
                f" PlayerOrigins={origin}",
                file=sys.stderr,
            )
    elif bucket and args.api_url:
        config = SiteConfig(api_url=args.api_url, media_url=args.media_url or "")
    else:
        print("lumiere: give --stack-name, or --bucket and --api-url", file=sys.stderr)
        return 2
    keys = publish_site(boto3.client("s3"), bucket, config)
    signs_in = f", sign-in: {config.auth.authorize_url}" if config.auth else ", no sign-in"
    print(
        f"published {len(keys)} files to s3://{bucket}/ "
        f"(config.json: api_url={config.api_url}{signs_in})"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lumiere", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def stack_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--moto-port", type=int, default=8600)
        p.add_argument("--api-port", type=int, default=8601)
        p.add_argument("--cdn-port", type=int, default=8602)
        p.add_argument("--web-port", type=int, default=8603, help="the web app (web/)")

    dev = sub.add_parser("dev", help="run the local stack in the foreground")
    stack_options(dev)
    dev.set_defaults(func=cmd_dev)

    demo = sub.add_parser("demo", help="upload a clip and follow it to READY")
    stack_options(demo)
    demo.add_argument("file", nargs="?", help="a media file (default: a generated test clip)")
    demo.add_argument(
        "--api-url",
        default=os.environ.get("LUMIERE_API_URL", DEFAULT_API_URL),
        help="use a running stack (local or deployed) instead of starting one",
    )
    demo.add_argument("--timeout", type=float, default=600.0)
    demo.add_argument(
        "--keep-running", action="store_true", help="keep the stack up after the demo"
    )
    demo.set_defaults(func=cmd_demo)

    token = sub.add_parser(
        "token", help="print an ID token from a running local stack (Authorization header)"
    )
    token.add_argument("--user", default="developer", help="username (created on first use)")
    token.add_argument("--api-url", default=os.environ.get("LUMIERE_API_URL", DEFAULT_API_URL))
    token.set_defaults(func=cmd_token)

    def api_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--api-url",
            default=os.environ.get("LUMIERE_API_URL", DEFAULT_API_URL),
            help="the API (default: LUMIERE_API_URL, else the local stack)",
        )
        p.add_argument(
            "--token",
            default=os.environ.get("LUMIERE_TOKEN", ""),
            help="bearer token for an API with an authorizer (default: LUMIERE_TOKEN)",
        )

    add_api_commands(sub, api_options)

    site = sub.add_parser(
        "publish-site", help="upload web/ and its config.json to a deployed stack's SiteBucket"
    )
    site.add_argument(
        "--stack-name",
        help="read SiteBucketName, ApiUrl, MediaUrl and the sign-in settings from its outputs",
    )
    site.add_argument("--bucket", help="SiteBucket's name (instead of --stack-name)")
    site.add_argument("--api-url", help="the API the page calls (instead of --stack-name)")
    site.add_argument("--media-url", help="the media CDN (default: the MediaUrl output)")
    site.set_defaults(func=cmd_publish_site)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args))
