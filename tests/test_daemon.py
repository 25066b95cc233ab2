"""`followup run` as a real subprocess against real databases: SQLite files and a
PostgreSQL server (each test runs on both).

The command channel (a small script) records each nudge to a file; the
tests read that file. Working hours are always open unless a test says so.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from support.daemon import add_interviews, wait_for
from support.dbus import bus_address_fixture, notification_server_fixture  # noqa: F401


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, world):
    """Every test here runs on both engines: PostgreSQL worlds get a fresh database."""
    if request.param == "sqlite":
        return world
    make_url = request.getfixturevalue("postgres_url")
    return lambda **options: world(database_url=make_url(), **options)


def test_a_due_nudge_fires_once_and_a_restart_does_not_repeat_it(world):
    w = world()
    first = w.add("Acme")
    daemon = w.start()
    wait_for(lambda: w.nudges_seen() == [(first, 1)], what="the nudge")
    shown = w.cli("show", str(first), "--json").stdout
    assert '"status": "delivered"' in shown
    assert daemon.stop() == 0
    again = w.start()
    again.wait_started()
    w.add("Beta")  # proves the restarted daemon is working before we count
    wait_for(lambda: len(w.delivered()) == 2, what="the second nudge")
    assert again.stop() == 0
    assert Counter(w.nudges_seen()).most_common(1)[0][1] == 1


def test_a_cli_change_reaches_the_daemon_without_waiting_for_a_rescan(world):
    # With ten minutes between rescans, only the CLI's poke can bring the nudge in time.
    w = world(rescan_seconds=600)
    daemon = w.start()
    daemon.wait_started()
    added = w.add("Acme")
    wait_for(lambda: w.nudges_seen() == [(added, 1)], timeout=30, what="the poked nudge")
    w.cli("sent", str(added))  # number 2 is now a week away: nothing more comes
    assert daemon.stop() == 0
    assert w.nudges_seen() == [(added, 1)]


def test_sigterm_and_sigint_exit_0(world):
    w = world()
    for signum in (signal.SIGTERM, signal.SIGINT):
        daemon = w.start()
        daemon.wait_started()
        daemon.signal(signum)
        assert daemon.process.wait(15) == 0
        assert "stopped" in daemon.text()


def test_an_invalid_configuration_exits_78(world):
    w = world()
    w.config.write_text(w.config.read_text().replace("second_after_days = 7",
                                                     "second_after_days = 700"))
    daemon = w.start()
    assert daemon.process.wait(30) == 78
    assert "[rules] second_after_days" in daemon.text() and "Traceback" not in daemon.text()


def test_a_stale_interview_is_not_nudged(world):
    w = world(extra="")
    w.config.write_text(w.config.read_text().replace(
        "business_days = false", "business_days = false\nstale_after_days = 30"))
    old = w.add("Old", ago=timedelta(days=45))
    fresh = w.add("Fresh")
    daemon = w.start()
    wait_for(lambda: w.nudges_seen() == [(fresh, 1)], what="the fresh nudge")
    daemon.stop()
    assert (old, 1) not in w.nudges_seen()
    assert "stale_after_days" in w.cli("show", str(old), "--json").stdout


def test_a_failing_channel_is_retried_and_delivers_once(world):
    w = world()
    added = w.add("Acme")
    daemon = w.start(FOLLOWUP_TEST_GATE=str(w.gate))
    wait_for(lambda: "failed for nudge 1" in daemon.text(), what="a failed attempt")
    assert w.delivered() == []
    w.gate.touch()  # the channel recovers
    wait_for(lambda: w.nudges_seen() == [(added, 1)], what="the retried nudge")
    assert daemon.stop() == 0
    assert w.nudges_seen() == [(added, 1)]
    shown = w.cli("show", str(added), "--json").stdout
    assert '"status": "delivered"' in shown and '"attempts": 1' not in shown


def test_two_daemons_on_one_database_deliver_each_nudge_once(world):
    w = world()
    ids = add_interviews(w, 12)
    first, second = w.start(), w.start()
    wait_for(lambda: len(w.delivered()) >= 12, what="twelve nudges")
    ids += add_interviews(w, 8, prefix="Later")
    wait_for(lambda: len(w.delivered()) >= 20, what="twenty nudges")
    first.stop(), second.stop()
    assert sorted(w.nudges_seen()) == sorted((i, 1) for i in ids)


def test_kill_9_loses_nothing(world):
    w = world()
    ids = add_interviews(w, 30)
    rng = random.Random(7)
    kills = 0
    while len(set(w.nudges_seen())) < len(ids) and kills < 6:
        daemon = w.start()
        time.sleep(rng.uniform(0.3, 1.5))  # a random moment: this is the fault, not a wait
        daemon.process.kill()
        daemon.process.wait(10)
        kills += 1
    last = w.start()
    last.wait_started()
    wait_for(lambda: set(w.nudges_seen()) == {(i, 1) for i in ids}, timeout=60, what="every nudge")
    assert last.stop() == 0
    counts = Counter(w.nudges_seen())
    duplicated = sum(n - 1 for n in counts.values())
    # A duplicate is possible only for a kill between the channel's success and the
    # record of it: at most one per kill.
    assert duplicated <= kills


def test_many_nudges_after_downtime_make_one_digest_for_email(world, smtp_server):
    server = smtp_server()
    w = world(extra=f"""
