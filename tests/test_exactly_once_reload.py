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
import json
import sys

import pytest

from support.inprocess import running, until

HELD = """\
import json, os, sys, time
data = json.loads(sys.stdin.read())
deadline = time.monotonic() + 120
while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.05)
with open(sys.argv[1], "a") as out:
    out.write(json.dumps(data) + "\\n")
"""


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
    script, release = w.folder / "held.py", w.folder / "release"
    script.write_text(HELD)
    argv = json.dumps([sys.executable, str(script), str(w.delivered_file), str(release)])
    text = w.config.read_text()
    start = text.index("argv = ")
    w.config.write_text(text[:start] + f"argv = {argv}" + text[text.index("\n", start):])
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


def statuses_in(w, interview_id: int) -> list[str]:
    import sqlalchemy as sa

    from followup.store import Store
    from followup.store.tables import deliveries, nudges

    store = Store.open(w.database_url)
    try:
        with store.engine.connect() as conn:
            return list(conn.execute(sa.select(deliveries.c.status)
                                     .join(nudges, deliveries.c.nudge_id == nudges.c.id)
                                     .where(nudges.c.interview_id == interview_id)).scalars())
    finally:
        store.close()
