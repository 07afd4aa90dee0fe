"""The Chalice routes and the template's Api events must be the same set: API Gateway
only forwards what the template declares, and Chalice only answers what it routes. And
how the routes say no."""

from pathlib import Path

import pytest
import yaml
from lumiere.api.upload_tickets import refusal
from lumiere.errors import (
    InvalidRequestError,
    LimitExceededError,
    PermanentError,
    QuotaExceededError,
    ReasonCode,
    UnsupportedMediaError,
)
from lumiere.handlers.api import app

TEMPLATE = Path(__file__).parents[2] / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_every_chalice_route_is_an_api_event_and_back() -> None:
    template = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    fn = template["Resources"]["ApiFunction"]["Properties"]
    declared = {
        (e["Properties"]["Path"], e["Properties"]["Method"].upper())
        for e in fn["Events"].values()
        if e["Type"] == "Api"
    }
    routed = {(path, method) for path, methods in app.routes.items() for method in methods}
    assert declared == routed
    assert fn["Handler"] == "lumiere.handlers.api.app"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (LimitExceededError("The file is too large.", reason=ReasonCode.TOO_LARGE), 413),
        (QuotaExceededError("The public list is full."), 409),
        (InvalidRequestError("size: a number."), 400),
        (UnsupportedMediaError("Not a media file."), 400),
    ],
)
def test_an_upload_refusal_says_why_with_its_status(error: PermanentError, status: int) -> None:
    response = refusal(error)
    assert response.status_code == status
    assert response.body == {"error": {"reason": error.reason.value, "message": error.message}}
