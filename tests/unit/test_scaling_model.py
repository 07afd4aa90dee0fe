"""The scaling model of bench/scaling.py: the arithmetic behind the committed table."""

from __future__ import annotations

import math

import pytest

from bench.scaling import (
    ACCOUNT_CONCURRENCY,
    COLD_STARTS,
    LAMBDA_TIMEOUT,
    EncodeCosts,
    FanIn,
    Inputs,
    StartCost,
    Transfer,
    predict,
    scaled_wall,
    single_function,
    vcpus,
)
from bench.transcode import Cost


def _inputs(*, memory_mb: int = 3008, chunk: float = 60.0, film: float = 7200.0) -> Inputs:
    # A 30 s sample whose whole ladder costs 60 CPU s on one thread, 66 on two.
    encodes = EncodeCosts(
        sample_seconds=30.0,
        per_rung={1: {}, 2: {}},
        ladder={1: Cost(wall=61.0, cpu=60.0), 2: Cost(wall=34.0, cpu=66.0)},
        output_bytes=30_000_000,
        output_files=40,
    )
    return Inputs(
        encodes=encodes,
        start=StartCost(version=0.01, tiny=0.1, runs=7),
        transfer=Transfer(files=40, bytes=30_000_000, upload=1.0, download=1.0),
        fan_in=FanIn(package=0.05, manifests=0.2, segments_per_rendition=1800),
        probe=0.1,
        audio=Cost(wall=0.4, cpu=0.3),
        audio_seconds=30.0,
        memory_mb=memory_mb,
        chunk_seconds=chunk,
        film_seconds=film,
    )


def test_vcpus_follow_memory_and_stop_at_six() -> None:
    assert vcpus(1769) == pytest.approx(1.0)
    assert vcpus(3008) == pytest.approx(3008 / 1769)
    # Six cores are visible at 10,240 MB, but the CPU share is 5.79 of them.
    assert vcpus(10240) == pytest.approx(10240 / 1769)
    assert vcpus(12000) == 6


def test_encode_wall_is_cpu_over_vcpus() -> None:
    assert scaled_wall(60.0, 66.0, 0.5) == pytest.approx(120.0)  # a half share
    assert scaled_wall(60.0, 66.0, 1.0) == pytest.approx(60.0)
    assert scaled_wall(60.0, 66.0, 2.0) == pytest.approx(33.0)  # 2-thread overhead kept


def test_waves_are_tasks_over_concurrency() -> None:
    inputs = _inputs()
    chunks = math.ceil(7200 / 60)
    for n in (1, 10, 100, 1000):
        p = predict(inputs, 1, [], n)
        assert p.tasks == chunks + 3  # one ladder task per chunk, audio, previews, analysis
        assert p.waves == math.ceil(p.tasks / n)


def test_ready_shrinks_with_concurrency_until_one_wave() -> None:
    inputs = _inputs()
    ready = [predict(inputs, 1, [], n).ready[COLD_STARTS[0]] for n in (1, 10, 100, 1000)]
    assert ready[0] > ready[1] > ready[2]
    # 123 tasks: 1000 Lambdas are no faster than 123 would be.
    assert predict(inputs, 1, [], 123).ready == predict(inputs, 1, [], 1000).ready
    assert predict(inputs, 1, [], 5000).waves == math.ceil(123 / ACCOUNT_CONCURRENCY)


def test_a_slower_cold_start_costs_twice_on_the_critical_path() -> None:
    p = predict(_inputs(), 1, [], 100)
    low, high = COLD_STARTS[0], COLD_STARTS[-1]
    assert p.ready[high] - p.ready[low] == pytest.approx(2 * (high - low))


def test_one_function_cannot_encode_a_two_hour_film_in_time() -> None:
    inputs = _inputs()
    single = single_function(inputs, 3008)
    # 66 CPU s per 30 s of film on 1.70 vCPU: about 2.6 hours of encoding.
    assert single.seconds > 7200 * 66 / 30 / vcpus(3008)
    assert not single.fits
    assert single.seconds > LAMBDA_TIMEOUT
    assert single_function(_inputs(film=60.0), 10240).fits