[notify.email]
enabled = true
to = "me@example.com"
from = "followup@example.com"
host = "{server.host}"
port = {server.port}
security = "none"
""")
    ids = add_interviews(w, 5, ago=timedelta(days=2))
    daemon = w.start()
    wait_for(lambda: len(w.delivered()) == 5 and server.handler.received,
             what="five commands and one email")
    wait_for(lambda: "delivered nudge 1 for interview" in daemon.text()
             and daemon.text().count("by email") >= 5, what="the email recorded")
    daemon.stop()
    assert len(server.handler.received) == 1
    message = server.handler.received[0].message
    assert "5 follow-ups" in message["Subject"]
    body = message.get_content()
    assert all(f"Company {n}" in body for n in range(5))
    assert sorted(w.nudges_seen()) == sorted((i, 1) for i in ids)


def test_sighup_rereads_the_configuration_and_keeps_it_when_broken(world):
    w = world()
    daemon = w.start()
    daemon.wait_started()
    good = w.config.read_text()
    w.config.write_text(good.replace("second_after_days = 7", "second_after_days = 700"))
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in daemon.text(), what="the refused reload")
    assert daemon.process.poll() is None
    w.config.write_text(good.replace("[notify.command]\nenabled = true",
                                     "[notify.command]\nenabled = false"))
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: "reloaded" in daemon.text(), what="the reload")
    w.add("Acme")
    wait_for(lambda: "no channel is enabled" in daemon.text(), what="the new settings")
    assert daemon.stop() == 0
    assert w.delivered() == []


def test_a_daemon_started_without_a_channel_says_so_once(world):
    w = world()
    w.config.write_text(w.config.read_text().replace("[notify.command]\nenabled = true",
                                                     "[notify.command]\nenabled = false"))
    daemon = w.start()
    daemon.wait_started()
    assert daemon.stop() == 0
    assert daemon.text().count("no channel is enabled") == 1, daemon.text()


def test_systemd_notify_protocol(world, tmp_path):
    w = world()
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(address)
        listener.settimeout(30)
        daemon = w.start(NOTIFY_SOCKET=address, WATCHDOG_USEC="400000")
        seen: list[str] = []

        def receive(word: str) -> bool:
            while not any(word in message for message in seen):
                seen.append(listener.recv(4096).decode())
            return True

        receive("READY=1")
        assert any("STATUS=0 waiting interview(s)" in m for m in seen)
        receive("WATCHDOG=1")
        daemon.signal(signal.SIGTERM)
        receive("STOPPING=1")
        assert daemon.process.wait(15) == 0


def test_journald_gets_lines_without_timestamps(world):
    w = world()
    daemon = w.start(JOURNAL_STREAM="8:12345")
    daemon.wait_started()
    daemon.stop()
    first = daemon.text().splitlines()[0]
    assert first.startswith("INFO started:"), first


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux only")
def test_a_wall_clock_jump_is_caught_by_the_rescan(world):
    # A nudge whose time is in the future by the wall clock fires at the rescan after
    # the wall clock passes it, without the scheduler's own (monotonic) sleep ending.
    w = world(first_after_days=0)
    daemon = w.start()
    daemon.wait_started()
    added = w.add("Later", ago=timedelta(seconds=-3))  # due in three seconds
    wait_for(lambda: w.nudges_seen() == [(added, 1)], timeout=30, what="the nudge")
    daemon.stop()


def test_notification_buttons_reach_the_database(world, notification_server, bus_address):
    w = world(command=False)
    w.config.write_text(w.config.read_text().replace("[notify.desktop]\nenabled = false",
                                                     "[notify.desktop]\nenabled = true"))
    acme, beta = w.add("Acme"), w.add("Beta")
    daemon = w.start(DBUS_SESSION_BUS_ADDRESS=bus_address)
    shown = notification_server.wait_for_shown(2, timeout=30)
    by_company = {s.summary.split()[-1]: s for s in shown}
    assert set(by_company["Acme"].actions) == {"draft", "sent", "snooze"}
    # A person presses a button after seeing it; the daemon has recorded both by then.
    wait_for(lambda: daemon.text().count("by desktop") == 2, what="both recorded")
    notification_server.invoke_action(by_company["Acme"].id, "sent")
    notification_server.invoke_action(by_company["Beta"].id, "snooze")

    def followups_of(interview_id: int) -> dict:
        return json.loads(w.cli("show", str(interview_id), "--json").stdout)

    wait_for(lambda: followups_of(acme)["followups_sent"] == 1, what="the sent action")
    wait_for(lambda: followups_of(beta)["snoozed_until"] is not None, what="the snooze")
    assert daemon.stop() == 0


# --- the life of a delivery ---------------------------------------------------------------


def deliveries_of(w, interview_id: int) -> list[dict]:
    shown = json.loads(w.cli("show", str(interview_id), "--json").stdout)
    return [d for nudge in shown["nudges"] for d in nudge["deliveries"]]


def statuses(w, interview_id: int) -> list[str]:
    return [d["state"] for d in deliveries_of(w, interview_id)]


def test_a_retry_no_longer_wanted_is_cancelled_and_never_taken_again(world):
    w = world()
    added = w.add("Acme")
    daemon = w.start(FOLLOWUP_TEST_GATE=str(w.gate))
    wait_for(lambda: "failed for nudge 1" in daemon.text(), what="a failed attempt")
    w.cli("heard", str(added))
    wait_for(lambda: statuses(w, added) == ["cancelled"], what="the cancel")
    [cancelled] = deliveries_of(w, added)
    w.gate.touch()
    w.add("Beta")  # the daemon is alive and delivering: Beta arrives...
    wait_for(lambda: len(w.delivered()) == 1, what="Beta's nudge")
    assert daemon.stop() == 0
    assert w.nudges_seen() != [(added, 1)] and len(w.nudges_seen()) == 1  # ...Acme never
    assert deliveries_of(w, added) == [cancelled]
    assert cancelled["error"] == "not sent: the employer replied"
    assert daemon.text().count("cancelled the command delivery") == 1


def test_a_failure_that_needs_a_fix_gives_up_after_five_attempts_and_show_says_so(world):
    w = world()
    w.config.write_text(w.config.read_text().replace('argv = ["', 'argv = ["/nonexistent/x", "'))
    added = w.add("Acme")
    daemon = w.start()
    wait_for(lambda: statuses(w, added) == ["gave up"], timeout=60,
             what="giving up")
    [delivery] = deliveries_of(w, added)
    assert delivery["attempts"] == 5
    assert delivery["error"].startswith("after 5 attempts: the command '/nonexistent/x' was "
                                        "not found")
    assert "command gave up (after 5 attempts" in w.cli("show", str(added)).stdout
    assert daemon.stop() == 0
    log = daemon.text()
    # Logged once when it started failing, once when it gave up; not once per attempt.
    assert log.count("failed for nudge 1") == 1 and log.count("gave up on nudge 1") == 1
    assert "transient" not in log and "permanent" not in log


def test_log_lines_show_the_configured_zone_and_the_retry_time_in_it(world):
    w = world()
    w.config.write_text(w.config.read_text().replace('timezone = "Europe/Berlin"',
                                                     'timezone = "Asia/Tokyo"'))
    w.add("Acme")
    daemon = w.start(FOLLOWUP_TEST_GATE=str(w.gate))  # TZ is Europe/Berlin
    wait_for(lambda: "will retry at" in daemon.text(), what="a failed attempt")
    tokyo = datetime.now(ZoneInfo("Asia/Tokyo"))
    assert daemon.stop() == 0
    line = next(line for line in daemon.text().splitlines() if "will retry at" in line)
    logged = datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")
    assert abs((tokyo.replace(tzinfo=None) - logged).total_seconds()) < 120, line
    retry_at = line.rsplit("will retry at ", 1)[1]
    assert retry_at[-5:-3] in {f"{tokyo.hour:02d}", f"{(tokyo.hour + 1) % 24:02d}"}, line


def test_a_database_error_mid_dispatch_strands_no_claimed_delivery(world):
    from followup.errors import UserError
    from followup.store import Store
    from support.inprocess import running, until

    class FailsOnce(Store):
        failed = 0

        def record_delivery(self, *args, **kwargs) -> bool:
            if not self.failed:
                self.failed += 1
                raise UserError("database error: database is locked")
            return super().record_delivery(*args, **kwargs)

    w = world()
    added = w.add("Acme")

    async def scenario() -> None:
        store = FailsOnce(Store.open(w.database_url).engine)
        async with running(w, store=store):
            await until(lambda: store.failed == 1, what="the failed record")
            await until(lambda: statuses(w, added) == ["delivered"],
                        what="the stranded delivery taken up again")

    asyncio.run(scenario())
    # The attempt reached the channel before its record failed: the record is written
    # again once the database takes it (DESIGN "Exactly once": a repeat only for a crash
    # between the send and the record, not for a database error).
    assert w.nudges_seen() == [(added, 1)]


def test_an_idle_rescan_is_the_heartbeat_and_one_question(world):
    """Issue 21 item 5: on PostgreSQL every statement, BEGIN and COMMIT is a round trip
    that wakes the idle daemon. A rescan that finds nothing checks out one connection
    for the heartbeat when it is due, and one statement that asks whether anything
    changed or lapsed; on PostgreSQL in autocommit (psycopg sends no BEGIN, no
    COMMIT), on SQLite in one transaction."""
    from sqlalchemy import event

    from followup.daemon.presence import HEARTBEAT_SECONDS
    from support.inprocess import running, until

    w = world(rescan_seconds=600)
    counted = Counter()

    def count(what: str):
        return lambda *args, **kwargs: counted.update([what])

    def standalone(conn, *args) -> None:
        dbapi = conn.connection.dbapi_connection
        counted.update(["autocommit" if getattr(dbapi, "autocommit", False) else "in BEGIN"])

    async def scenario() -> None:
        async with running(w) as daemon:
            await until(lambda: daemon.resume_watch is not None, what="the whole start")
            await daemon.pickup.stop()  # no catch-up (a NOTIFY) in the counted rescans
            await daemon.planner.rescan()  # the first one after the start
            engine = daemon.store.engine
            for name in ("checkout", "begin", "before_cursor_execute"):
                event.listen(engine, name, count(name))
            if engine.dialect.name == "postgresql":
                event.listen(engine, "before_cursor_execute", standalone)
            daemon.presence.last_heartbeat -= HEARTBEAT_SECONDS  # a heartbeat is due
            await daemon.planner.rescan()
            with_heartbeat = dict(counted)
            counted.clear()
            await daemon.planner.rescan()
            without = dict(counted)
            return with_heartbeat, without

    with_heartbeat, without = asyncio.run(scenario())
    if w.database_url.startswith("sqlite"):  # BEGIN is a statement there, costing nothing
        assert with_heartbeat == {"checkout": 1, "begin": 1, "before_cursor_execute": 3}
        assert without == {"checkout": 1, "begin": 1, "before_cursor_execute": 2}
    else:
        assert with_heartbeat == {"checkout": 1, "begin": 1, "before_cursor_execute": 2,
                                  "autocommit": 2}
        assert without == {"checkout": 1, "begin": 1, "before_cursor_execute": 1,
                           "autocommit": 1}


def test_a_rescan_pings_the_watchdog_and_pushes_its_timer_back(world):
    """Issue 21 item 5: under systemd the watchdog's own timer woke the idle daemon once
    more a minute beside the rescan. The rescan, awake anyway, pings it, and the
    watchdog's timer then waits a little over the interval from that ping."""
    from followup.daemon.lifecycle import WATCHDOG_SLACK
    from followup.daemon.sdnotify import SystemdNotifier
    from support.inprocess import running

    class Recording(SystemdNotifier):
        def send(self, *lines: str) -> bool:
            sent.extend(lines)
            return True

    sent: list[str] = []
    w = world(rescan_seconds=600)

    async def scenario() -> None:
        async with running(w, notifier=Recording(None, 120_000_000)) as daemon:
            loop = asyncio.get_running_loop()
            timer = daemon.lifecycle.watchdog_handle.when()
            pings = sent.count("WATCHDOG=1")
            await asyncio.sleep(0.05)
            await daemon._rescan()
            assert sent.count("WATCHDOG=1") == pings + 1
            assert daemon.lifecycle.watchdog_handle.when() > timer
            assert daemon.lifecycle.watchdog_handle.when() - loop.time() > 60 * WATCHDOG_SLACK - 1

    asyncio.run(scenario())


