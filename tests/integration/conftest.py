from __future__ import annotations

from collections.abc import Iterator

import pytest
from lumiere_dev.client import LumiereClient
from lumiere_dev.stack import LocalStack

from tests.conftest import REPO
from tests.integration.helpers import PART_QUEUES, drain


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """moto's server with every resource of template.yaml, the API and the CDN up, but no
    event-source mappings: tests deliver queue messages to the handlers themselves.

    Without the analysis part, so these tests count and time the media parts alone;
    test_analysis_pipeline.py runs a stack with it."""
    with LocalStack(
        REPO / "template.yaml", run_functions=False, parameters={"AnalysisBackend": "off"}
    ) as s:
        yield s


@pytest.fixture
def client(stack: LocalStack) -> LumiereClient:
    """An API client, with the queues emptied of what an earlier test left."""
    for queue_id in ("IngestQueue", *PART_QUEUES):
        drain(stack, queue_id)
    return stack.api_client()
