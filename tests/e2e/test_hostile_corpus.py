"""Every odd or hostile upload ends READY or FAILED with the expected reason; nothing
crashes a worker, loops, or reads a file the upload did not own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lumiere_dev.stack import LocalStack

from tests.conftest import REPO
from tests.corpus import Canary, Case, build_corpus


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Canary]:
    c = Canary(tmp_path_factory.mktemp("canary"))
    yield c
    c.close()


@pytest.fixture(scope="module")
def outcomes(
    tmp_path_factory: pytest.TempPathFactory, canary: Canary
) -> Iterator[tuple[list[Case], dict[str, dict], LocalStack]]:
    cases = build_corpus(tmp_path_factory.mktemp("corpus"), canary)
    with LocalStack(
        REPO / "template.yaml", stack_name="corpus", overrides={"POWERTOOLS_LOG_LEVEL": "ERROR"}
    ) as stack:
        client = stack.api_client()
        ids = {
            case.name: client.upload_file(
                case.path,
                content_type=case.content_type,
                filename=case.name,
                declared_size=case.declared_size,
            ).asset_id
            for case in cases
        }
        assets = {
            name: client.wait_until_final(asset_id, timeout=180, interval=0.2)
            for name, asset_id in ids.items()
        }
        stack.wait_idle(timeout=60)
        yield cases, assets, stack


@pytest.mark.slow
def test_corpus_is_big_enough(outcomes: tuple[list[Case], dict[str, dict], LocalStack]) -> None:
    cases, _, _ = outcomes
    assert len(cases) >= 25
    assert {c.status for c in cases} == {"READY", "FAILED"}


def test_each_upload_ends_as_expected(
    outcomes: tuple[list[Case], dict[str, dict], LocalStack],
) -> None:
    cases, assets, _ = outcomes
    wrong = []
    for case in cases:
        asset = assets[case.name]
        error = asset.get("error") or {}
        got = (asset["status"], error.get("reason"), asset.get("kind"))
        want = (case.status, case.reason, case.kind)
        if got != want:
            wrong.append(f"{case.name}: expected {want}, got {got} {error.get('message', '')}")
        if asset["status"] == "FAILED":
            assert len(error["message"]) > 20, case.name  # a sentence, not a code
    assert not wrong, "\n".join(wrong)


def test_nothing_loops_or_lands_in_a_dead_letter_queue(
    outcomes: tuple[list[Case], dict[str, dict], LocalStack],
) -> None:
    _, _, stack = outcomes
    sqs = stack.client("sqs")
    for queue in stack.spec.queues.values():
        attrs = sqs.get_queue_attributes(
            QueueUrl=queue.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        assert set(attrs.values()) == {"0"}, queue.logical_id


def test_no_file_or_url_outside_the_upload_was_opened(
    outcomes: tuple[list[Case], dict[str, dict], LocalStack], canary: Canary
) -> None:
    assert outcomes  # the whole corpus has been processed
    assert canary.opened is False, f"something opened {canary.fifo}"
    assert canary.http_hits == []


def test_ready_video_outputs_have_even_display_sized_renditions(
    outcomes: tuple[list[Case], dict[str, dict], LocalStack],
) -> None:
    _, assets, _ = outcomes
    rotated = assets["rotated.mp4"]["outputs"]["hls"]["renditions"][0]
    assert (rotated["width"], rotated["height"]) == (180, 320)  # portrait after rotation
    odd = assets["odd-size.mkv"]["outputs"]["hls"]["renditions"][0]
    assert odd["width"] % 2 == 0
    assert odd["height"] % 2 == 0


def test_canary_detects_a_reader(tmp_path: Path) -> None:
    """The canary itself must be able to fail."""
    c = Canary(tmp_path)
    try:
        with open(c.fifo, "rb"):
            pass
        import time

        deadline = time.monotonic() + 2
        while not c.opened and time.monotonic() < deadline:
            time.sleep(0.01)
        assert c.opened
    finally:
        c.close()


def test_probe_facts_reach_the_api(
    outcomes: tuple[list[Case], dict[str, dict], LocalStack],
) -> None:
    _, assets, _ = outcomes
    ten_bit = assets["ten-bit.mp4"]["probe"]["video"]
    assert (ten_bit["bit_depth"], ten_bit["pix_fmt"], ten_bit["hdr"]) == (10, "yuv420p10le", None)
    assert assets["vfr.mp4"]["probe"]["video"]["vfr"] is True
    assert assets["video-only.mp4"]["probe"]["video"]["vfr"] is False
    assert assets["rotated.mp4"]["probe"]["video"]["rotation"] in (90, 270)
    assert "audio" not in assets["video-only.mp4"]["probe"]
    photo = assets["holiday.jpg"]["probe"]["image"]
    assert (photo["format"], photo["width"], photo["height"]) == ("JPEG", 640, 480)
    assert assets["anim.gif"]["probe"]["image"]["frame_count"] == 5
