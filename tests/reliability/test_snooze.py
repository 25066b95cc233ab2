"""Snoozes across real time: a snoozed nudge comes back once, when the snooze promised.

The daemon runs in this process (see support.inprocess) so that the wall clock
can be moved a day or five weeks ahead; store, rules and channels are real.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from faults import add_interviews, query
from freezegun import freeze_time

from support.inprocess import running, until

pytestmark = pytest.mark.reliability

# A fixed start, far from a new year: freezegun moving the clock across one made a
# worker-thread call in the daemon never return (seen only under freezegun).
START = datetime(2026, 6, 3, 8, 0, tzinfo=UTC)


def buttons(world):
    """What the notification's buttons call: the use cases, on the daemon's settings."""
    from followup import config
    from followup.app import App

    return App(config.load(world.config))


def test_snoozing_a_fired_nudge_brings_it_back_once_after_the_snooze(world, report):
    w = world(rescan_seconds=1)
    start = START

    async def scenario(clock) -> list:
        [added] = add_interviews(w, 1)
        async with running(w) as daemon:
            await until(lambda: query(w, "SELECT status FROM deliveries") == [("delivered",)],
                        what="nudge 1")
            await buttons(w).on_action("snooze", added, 1)  # "Snooze 1 day" on nudge 1
            clock.move_to(start + timedelta(days=1, minutes=1))
            await until(lambda: w.nudges_seen() == [(added, 1), (added, 1)],
                        what="nudge 1 again")
            await until(lambda: query(w, "SELECT status FROM deliveries") == [("delivered",)],
                        what="the new delivery recorded")
            clock.move_to(start + timedelta(days=2, minutes=2))
            jumped = daemon.now()
            await until(lambda: daemon.planner.last_full_scan >= jumped, what="a full scan")
            return query(w, "SELECT number, fired_at FROM nudges")

    with freeze_time(start, tick=True, real_asyncio=True) as clock:
        nudges = asyncio.run(scenario(clock))
    report(f"snooze 1 day after nudge 1: it came back once; nudges in the database: {nudges}")
    assert [number for number, _ in nudges] == [1]  # same number, the cap unchanged
    assert nudges[0][1].startswith(f"{start + timedelta(days=1):%Y-%m-%d}")
    assert len(w.nudges_seen()) == 2


def test_a_nudge_snoozed_past_stale_after_days_comes_when_due_promised(world, report):
    from followup import config
    from followup.app import App

    w = world(rescan_seconds=1)
    start = START

    async def scenario(clock) -> dict:
        [added] = add_interviews(w, 1, ago=timedelta(days=3))
        app = App(config.load(w.config))
        app.snooze(added, "5w")  # the window opened 3 days ago: 38 days by then (> 30)
        coming, stale = app.due(60)
        app.store.close()
        promised = coming[0].due_next.fire_at
        async with running(w):
            await until(lambda: query(w, "SELECT count(*) FROM nudges") == [(0,)])
            clock.move_to(promised + timedelta(seconds=30))
            await until(lambda: w.nudges_seen() == [(added, 1)], what="the snoozed nudge")
        return {"coming": len(coming), "stale": len(stale), "promised": promised}

    with freeze_time(start, tick=True, real_asyncio=True) as clock:
        seen = asyncio.run(scenario(clock))
    report(f"snoozed 5 weeks, 38 days after its window opened: `due` promised "
           f"{seen['promised']:%Y-%m-%d %H:%M} UTC and the daemon delivered it then")
    assert (seen["coming"], seen["stale"]) == (1, 0)
