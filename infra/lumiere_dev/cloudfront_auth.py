"""CloudFront's check of signed URLs and signed cookies, for the local CDN.

A request is let through only with a signature, made by a trusted key, over a policy
whose Resource pattern matches the URL and whose conditions hold now: the canned form
(``Expires``) or the custom one (``Policy``), in the query (``Signature``, ``Key-Pair-Id``)
or in cookies (``CloudFront-*``). As in CloudFront, the query takes precedence, and the
signing parameters are not part of the URL the pattern is matched against.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNING_PARAMS = ("Expires", "Policy", "Signature", "Key-Pair-Id")


class Denied(Exception):
    """Why CloudFront would answer 403."""


def cloudfront_b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(
            text.replace("-", "+").replace("_", "=").replace("~", "/"), validate=True
        )
    except (binascii.Error, ValueError) as e:
        raise Denied("malformed base64") from e


def load_public_keys(pems: Mapping[str, str]) -> dict[str, rsa.RSAPublicKey]:
    keys: dict[str, rsa.RSAPublicKey] = {}
    for key_id, pem in pems.items():
        key = serialization.load_pem_public_key(pem.encode())
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError(f"{key_id}: CloudFront public keys are RSA")
        keys[key_id] = key
    return keys


def pattern_matches(pattern: str, url: str) -> bool:
    """CloudFront's Resource wildcards: * any run of characters, ? exactly one."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, url, flags=re.DOTALL) is not None


@dataclass(frozen=True)
class Credentials:
    policy: bytes  # the JSON that was signed
    signature: bytes
    key_pair_id: str


def _credentials(fields: Mapping[str, str], resource_url: str, prefix: str) -> Credentials | None:
    signature, key_id = fields.get(f"{prefix}Signature"), fields.get(f"{prefix}Key-Pair-Id")
    policy, expires = fields.get(f"{prefix}Policy"), fields.get(f"{prefix}Expires")
    if not (signature or key_id or policy or expires):
        return None
    if not signature or not key_id or bool(policy) == bool(expires):
        raise Denied("incomplete signing parameters")
    if policy:
        document = cloudfront_b64decode(policy)
    else:
        if not str(expires).isdigit():
            raise Denied("Expires is not a number")
        # The canned policy is rebuilt, byte for byte, from the URL and Expires.
        canned = {
            "Statement": [
                {
                    "Resource": resource_url,
                    "Condition": {"DateLessThan": {"AWS:EpochTime": int(str(expires))}},
                }
            ]
        }
        document = json.dumps(canned, separators=(",", ":")).encode()
    return Credentials(document, cloudfront_b64decode(signature), key_id)


def _epoch(condition: Mapping[str, Any], name: str) -> int | None:
    value = (condition.get(name) or {}).get("AWS:EpochTime")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Denied(f"{name} is not an epoch time")
    return value


def check_policy(document: bytes, url: str, client_ip: str, now: float) -> None:
    try:
        policy = json.loads(document)
        [statement] = policy["Statement"]
        resource = statement.get("Resource", "*")
        condition = statement["Condition"]
    except (ValueError, KeyError, TypeError) as e:
        raise Denied("malformed policy") from e
    if not isinstance(resource, str) or not pattern_matches(resource, url):
        raise Denied("the policy is for another resource")
    not_after = _epoch(condition, "DateLessThan")
    if not_after is None:
        raise Denied("the policy has no DateLessThan")
    if now >= not_after:
        raise Denied("expired")
    not_before = _epoch(condition, "DateGreaterThan")
    if not_before is not None and now < not_before:
        raise Denied("not valid yet")
    source = (condition.get("IpAddress") or {}).get("AWS:SourceIp")
    if source is not None:
        try:
            if ipaddress.ip_address(client_ip) not in ipaddress.ip_network(source, strict=False):
                raise Denied("not from the allowed address")
        except ValueError as e:
            raise Denied("malformed IpAddress") from e


def verify(
    *,
    scheme_host: str,
    path: str,
    query: str,
    cookies: Mapping[str, str],
    client_ip: str,
    public_keys: Mapping[str, rsa.RSAPublicKey],
    now: float | None = None,
) -> None:
    """Returns if CloudFront would serve ``scheme_host + path + ?query``; else Denied."""
    pairs = parse_qsl(query, keep_blank_values=True)
    params = dict(pairs)
    rest = urlencode([(k, v) for k, v in pairs if k not in SIGNING_PARAMS])
    url = f"{scheme_host}{path}{'?' + rest if rest else ''}"
    credentials = _credentials(params, url, "") or _credentials(cookies, url, "CloudFront-")
    if credentials is None:
        raise Denied("not signed")
    key = public_keys.get(credentials.key_pair_id)
    if key is None:
        raise Denied("the key is not in the trusted key group")
    try:
        key.verify(credentials.signature, credentials.policy, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront's algorithm
    except InvalidSignature as e:
        raise Denied("bad signature") from e
    check_policy(credentials.policy, url, client_ip, time.time() if now is None else now)
