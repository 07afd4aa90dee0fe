"""A few threads that always run the most urgent ready task, for work whose tasks
release the GIL (Pillow's codecs and resamplers) and make more tasks as they finish.

A ThreadPoolExecutor runs tasks in the order they were submitted, and the caller's own
thread keeps working beside it, so on 2 vCPUs three busy threads share two cores and
the longest task (the widest WebP or AVIF, the critical path) is slowed by quick ones
queued around it. Here exactly ``workers`` threads run, each taking the ready task with
the highest priority (the longest chain of work still behind it) whenever it is free.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable

Task = Callable[[], None]


class PriorityWorkers:
    def __init__(self, workers: int) -> None:
        self._workers = max(1, workers)
        self._ready: list[tuple[float, int, Task]] = []
        self._order = itertools.count()  # equal priorities run in the order added
        self._running = 0
        self._error: BaseException | None = None
        self._changed = threading.Condition()

    def add(self, priority: float, task: Task) -> None:
        """Queue ``task``; safe to call from a running task."""
        with self._changed:
            heapq.heappush(self._ready, (-priority, next(self._order), task))
            self._changed.notify()

    def run(self) -> None:
        """Run every task (and every task they add) to the end; the first exception a
        task raised is raised here, after the tasks already running have finished."""
        threads = [threading.Thread(target=self._work) for _ in range(self._workers - 1)]
        for thread in threads:
            thread.start()
        self._work()  # the caller's thread is one of the workers
        for thread in threads:
            thread.join()
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._ready and self._running and self._error is None:
                    self._changed.wait()
                if self._error is not None or not self._ready:
                    self._changed.notify_all()  # nothing left: let the others see it
                    return
                _, _, task = heapq.heappop(self._ready)
                self._running += 1
            try:
                task()
            except BaseException as e:  # handed to run()'s caller
                with self._changed:
                    self._error = self._error or e
            finally:
                with self._changed:
                    self._running -= 1
                    self._changed.notify_all()
