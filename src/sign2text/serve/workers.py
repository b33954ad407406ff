"""A bounded pool of worker threads, each lending one non-thread-safe resource.

A :class:`~sign2text.runtime.Recognizer` is not thread-safe (it owns a MediaPipe
graph), so the pool creates ``size`` of them up front and runs at most ``size`` jobs
at once on ``size`` threads; a job borrows one recognizer for its whole run. At most
``queue_size`` more jobs may wait; beyond that :meth:`WorkerPool.run` raises
:class:`BusyError` at once (the API answers 503 with ``Retry-After``) instead of
letting a queue grow without bound.
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Closable(Protocol):
    def close(self) -> None: ...


R = TypeVar("R", bound=Closable)


class BusyError(Exception):
    """The pool's workers and queue are full."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"all workers are busy and the queue is full; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class PoolClosedError(Exception):
    """The pool was shut down (the server is stopping)."""


class WorkerPool(Generic[R]):
    """``size`` threads, one resource each, and room for ``queue_size`` waiting jobs."""

    def __init__(self, name: str, resources: Sequence[R], queue_size: int) -> None:
        if not resources:
            raise ValueError("a worker pool needs at least one resource")
        self.name = name
        self.size = len(resources)
        self.queue_size = max(0, int(queue_size))
        self.capacity = self.size + self.queue_size
        self._free: queue.SimpleQueue[R] = queue.SimpleQueue()
        self._all = list(resources)
        for res in self._all:
            self._free.put(res)
        self._executor = ThreadPoolExecutor(self.size, thread_name_prefix=f"sign2text-{name}")
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False
        self._mean_s = 1.0  # moving average of job durations (for Retry-After)

    # --- state -----------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Jobs admitted and not finished (running + waiting)."""
        return self._pending

    @property
    def alive(self) -> bool:
        return not self._closed

    def full(self) -> bool:
        return self._pending >= self.capacity

    def retry_after_s(self) -> int:
        """A hint for clients: about one job's duration per worker round to drain."""
        rounds = max(1, math.ceil((self._pending - self.size + 1) / self.size))
        return max(1, math.ceil(self._mean_s * rounds))

    # --- running jobs --------------------------------------------------------------

    def _job(self, fn: Callable[[R], T], submitted: float) -> tuple[T, float]:
        started = time.perf_counter()
        res = self._free.get_nowait()  # never empty: at most `size` jobs run at once
        try:
            return fn(res), (started - submitted) * 1000.0
        finally:
            self._free.put(res)
            took = time.perf_counter() - started
            with self._lock:
                self._mean_s = 0.8 * self._mean_s + 0.2 * took

    def _release(self, _future: Future[tuple[T, float]]) -> None:
        with self._lock:
            self._pending -= 1

    async def run(self, fn: Callable[[R], T], *, bounded: bool = True) -> tuple[T, float]:
        """Run ``fn(resource)`` on a worker; return its result and the ms it waited.

        ``bounded=False`` skips the admission check (for callers bounded elsewhere,
        such as one frame at a time per open stream). Cancelling the awaiting task
        drops a job still waiting; a running job finishes and frees its slot then.
        """
        with self._lock:
            if self._closed:
                raise PoolClosedError(f"{self.name} pool is closed")
            if bounded and self._pending >= self.capacity:
                raise BusyError(self.retry_after_s())
            self._pending += 1
        try:
            future = self._executor.submit(self._job, fn, time.perf_counter())
        except RuntimeError:  # shut down between the check and the submit
            with self._lock:
                self._pending -= 1
            raise PoolClosedError(f"{self.name} pool is closed") from None
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Drop waiting jobs, wait for running ones, release every resource."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        for res in self._all:
            try:
                res.close()
            except Exception:  # one bad resource must not keep the others open
                log.exception("closing a %s worker resource failed", self.name)
