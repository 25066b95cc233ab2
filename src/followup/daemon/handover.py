"""Handing what falls due to the dispatcher, and waiting for it at a stop.

Nudges falling due together (within BATCH_WINDOW) go as one dispatch, so
that many make one digest. Each dispatch runs as a task while the leases of
its deliveries are renewed in the database (see `pickup.leases_renewed`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial

from followup.daemon import pickup
from followup.daemon.dispatch import Dispatcher, record_in_doubt
from followup.daemon.planner import Planner
from followup.daemon.recording import until_written
from followup.daemon.work import Due, Retry

log = logging.getLogger("followup")

BATCH_WINDOW = 0.05  # seconds to gather nudges falling due together (for a digest)
# Seconds a stop waits, after its grace, for the database to take the attempts' records
# (in doubt, or an outcome being written): within systemd's TimeoutStopSec (20 s).
RECORD_GRACE = 6.0


class Handover:
    """Gathers the planner's due nudges and retries into dispatches (see `use`)."""

    def __init__(self, planner: Planner, owner: str, stopping: Callable[[], bool]) -> None:
        self.planner = planner
        self.owner = owner
        self.stopping = stopping
        self.dispatcher: Dispatcher | None = None
        self.lease_seconds = 0.0
        self.batch: tuple[list[Due], list[Retry]] = ([], [])
        self.flush_handle: asyncio.TimerHandle | None = None
        self.tasks: set[asyncio.Task] = set()

    def use(self, dispatcher: Dispatcher, lease_seconds: float) -> None:
        """Dispatch with these from now on (after start or a reload)."""
        self.dispatcher, self.lease_seconds = dispatcher, lease_seconds

    def due(self, due: Due) -> None:
        self.batch[0].append(due)
        self._flush_soon()

    def retry(self, retry: Retry) -> None:
        self.batch[1].append(retry)
        self._flush_soon()

    def cancel(self) -> None:
        """Nothing gathered so far goes out (stopping: the next daemon's scan finds it)."""
        if self.flush_handle is not None:
            self.flush_handle.cancel()

    async def settle(self, grace: float) -> set[asyncio.Task]:
        """Wait up to `grace` seconds for the dispatches under way; returns those left."""
        if not self.tasks:
            return set()
        _, pending = await asyncio.wait(self.tasks, timeout=grace)
        return pending

    async def finish(self, grace: float) -> None:
        """Stopping: wait up to `grace` seconds for the dispatches under way; the attempts
        still sending then are recorded "in doubt" (never sent again blindly), and
        what has not started is let go (the next daemon takes it up)."""
        left = await self.settle(grace)
        if not left:
            return
        if self.dispatcher is not None:
            # Written however briefly the database is away (a server restarting): an
            # attempt left unrecorded is taken up again once its lease lapses, and sent
            # twice. Then the outcomes still being written get the same bound.
            clock = asyncio.get_running_loop().time
            ends = clock() + RECORD_GRACE
            try:
                await asyncio.wait_for(until_written(
                    partial(record_in_doubt, self.dispatcher), "the attempts still sending"),
                    RECORD_GRACE)
                _, left = await asyncio.wait(left, timeout=max(ends - clock(), 0))
            except TimeoutError:
                log.error("the database did not come back within %g s of the stop: the "
                          "attempts still sending are left to their leases", RECORD_GRACE)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    def _flush_soon(self) -> None:
        """Gather what falls due together, so that many nudges make one digest."""
        if self.flush_handle is None:
            loop = asyncio.get_running_loop()
            self.flush_handle = loop.call_later(BATCH_WINDOW, self._flush)

    def _flush(self) -> None:
        self.flush_handle = None
        due, retries = self.batch
        self.batch = ([], [])
        if self.stopping() or self.dispatcher is None:
            return
        task = asyncio.get_running_loop().create_task(
            self._dispatch(self.dispatcher, due, retries))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _dispatch(self, dispatcher: Dispatcher, due: list[Due],
                        retries: list[Retry]) -> None:
        try:
            every = self.lease_seconds / 3
            async with pickup.leases_renewed(dispatcher.store, self.owner, every,
                                             dispatcher.in_flight):
                await dispatcher.dispatch(due, retries)
        except Exception:
            log.exception("delivery failed unexpectedly; the next rescan tries again")
            self.planner.full_scan_wanted = True  # whatever went wrong, look at everything
        finally:
            for item in due:  # claimed or not, the next rescan plans what is left
                self.planner.forget(item)
