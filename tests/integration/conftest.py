from __future__ import annotations

from collections.abc import Iterator

import pytest
from lumiere_dev.client import LumiereClient
from lumiere_dev.stack import LocalStack

from tests.conftest import REPO
from tests.integration.helpers import drain


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """moto's server with every resource of template.yaml, the API and the CDN up, but no
    event-source mappings: tests deliver queue messages to the handlers themselves."""
    with LocalStack(REPO / "template.yaml", run_functions=False) as s:
        yield s


@pytest.fixture
def client(stack: LocalStack) -> LumiereClient:
    """An API client, with both queues emptied of what an earlier test left."""
    drain(stack, "IngestQueue")
    drain(stack, "TranscodeQueue")
    return stack.api_client()
