"""Time: nudges land at the right local time across DST changes, and a jump of the
wall clock (as after a suspend) makes a nudge that fell due fire at the next rescan.

The system clock cannot be changed in a test, so the jump is made in-process: the
real Daemon runs in an asyncio loop under freezegun (`real_asyncio=True`, so the
loop keeps real time while the wall clock is moved), with a real store and the
World's recording command channel.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from support.cli import run

pytestmark = pytest.mark.reliability

# (zone, interview in local time, now, the nudge: 3 business days later, same wall time)
DST_CASES = [
    ("Europe/Berlin", "2026-10-23T15:00", "2026-10-23T14:00:00Z", "2026-10-28T15:00:00+01:00"),
    ("Europe/Berlin", "2026-03-27T10:00", "2026-03-27T10:00:00Z", "2026-04-01T10:00:00+02:00"),
    ("Europe/Berlin", "2026-10-24T10:00", "2026-10-24T09:00:00Z", "2026-10-28T10:00:00+01:00"),
    ("America/New_York", "2026-10-30T16:00", "2026-10-30T21:00:00Z",
     "2026-11-04T16:00:00-05:00"),
    ("America/New_York", "2026-03-06T09:30", "2026-03-06T15:00:00Z",
     "2026-03-11T09:30:00-04:00"),
]


@pytest.mark.parametrize(("zone", "interview", "now", "nudge"), DST_CASES)
def test_a_nudge_across_a_dst_change_lands_at_the_same_local_time(capsys, tmp_path, zone,
                                                                 interview, now, nudge):
    config = tmp_path / "followup.toml"
    config.write_text(f'timezone = "{zone}"\n[database]\nurl = "sqlite:///{tmp_path}/f.db"\n')
    with freeze_time(now):
        assert run(capsys, "--config", str(config), "add", "--company", "Acme", "--role",
                   "Engineer", "--at", interview).code == 0
        due = run(capsys, "--config", str(config), "due", "--json").json()
    assert [(d["number"], d["fire_at"]) for d in due] == [(1, nudge)]


def test_a_wall_clock_jump_fires_the_due_nudge_at_the_next_rescan(world, report):
    from followup import channels, config
    from followup.app import App, InterviewInput
    from followup.daemon import Daemon
    from followup.sdnotify import SystemdNotifier
    from followup.store import Store

    class Observed(Daemon):
        rescans = 0

        async def _rescan(self) -> None:
            self.rescans += 1
            await super()._rescan()

    w = world(rescan_seconds=1)
    settings = config.load(w.config)
    start = datetime.now(UTC).replace(microsecond=0)
    fire_at = start + timedelta(hours=3)  # hours away: only the jump can bring it

    async def scenario(clock) -> dict:
        app = App(settings)
        added = app.add(InterviewInput(company="Later", role="Engineer",
                                       at=fire_at.isoformat())).interview.id
        app.store.close()
        daemon = Observed(settings, Store.open(settings.database_url),
                          lambda s: {c.name: c for c in channels.build(s)},
                          lambda: settings, app.now, notifier=SystemdNotifier(None))
        running = asyncio.create_task(daemon.run())
        loop = asyncio.get_running_loop()
        try:
            await until(lambda: added in daemon.planner.planned and daemon.rescans >= 3)
            assert w.delivered() == []  # three rescans, hours before its time: nothing
            before, jumped = daemon.rescans, loop.time()
            clock.move_to(fire_at + timedelta(minutes=1))  # the machine wakes up
            await until(lambda: w.nudges_seen() == [(added, 1)])
            return {"seconds": loop.time() - jumped, "rescans": daemon.rescans - before}
        finally:
            daemon._on_stop()  # as SIGTERM does
            await asyncio.wait_for(running, 20)

    with freeze_time(start, tick=True, real_asyncio=True) as clock:
        seen = asyncio.run(scenario(clock))
    report(f"wall-clock jump of 3 h: the nudge fired {seen['seconds']:.2f} s after the jump, "
           f"within {seen['rescans']} rescan(s) of 1 s")
    assert seen["seconds"] < 5


async def until(condition, timeout: float = 30.0) -> None:
    """Poll `condition` on the loop's (real) clock, giving the daemon the loop meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s")
        await asyncio.sleep(0.05)
