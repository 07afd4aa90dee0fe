"""Publishing the web app to SiteBucket: web/ as it is (vendored libraries included) and a
config.json naming the deployed API, media CDN and Cognito managed login, read from the
stack's outputs: that file is how the page finds them."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lumiere_dev.web_server import WEB_DIR, AuthConfig, SiteConfig, ensure_vendored

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


@dataclass(frozen=True)
class DeployedStack:
    """What publish-site needs of a deployed stack: its outputs and parameter values."""

    outputs: dict[str, str]
    parameters: dict[str, str]


def describe_stack(cloudformation: Any, stack_name: str) -> DeployedStack:
    [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return DeployedStack(
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []},
        parameters={
            p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue", ""))
            for p in stack.get("Parameters") or []
        },
    )


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    return describe_stack(cloudformation, stack_name).outputs


def site_config_from_outputs(outputs: Mapping[str, str]) -> SiteConfig:
    """config.json for a deployed stack: the API, the media CDN, and sign-in through the
    user pool domain with the web app's client, coming back to the site's own URL (the
    client's one callback URL)."""
    auth = None
    if {"SignInDomainUrl", "WebAppClientId", "SiteUrl"} <= set(outputs):
        auth = AuthConfig.for_cognito_domain(
            outputs["SignInDomainUrl"], outputs["WebAppClientId"], outputs["SiteUrl"]
        )
    return SiteConfig(api_url=outputs["ApiUrl"], media_url=outputs.get("MediaUrl", ""), auth=auth)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def missing_player_origin(stack: DeployedStack) -> str | None:
    """The site's origin when the media CDN's CORS (PlayerOrigins) does not allow it: the
    page could sign in but not play. None when it does (or the stack has no SiteUrl)."""
    site = stack.outputs.get("SiteUrl")
    if not site:
        return None
    allowed = {o.strip().rstrip("/") for o in stack.parameters.get("PlayerOrigins", "").split(",")}
    origin = origin_of(site)
    return None if origin in allowed else origin
