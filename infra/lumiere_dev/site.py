"""Publishing the web app to SiteBucket: web/ as it is (vendored libraries included) and a
config.json naming the deployed API, which is how the page finds it."""

from __future__ import annotations

import json
import mimetypes
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lumiere_dev.web_server import WEB_DIR, SiteConfig, ensure_vendored

# File names carry no content hash, so browsers revalidate; the page and its config are
# never cached, as they say where everything else is.
SHORT_CACHE = "public, max-age=300"
NO_CACHE = "no-cache"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
}


def site_files(web_dir: Path = WEB_DIR) -> list[Path]:
    return sorted(p for p in web_dir.rglob("*") if p.is_file() and not p.name.startswith("."))


def publish_site(s3: Any, bucket: str, config: SiteConfig, web_dir: Path = WEB_DIR) -> list[str]:
    """Uploads web/ and config.json to ``bucket``; returns the keys written."""
    if not ensure_vendored(web_dir):
        raise RuntimeError("web/vendor/ is incomplete: run scripts/vendor-web (needs npm)")
    keys = []
    for path in site_files(web_dir):
        key = path.relative_to(web_dir).as_posix()
        content_type = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=content_type or "application/octet-stream",
            CacheControl=NO_CACHE if key == "index.html" else SHORT_CACHE,
        )
        keys.append(key)
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=json.dumps(asdict(config)).encode(),
        ContentType="application/json",
        CacheControl=NO_CACHE,
    )
    keys.append("config.json")
    return keys


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