def test_a_stop_during_a_rescan_lets_the_rescan_finish_and_logs_no_error(world, caplog):
    import threading

    from support.inprocess import running, until

    stalled, go_on = threading.Event(), threading.Event()
    finished_before_stopped = []
    w = world()
    w.add("Acme")

    async def scenario() -> None:
        async with running(w) as daemon:
            look_around = daemon.planner.look_around

            def busy_database(last: int):  # the rescan's transaction, in its worker thread
                daemon.planner.look_around = look_around
                stalled.set()
                go_on.wait(30)
                look = look_around(last)
                finished_before_stopped.append("stopped" not in caplog.text)
                return look

            daemon.planner.look_around = busy_database
            await until(stalled.is_set, what="a rescan waiting on the database")
            daemon._on_stop()  # as SIGTERM does, while the rescan waits
            await until(lambda: "stopping" in caplog.text, what="the daemon to stop")
            go_on.set()
            await until(lambda: "stopped" in caplog.text, what="the daemon to have stopped")

    caplog.set_level("INFO")
    asyncio.run(scenario())
    assert finished_before_stopped == [True]
    assert "Traceback" not in caplog.text and "CancelledError" not in caplog.text
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


# --- identity -------------------------------------------------------------------------------


def test_add_rm_add_gives_a_new_id(world):
    w = world()
    first = w.add("Acme")
    w.cli("rm", str(first))
    second = w.add("Beta")
    assert second != first


