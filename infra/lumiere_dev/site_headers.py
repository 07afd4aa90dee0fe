"""The web app's Content-Security-Policy as SiteDistribution sends it, read from the
template's SiteResponseHeadersPolicy with the local stack's addresses in place of the
deployed ones, so the page runs under the same policy locally (a script, worker or media
source the policy forgot fails here, in the browser tests, not after a deployment)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lumiere_dev.cfn import load_template

POLICY = "SiteResponseHeadersPolicy"
# The deployed origins the CSP names, as written in the template.
API_ORIGIN = "https://${ServerlessRestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
MEDIA_ORIGIN = "https://${MediaDistribution.DomainName}"
SIGN_IN_ORIGIN = "https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com"
UPLOAD_ORIGINS = (
    "https://${UploadsBucket}.s3.${AWS::Region}.${AWS::URLSuffix}",
    "https://${UploadsBucket}.s3.${AWS::URLSuffix}",
)


def _csp_source(template: dict[str, Any]) -> str | None:
    resource = (template.get("Resources") or {}).get(POLICY)
    if resource is None:
        return None
    config = resource["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    value = config["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    return str(value["Fn::Sub"] if isinstance(value, dict) else value)


def local_csp(template_path: Path, *, api_url: str, media_url: str, storage_url: str) -> str | None:
    """The site's CSP with the local API (which also plays the managed login domain), CDN
    and S3 (moto, where presigned uploads go); None when the template has no site headers
    policy."""
    source = _csp_source(load_template(template_path))
    if source is None:
        return None
    csp = (
        source.replace(API_ORIGIN, api_url)
        .replace(SIGN_IN_ORIGIN, api_url)
        .replace(MEDIA_ORIGIN, media_url)
    )
    for origin in UPLOAD_ORIGINS:  # the regional name first: the global one is its suffix
        csp = csp.replace(origin, storage_url)
    if "${" in csp:
        raise ValueError(f"{POLICY} names an origin the local stack cannot stand in for: {csp}")
    return csp
