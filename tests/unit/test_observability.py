"""Each invocation's log lines carry its own context, and its metrics are its own, even
when the local runner runs several functions' handlers at once in threads of one
process."""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from lumiere.observability import MetricUnit, add_metric, count_outcome, instrumented, logger
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


def emf_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_each_invocation_flushes_its_own_metrics_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    both = threading.Barrier(2, timeout=10)

    @instrumented
    def handler(event: dict[str, Any], _context: Any) -> None:
        for _ in range(2):  # interleaved with the other invocation's
            add_metric(f"{event['who']}Records", MetricUnit.Count, event["n"])
            both.wait()

    threads = [
        threading.Thread(target=handler, args=({"who": who, "n": n}, context(who)))
        for who, n in (("Ingest", 1), ("Transcode", 2))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    lines = emf_lines(capsys.readouterr().out)
    assert len(lines) == 2
    names = [[m["Name"] for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]] for line in lines]
    assert sorted(names) == [["IngestRecords"], ["TranscodeRecords"]]
    for line in lines:
        expected = [1.0, 1.0] if "IngestRecords" in line else [2.0, 2.0]
        assert line.get("IngestRecords", line.get("TranscodeRecords")) == expected
        assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Lumiere"


def test_metrics_outside_an_invocation_are_dropped_and_none_print_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    add_metric("Stray", MetricUnit.Count, 1)  # library code run by a script: no one flushes

    @instrumented
    def quiet(_event: Any, _context: Any) -> None:
        pass

    @instrumented
    def counting(_event: Any, _context: Any) -> None:
        add_metric("Counted", MetricUnit.Count, 1)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "No application metrics to publish"
        quiet({}, context("Fn"))
    assert emf_lines(capsys.readouterr().out) == []
    counting({}, context("Fn"))
    [line] = emf_lines(capsys.readouterr().out)
    assert line["Counted"] == [1.0]
    assert "Stray" not in line


def test_outcomes_are_counted_by_status_and_reason_and_can_be_switched_off(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    count_outcome("FAILED", "corrupt")
    [line] = emf_lines(capsys.readouterr().out)
    assert line["AssetsFinished"] == [1.0]
    assert (line["status"], line["reason"]) == ("FAILED", "corrupt")
    assert sorted(line["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == [
        "reason", "service", "status",
    ]  # fmt: skip
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")  # the quiet local demo
    count_outcome("READY")
    assert emf_lines(capsys.readouterr().out) == []
