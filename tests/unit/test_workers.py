import threading
import time

import pytest
from lumiere.media.workers import PriorityWorkers


def test_the_most_urgent_ready_task_runs_first() -> None:
    workers = PriorityWorkers(1)
    ran: list[str] = []
    for name, priority in [("low", 1.0), ("high", 9.0), ("middle", 5.0), ("also low", 1.0)]:
        workers.add(priority, lambda n=name: ran.append(n))
    workers.run()
    assert ran == ["high", "middle", "low", "also low"]


def test_tasks_add_tasks_and_everything_runs() -> None:
    workers = PriorityWorkers(2)
    done: list[int] = []
    lock = threading.Lock()

    def step(n: int) -> None:
        with lock:
            done.append(n)
        if n < 20:
            workers.add(float(n), lambda: step(n + 1))
            workers.add(0.0, lambda: step(100 + n))

    workers.add(1.0, lambda: step(0))
    workers.run()
    assert sorted(done) == list(range(21)) + list(range(100, 120))


def test_never_more_than_the_given_number_run_at_once() -> None:
    workers = PriorityWorkers(2)
    running = peak = 0
    lock = threading.Lock()

    def task() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1

    for _ in range(8):
        workers.add(1.0, task)
    workers.run()
    assert peak == 2


def test_a_failing_task_stops_the_rest_and_raises() -> None:
    workers = PriorityWorkers(2)
    ran: list[int] = []

    def boom() -> None:
        raise ValueError("encoder failed")

    workers.add(10.0, boom)
    for i in range(50):
        workers.add(0.0, lambda i=i: (time.sleep(0.001), ran.append(i)))
    with pytest.raises(ValueError, match="encoder failed"):
        workers.run()
    assert len(ran) < 50