def test_email_message_ids_carry_the_installation_id_and_the_senders_domain(world,
                                                                            smtp_server):
    from followup.store import Store

    server = smtp_server()
    w = world(command=False, extra=f"""
[notify.email]
enabled = true
to = "me@example.com"
from = "followup@mail.example.org"
host = "{server.host}"
port = {server.port}
security = "none"
""")
    added = w.add("Acme")
    daemon = w.start()
    wait_for(lambda: server.handler.received, what="the email")
    daemon.stop()
    store = Store.open(w.database_url)
    installation = store.installation_id()
    fired = store.get(added).nudges[0].fired_at
    store.close()
    assert server.handler.received[0].message["Message-ID"] == (
        f"<nudge-{added}-1.{fired:%Y%m%d%H%M%S}.{installation}@mail.example.org>")


def test_a_crashed_daemon_under_a_previous_hostname_is_seen_as_dead():
    from followup.daemon.owners import boot_id, machine_id, process_alive, process_identity

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(30)
    alive = os.getpid()
    assert process_alive(process_identity(alive), single_machine=True)
    assert not process_alive(f"{machine_id()}/{boot_id()}/{gone.pid}/1", single_machine=True)
    # Written before the host was renamed: the new form keeps the machine id...
    assert not process_alive(f"{machine_id()}/{boot_id()}/{gone.pid}/1", single_machine=False)
    # ...and the old form (host/pid/start) is read as this machine's on a SQLite file.
    old_host = f"previous-name/{gone.pid}/1"
    assert not process_alive(old_host, single_machine=True)
    assert process_alive(old_host, single_machine=False)  # another machine: cannot tell
    assert not process_alive(f"{machine_id()}/another-boot/{alive}/1", single_machine=False)


