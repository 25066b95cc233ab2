"""`followup run` as a real subprocess against real databases: SQLite files and a
PostgreSQL server (each test runs on both).

The command channel (a small script) records each nudge to a file; the
tests read that file. Working hours are always open unless a test says so.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import time
from collections import Counter
from datetime import timedelta

import pytest

from support.daemon import wait_for
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
    # With an hour between rescans, only the CLI's poke can bring the nudge in time.
    w = world(rescan_seconds=3600)
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
    ids = [w.add(f"Company {n}") for n in range(12)]
    first, second = w.start(), w.start()
    wait_for(lambda: len(w.delivered()) >= 12, what="twelve nudges")
    for n in range(12, 20):
        ids.append(w.add(f"Company {n}"))
    wait_for(lambda: len(w.delivered()) >= 20, what="twenty nudges")
    first.stop(), second.stop()
    assert sorted(w.nudges_seen()) == sorted((i, 1) for i in ids)


def test_kill_9_loses_nothing(world):
    w = world()
    ids = [w.add(f"Company {n}") for n in range(30)]
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
    ids = [w.add(f"Company {n}", ago=timedelta(days=2)) for n in range(5)]
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
