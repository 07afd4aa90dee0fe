"""boto3 clients, created once per process and reused across invocations.

Endpoints come from boto3's own configuration (``AWS_ENDPOINT_URL`` locally), so the same
code talks to moto on a laptop and to AWS in a Lambda.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError

_CONFIG = Config(
    signature_version="s3v4",
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=60,
)

# Connection refused, DNS, connect and read timeouts: the network, worth retrying. Other
# BotoCoreErrors (invalid parameters, no credentials) are not.
NETWORK_ERRORS: tuple[type[Exception], ...] = (BotoConnectionError, HTTPClientError)


@cache
def client(service: str, endpoint_url: str | None = None) -> Any:
    """``endpoint_url`` overrides the configured endpoint for this one service."""
    return boto3.session.Session().client(service, config=_CONFIG, endpoint_url=endpoint_url)


@cache
def resource(service: str) -> Any:
    return boto3.session.Session().resource(service, config=_CONFIG)
