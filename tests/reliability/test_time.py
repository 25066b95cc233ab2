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
from faults import add_interviews
from freezegun import freeze_time

from support.cli import run
from support.inprocess import running, until

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
    from followup.daemon.loop import Daemon
    from followup.daemon.sdnotify import SystemdNotifier
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
                          lambda s, uses=None: {c.name: c for c in channels.build(s)},
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


# A fixed start, far from a new year (see test_snooze).
START = datetime(2026, 6, 3, 8, 0, tzinfo=UTC)


def suspended(clock) -> None:
    """From here on, the monotonic clock is the real one: a move of the wall clock is
    then a suspend (or a clock step), which the monotonic clock does not see."""
    import time

    from freezegun.api import real_monotonic

    time.monotonic = real_monotonic  # freezegun puts its own back when it stops


def test_a_suspend_longer_than_the_horizon_fires_the_due_nudge_at_the_next_rescan(world,
                                                                                  report):
    from faults import add_interviews


    w = world(rescan_seconds=1)
    start = START

    async def scenario(clock) -> dict:
        [added] = add_interviews(w, 1, ago=-timedelta(hours=18))  # due in 18 h
        async with running(w) as daemon:
            loop = asyncio.get_running_loop()
            await until(lambda: daemon.planner.last_look is not None)
            assert daemon.planner.planned == {}  # past the 12 h horizon: no job yet
            jumped = loop.time()
            clock.move_to(start + timedelta(hours=20))  # 20 hours asleep
            await until(lambda: w.nudges_seen() == [(added, 1)])
            return {"seconds": loop.time() - jumped}

    with freeze_time(start, tick=True, real_asyncio=True) as clock:
        suspended(clock)
        seen = asyncio.run(scenario(clock))
    report(f"suspend of 20 h past a nudge 18 h away: it fired {seen['seconds']:.2f} s after "
           "the wake-up (rescans every 1 s)")
    assert seen["seconds"] < 10



def test_a_suspend_of_two_months_fires_the_due_nudge_at_the_next_rescan(world, report):
    """A long sleep costs one rescan, not one per rescan interval missed (two months at
    1 s is five million of them)."""
    from faults import add_interviews

    w = world(rescan_seconds=1)
    start = START

    async def scenario(clock) -> dict:
        [added] = add_interviews(w, 1, ago=-timedelta(days=59))  # due in 59 days
        async with running(w) as daemon:
            loop = asyncio.get_running_loop()
            await until(lambda: daemon.planner.last_look is not None)
            jumped = loop.time()
            clock.move_to(start + timedelta(days=60))  # two months asleep
            await until(lambda: w.nudges_seen() == [(added, 1)])
            return {"seconds": loop.time() - jumped}

    with freeze_time(start, tick=True, real_asyncio=True) as clock:
        suspended(clock)
        seen = asyncio.run(scenario(clock))
    report(f"suspend of 60 days past a nudge 59 days away: it fired {seen['seconds']:.2f} s "
           "after the wake-up (rescans every 1 s)")
    assert seen["seconds"] < 10


OFFICE_HOURS = """
[hours]
days = ["mon", "tue", "wed", "thu", "fri"]
start = "09:00"
end = "17:00"
"""


def test_a_retry_across_a_weekend_waits_for_monday_09_00(world, report, monkeypatch):
    from faults import add_interviews, query

    from support.daemon import ALWAYS_OPEN

    w = world(rescan_seconds=1)
    w.config.write_text(w.config.read_text().replace(ALWAYS_OPEN, OFFICE_HOURS))
    monkeypatch.setenv("FOLLOWUP_TEST_GATE", str(w.gate))  # closed until the file exists
    friday = datetime.fromisoformat("2026-03-06T16:58:00+01:00")
    saturday = datetime.fromisoformat("2026-03-07T03:00:00+01:00")
    monday = datetime.fromisoformat("2026-03-09T09:00:00+01:00")

    def retry_jobs(daemon) -> list:
        return [job.next_run_time for job in daemon.scheduler.get_jobs()
                if job.id.startswith("retry-")]

    async def scenario(clock) -> dict:
        [added] = add_interviews(w, 1, ago=timedelta(minutes=1))
        async with running(w) as daemon:
            # The command fails (its gate is closed) on Friday just before 17:00.
            await until(lambda: query(w, "SELECT status FROM deliveries") == [("retrying",)],
                        what="a failed attempt on Friday")
            w.gate.touch()  # it would work now...
            clock.move_to(saturday)  # ...but the machine wakes up on Saturday night
            await until(lambda: retry_jobs(daemon) and min(retry_jobs(daemon)) >= monday,
                        what="the retry moved to Monday")
            saturday_rescans = daemon.planner.last_look
            await until(lambda: daemon.planner.last_look != saturday_rescans)
            on_saturday = len(w.delivered())
            clock.move_to(monday + timedelta(seconds=1))
            await until(lambda: w.nudges_seen() == [(added, 1)], what="Monday's delivery")
            await until(lambda: query(w, "SELECT status FROM deliveries") == [("delivered",)],
                        what="its record")
            [(delivered_at,)] = query(w, "SELECT delivered_at FROM deliveries")
            return {"saturday": on_saturday, "delivered_at": delivered_at}

    with freeze_time(friday, tick=True, real_asyncio=True) as clock:
        seen = asyncio.run(scenario(clock))
    report(f"retry across a weekend: {seen['saturday']} delivered on Saturday night; "
           f"delivered at {seen['delivered_at']} UTC")
    assert seen["saturday"] == 0
    assert seen["delivered_at"].startswith("2026-03-09 08:00")


