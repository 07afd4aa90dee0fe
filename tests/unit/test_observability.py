"""Each invocation's log lines carry its own context, even when the local runner runs
several functions' handlers at once in threads of one process."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from lumiere.observability import instrumented, logger
from lumiere_dev.lambda_runtime import LocalLambdaContext


@pytest.fixture
def lines() -> Iterator[list[dict[str, Any]]]:
    records: list[dict[str, Any]] = []
    collector = logging.Handler()
    # format in the emitting thread, as the real handler does
    collector.emit = lambda r: records.append(json.loads(collector.format(r)))  # type: ignore[method-assign]
    collector.setFormatter(logger.registered_formatter)
    logger.addHandler(collector)
    try:
        yield records
    finally:
        logger.removeHandler(collector)


def context(name: str) -> LocalLambdaContext:
    return LocalLambdaContext(
        function_name=name, memory_limit_in_mb=128, timeout_seconds=30,
        region="us-east-1", account_id="123456789012",
    )  # fmt: skip


def test_concurrent_invocations_keep_their_own_function_request_and_asset(
    lines: list[dict[str, Any]],
) -> None:
    both_started = threading.Barrier(2, timeout=10)

    @instrumented
    def handler(event: dict[str, Any], _context: Any) -> str:
        logger.thread_safe_append_keys(asset_id=event["asset"])
        both_started.wait()  # the other invocation has set its keys too
        logger.info("working", who=event["who"])
        logging.getLogger("lumiere.media.example").info("library line of %s", event["who"])
        both_started.wait()
        return str(event["who"])

    contexts = {who: context(who) for who in ("IngestFunction", "TranscodeFunction")}
    results: dict[str, str] = {}
    threads = [
        threading.Thread(
            target=lambda w=who: results.update(
                {w: handler({"who": w, "asset": w[:3]}, contexts[w])}
            )
        )
        for who in contexts
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert results == {w: w for w in contexts}
    mine = [line for line in lines if "working" in line["message"] or "library" in line["message"]]
    assert len(mine) == 4
    for line in mine:
        who = line.get("who") or line["message"].rsplit(" ", 1)[1]
        assert line["function_name"] == who
        assert line["function_request_id"] == contexts[who].aws_request_id
        assert line["asset_id"] == who[:3]


def test_an_invocation_leaves_nothing_behind_and_only_the_first_is_cold(
    lines: list[dict[str, Any]],
) -> None:
    @instrumented
    def handler(_event: Any, _context: Any) -> None:
        logger.thread_safe_append_keys(asset_id="a1")
        logger.info("hello")

    handler({}, context("Fn"))
    handler({}, context("Fn"))
    assert lines[-1]["function_name"] == "Fn"
    assert lines[-1]["cold_start"] is False  # whatever ran before, the second is warm
    logger.info("between invocations")
    assert "function_name" not in lines[-1]
    assert "asset_id" not in lines[-1]