# --- reloads and paths ----------------------------------------------------------------------


def test_sighup_with_a_new_database_url_moves_the_daemon_to_it(world):
    w = world(rescan_seconds=600)  # only pokes (on the new socket) bring nudges in time
    daemon = w.start()
    daemon.wait_started()
    moved = w.folder / "moved.db"
    w.config.write_text(w.config.read_text().replace(w.database_url, f"sqlite:///{moved}"))
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: "reloaded" in daemon.text(), what="the reload")
    added = w.add("Acme")  # written to the new database
    wait_for(lambda: w.nudges_seen() == [(added, 1)], what="the nudge from the new database")
    assert daemon.stop() == 0
    assert f"the database is now sqlite:///{moved}" in daemon.text()


def test_a_long_runtime_dir_keeps_the_wake_socket_working(world, tmp_path):
    deep = tmp_path / ("r" * 60) / ("u" * 60)
    deep.mkdir(parents=True, mode=0o700)
    w = world(rescan_seconds=600)  # only the poke brings the nudge in time
    daemon = w.start(XDG_RUNTIME_DIR=str(deep))
    daemon.wait_started()
    at = (datetime.now().astimezone() - timedelta(hours=1)).isoformat(timespec="seconds")
    done = subprocess.run(
        [sys.executable, "-m", "followup", "--config", str(w.config), "add", "--company", "Acme",
         "--role", "Engineer", "--at", at, "--json"],
        capture_output=True, text=True, timeout=60, env=w.env(XDG_RUNTIME_DIR=str(deep)))
    added = json.loads(done.stdout)["id"]
    wait_for(lambda: w.nudges_seen() == [(added, 1)], what="the poked nudge")
    assert daemon.stop() == 0
    assert daemon.text().count("too deep for a socket path") == 1
    assert "Traceback" not in daemon.text()


