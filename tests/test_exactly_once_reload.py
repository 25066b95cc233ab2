"""DESIGN "Exactly once" across a reload: an attempt started before a SIGHUP is still
the daemon's at a stop (found by the chaos run: SIGHUP, then SIGTERM while a slow
SMTP server held an email). Past the stop grace it is recorded "in doubt", never left
unrecorded for the next daemon to send again.

The daemon runs in the test's own event loop (support.inprocess) on the real store
and the real command channel, held by the test; each test runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio

import pytest

from support.attempts import held_command, statuses_in
from support.inprocess import running, until


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, world):
    if request.param == "sqlite":
        return world
    make_url = request.getfixturevalue("postgres_url")
    return lambda **options: world(database_url=make_url(), **options)


def test_an_attempt_begun_before_a_reload_is_recorded_in_doubt_at_the_stop(
        world, monkeypatch, caplog):
    from followup.daemon import loop

    monkeypatch.setattr(loop, "STOP_GRACE", 1.0)
    w = world(rescan_seconds=1)
    release = held_command(w)
    added = w.add("Acme")

    async def first() -> None:
        async with running(w) as daemon:
            await until(lambda: "claimed nudge 1" in caplog.text, what="the claim")
            await daemon.reload()  # SIGHUP, then SIGTERM as the block ends

    async def second() -> None:
        async with running(w) as daemon:
            await daemon.planner.rescan()
            await until(lambda: not daemon.handover.tasks and not any(
                job.id.startswith("retry-") for job in daemon.scheduler.get_jobs()),
                what="the second daemon to settle")

    caplog.set_level("INFO")
    asyncio.run(first())
    release.touch()  # too late: the stop ended the held program
    asyncio.run(second())
    assert w.nudges_seen() == []  # and the next daemon did not send it again
    assert statuses_in(w, added) == ["in doubt"]

