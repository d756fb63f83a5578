"""A bounded pool for blocking inference, so the event loop never waits on numpy.

At most ``workers`` readings run at once and at most ``queue_size`` more wait; beyond that
:meth:`InferencePool.run` raises :class:`Busy` at once (the route answers 429 with Retry-After).
A reading that outlasts its timeout answers :class:`TimedOut`; its thread finishes the work in
the background and only then frees its slot, so the bound always holds.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Busy(Exception):
    pass


class TimedOut(Exception):
    pass


class InferencePool:
    def __init__(self, workers: int, queue_size: int, *, on_done: Callable[[float], None] | None = None) -> None:
        self.workers = workers
        self.capacity = workers + queue_size
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="caliber-infer")
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._lock = threading.Lock()
        self._admitted = 0
        self._on_done = on_done

    @property
    def admitted(self) -> int:
        """Readings running or waiting."""
        return self._admitted

    def _take(self, blocking: bool) -> bool:
        if not self._slots.acquire(blocking=blocking):
            return False
        with self._lock:
            self._admitted += 1
        return True

    def _give(self, _fut: Future[Any] | None = None) -> None:
        with self._lock:
            self._admitted -= 1
        self._slots.release()

    def _submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        def timed() -> T:
            t0 = time.perf_counter()
            try:
                return fn(*args)
            finally:
                if self._on_done is not None:
                    self._on_done(time.perf_counter() - t0)

        try:
            fut = self._executor.submit(timed)
        except BaseException:
            self._give()
            raise
        fut.add_done_callback(self._give)
        return fut

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        if not self._take(blocking=False):
            raise Busy
        fut = self._submit(fn, *args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), timeout)
        except TimeoutError as exc:
            raise TimedOut from exc

    def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """For background jobs: wait for a slot instead of refusing."""
        self._take(blocking=True)
        return self._submit(fn, *args).result()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