def test_a_backward_clock_step_does_not_stop_the_watchdog(world, tmp_path, report):
    import socket

    from followup.daemon.sdnotify import SystemdNotifier

    w = world(rescan_seconds=1)
    address = str(tmp_path / "notify.sock")
    start = START

    async def scenario(clock, listener) -> int:
        pings = []

        def pinged(count: int) -> bool:
            while True:
                try:
                    message = listener.recv(4096).decode()
                except BlockingIOError:
                    return len(pings) >= count
                pings.extend(m for m in [message] if "WATCHDOG=1" in m)

        # WatchdogSec of 0.4 s: a ping every 0.2 s.
        async with running(w, notifier=SystemdNotifier(address, 400_000)):
            await until(lambda: pinged(2), what="the first pings")
            clock.move_to(start - timedelta(days=1))  # the clock steps back a day
            before = len(pings)
            await until(lambda: pinged(before + 10), what="pings after the step")
            return len(pings) - before

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(address)
        listener.setblocking(False)
        with freeze_time(start, tick=True, real_asyncio=True) as clock:
            suspended(clock)
            after = asyncio.run(scenario(clock, listener))
    report(f"wall clock stepped back a day: {after} watchdog pings followed")


def test_loginds_resume_signal_replans_at_once(world, report, monkeypatch):
    from dbus_fast import Message
    from dbus_fast.aio import MessageBus

    from support.dbus import private_bus

    w = world(rescan_seconds=600)  # only the signal can bring the nudge in time
    start = START

    async def scenario(clock, address: str) -> float:
        [added] = add_interviews(w, 1, ago=-timedelta(hours=18))
        logind = await MessageBus(bus_address=address).connect()
        try:
            await logind.request_name("org.freedesktop.login1")
            async with running(w) as daemon:
                loop = asyncio.get_running_loop()
                await until(lambda: daemon.watching_resume, what="the daemon to listen")
                clock.move_to(start + timedelta(hours=20))  # 20 hours asleep
                woke = loop.time()
                await logind.send(Message.new_signal("/org/freedesktop/login1",
                                                     "org.freedesktop.login1.Manager",
                                                     "PrepareForSleep", "b", [False]))
                await until(lambda: w.nudges_seen() == [(added, 1)], what="the nudge")
                return loop.time() - woke
        finally:
            logind.disconnect()

    with private_bus() as address:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", address)
        with freeze_time(start, tick=True, real_asyncio=True) as clock:
            suspended(clock)
            seconds = asyncio.run(scenario(clock, address))
    report(f"logind's PrepareForSleep(false) after 20 h asleep: the nudge fired {seconds:.2f} s "
           "later (rescans every 600 s)")
    assert seconds < 20


@pytest.mark.parametrize("address", ["not-a-bus-address", "unix:path=/nonexistent/bus"])
def test_without_a_usable_system_bus_the_resume_watch_ends_quietly(monkeypatch, address):
    from followup.daemon.resume import watch_resume

    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", address)
    listening = []
    # It returns (the rescans do its work) instead of raising into the daemon's loop.
    assert asyncio.run(asyncio.wait_for(
        watch_resume(lambda: None, lambda: listening.append(True)), 30)) is None
    assert listening == []
