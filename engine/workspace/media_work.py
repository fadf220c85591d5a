"""A small, bounded pool for the workspace's media work (thumbnail strips, waveform decodes).

That work runs ffmpeg for up to seconds. On the loop's default executor it held threads
that chat composition and uploads need, and nothing bounded how much of it could pile
up; here it has threads of its own, and a request beyond what they can take answers
503 with a Retry-After at once rather than waiting in line.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from engine.api.envelope import AppError

T = TypeVar("T")


class MediaWork:
    def __init__(self, name: str, workers: int = 2, waiting: int = 4) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self.limit = workers + waiting  # running and queued
        self.taken = 0  # changed on the event loop only

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` on this pool; 503 when it already has as much as it may hold."""
        if self.taken >= self.limit:
            raise AppError(503, "the workspace is busy; try again in a moment", status=503, retry_after=2)
        self.taken += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, work)
        finally:
            self.taken -= 1

    def shutdown(self) -> None:
        """Drop queued work and wait for the running: nothing writes into the data dir afterwards."""
        self.pool.shutdown(wait=True, cancel_futures=True)
