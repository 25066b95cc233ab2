"""The periodic rescan's timer: one rescan at a time, the next planned
`rescan_seconds` after the last one ended.

It runs on the event loop's monotonic clock (as the watchdog), not as an
APScheduler interval job: after a suspend or a clock step such a job steps
through every run it missed before it runs once (two months at 1 s: five
million, half a minute of CPU). What a rescan does is the planner's job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("followup")


class RescanTimer:
    """Runs `rescan` every `seconds()` (read when each wait begins), until `stopping()`."""

    def __init__(self, rescan: Callable[[], Awaitable[None]], seconds: Callable[[], float],
                 stopping: Callable[[], bool]) -> None:
        self.rescan = rescan
        self.seconds = seconds
        self.stopping = stopping
        self.running: asyncio.Task | None = None  # a rescan under way
        self.handle: asyncio.TimerHandle | None = None  # the next rescan

    def schedule(self) -> None:
        """The next rescan, `seconds()` from now (instead of any planned before)."""
        self.cancel()
        self.handle = asyncio.get_running_loop().call_later(self.seconds(), self._start)

    def cancel(self) -> None:
        """No next rescan (one under way goes on)."""
        if self.handle is not None:
            self.handle.cancel()

    async def finish(self, grace: float) -> None:
        """Let a rescan under way finish its reads (stopping, or leaving a database);
        past `grace` seconds it is cancelled: the next full scan does its work again."""
        if self.running is not None:
            done, _ = await asyncio.wait({self.running}, timeout=grace)
            if not done:
                log.warning("gave up on a rescan that waited on the database")
                self.running.cancel()
                await asyncio.gather(self.running, return_exceptions=True)

    def _start(self) -> None:
        self.handle = None
        if self.running is None and not self.stopping():
            self.running = asyncio.get_running_loop().create_task(self.rescan())
            self.running.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task) -> None:
        """One rescan at a time: the next is planned when this one ends."""
        self.running = None
        if task.cancelled():
            return
        if task.exception() is not None:
            error = task.exception()
            log.error("rescan failed, trying again at the next: %s", error,
                      exc_info=(type(error), error, error.__traceback__))
        if not self.stopping():
            self.schedule()