def test_a_notice_key_is_stable_across_retries_and_new_when_a_snooze_brings_it_again():
    from followup.daemon.dispatch import Dispatcher, Job
    from followup.models import Interview, Notice, Record

    fired = datetime.fromisoformat("2026-03-05T10:00:00+00:00")
    again = datetime.fromisoformat("2026-03-06T10:00:00+00:00")
    record = Record(Interview(id=7, company="Acme", role="Engineer", interview_at=fired))
    notice = Notice(key="nudge-7-1", title="", body="", reminders=())
    dispatcher = Dispatcher(None, {}, None, None, "me", lambda: fired, lambda *a: None,
                            installation="0a1b2c3d4e5f6789")
    keys = [dispatcher._key(notice, [Job(record, 1, attempts, when)])
            for attempts, when in ((0, fired), (3, fired), (0, again))]
    assert keys == ["nudge-7-1.20260305100000.0a1b2c3d4e5f6789",
                    "nudge-7-1.20260305100000.0a1b2c3d4e5f6789",
                    "nudge-7-1.20260306100000.0a1b2c3d4e5f6789"]


def test_issue_22_item_8_two_daemons_on_one_machine_both_show_and_the_second_says_why(
        world, tmp_path):
    import shutil
    import tempfile

    w = world(rescan_seconds=600)
    # Short paths: a socket path has at most 108 bytes.
    runtimes = [Path(tempfile.mkdtemp(prefix="fu-run-")) for _ in range(2)]
    daemons = []
    for folder in (*runtimes, runtimes[0]):  # one after the other: the third is refused
        daemons.append(w.start(XDG_RUNTIME_DIR=str(folder)))
        daemons[-1].wait_started()
    listed = json.loads(w.cli("service", "status", "--json").stdout)["daemons"]
    assert sorted(d["pid"] for d in listed) == sorted(d.process.pid for d in daemons)
    assert "another daemon" not in daemons[1].text()
    assert ("another followup daemon already runs for this database on this machine (it "
            "listens on ") in daemons[2].text()
    assert ("this one delivers too, but sees changes only at its periodic rescans; one "
            "daemon per machine is enough\n") in daemons[2].text()
    for daemon in daemons:
        assert daemon.stop() == 0
    for folder in runtimes:
        shutil.rmtree(folder, ignore_errors=True)
