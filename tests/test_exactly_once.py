"""DESIGN "Exactly once": the races, timeouts and stops that could deliver a nudge
twice (or never), each widened on purpose by an explicit hook in the test (a store
subclass that runs the racing step at the worst moment), never by a sleep.

The daemon runs in the test's own event loop (support.inprocess) on the real
store and the real command channel; each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio

import pytest

from support.inprocess import running, until


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, world):
    if request.param == "sqlite":
        return world
    make_url = request.getfixturevalue("postgres_url")
    return lambda **options: world(database_url=make_url(), **options)


def _settled(daemon) -> bool:
    """Nothing more will happen without a new change: no retry planned, no dispatch."""
    return (not any(job.id.startswith("retry-") for job in daemon.scheduler.get_jobs())
            and not daemon.handover.tasks and not daemon.handover.batch[1])


def test_a_catch_up_reading_a_fresh_claim_does_not_deliver_it_a_second_time(world):
    """Item 1: the claim has committed, the dispatch has not started its attempt yet;
    a catch-up (a rescan, or the claim's own NOTIFY) reads the pending delivery,
    owned by this very process, in between. It must not be taken again."""
    from followup.store import Store

    w = world(rescan_seconds=600)
    added = w.add("Acme")
    caught_up = []

    class CatchUpAfterClaim(Store):
        daemon = None

        def claim_nudge(self, *args, **kwargs):
            record = super().claim_nudge(*args, **kwargs)
            if record is not None and not caught_up:  # committed; in this worker thread
                caught_up.append(True)
                planner = self.daemon.planner
                asyncio.run_coroutine_threadsafe(planner.catch_up(), self.loop).result(30)
                asyncio.run_coroutine_threadsafe(planner.rescan(), self.loop).result(30)
            return record

    async def scenario() -> None:
        store = CatchUpAfterClaim(Store.open(w.database_url).engine)
        store.loop = asyncio.get_running_loop()
        from followup.daemon.loop import Daemon

        class Hooked(Daemon):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                store.daemon = self

        async with running(w, store=store, daemon_class=Hooked) as daemon:
            await until(lambda: caught_up and w.nudges_seen(), what="the first delivery")
            await until(lambda: _settled(daemon), what="the daemon to settle")
            await daemon.planner.rescan()
            await until(lambda: _settled(daemon), what="the daemon to settle again")

    asyncio.run(scenario())
    assert w.nudges_seen() == [(added, 1)]
