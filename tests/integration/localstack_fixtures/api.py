"""A Chalice app standing in for the real API, to test the local API server alone."""

from __future__ import annotations

import os

from chalice import Chalice, NotFoundError

app = Chalice(app_name="fixture-api")


@app.route("/hello/{name}", methods=["GET"], cors=True)
def hello(name: str) -> dict[str, str]:
    if name == "nobody":
        raise NotFoundError("no such person")
    return {"hello": name, "bucket": os.environ["FIXTURE_BUCKET"]}
