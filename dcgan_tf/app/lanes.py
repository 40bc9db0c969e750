"""Bounded queues in front of worker threads: model inference runs off the event loop, and a
full queue answers at once (``Busy``, a 503 with Retry-After) instead of piling up work.

A job holds its slot until its future is done: it has run, or it was cancelled while queued
(its caller has gone), which frees the slot at once.
"""

import asyncio
import concurrent.futures
import math
import threading
import time


class Busy(Exception):
    """The lane's queue is full; ``retry_after`` is a fair guess of the seconds until it has
    room."""

    def __init__(self, lane: str, retry_after: int):
        super().__init__(f"the {lane} queue is full; retry in {retry_after} s")
        self.retry_after = retry_after


class Lane:
    """One worker thread and at most ``capacity`` jobs waiting or running on it.

    Jobs of a lane run one at a time, in order; each job's result goes to its own caller only.
    """

    def __init__(self, name: str, capacity: int):
        if capacity < 1:
            raise ValueError(f"the {name} lane needs a capacity >= 1, got {capacity}")
        self.name, self.capacity = name, capacity
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._jobs = 0
        self._seconds_per_job = 1.0  # moving average, for Retry-After

    @property
    def jobs(self) -> int:
        """Jobs waiting or running."""
        return self._jobs

    def submit(self, function, *args) -> asyncio.Future:
        """Queues ``function(*args)`` and returns an awaitable of its result (call from the
        event loop). Cancelling the awaitable before the job starts drops the job.

        Raises:
            Busy: when ``capacity`` jobs are already waiting or running.
        """
        with self._lock:
            if self._jobs >= self.capacity:
                raise Busy(self.name, max(1, math.ceil(self._jobs * self._seconds_per_job)))
            self._jobs += 1
        job = self._executor.submit(self._timed, function, *args)
        job.add_done_callback(self._release)  # also called when the job is cancelled
        return asyncio.wrap_future(job)

    async def run(self, function, *args):
        """``submit`` and wait for the result."""
        return await self.submit(function, *args)

    def _timed(self, function, *args):
        start = time.perf_counter()
        try:
            return function(*args)
        finally:
            with self._lock:
                seconds = time.perf_counter() - start
                self._seconds_per_job = 0.8 * self._seconds_per_job + 0.2 * seconds

    def _release(self, job: concurrent.futures.Future) -> None:
        with self._lock:
            self._jobs -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
