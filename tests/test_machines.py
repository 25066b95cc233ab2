"""Several machines on one PostgreSQL database, as they would run: each "machine" is
a daemon subprocess with a runtime folder of its own (so no local poke can help) and
a configuration of its own, and the command line runs on the other "machine"."""

from __future__ import annotations

import os
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from support.daemon import wait_for

# A command channel that starts delivering, says so, and hangs: the daemon is
# caught mid-delivery when it is killed.
HANGING_RECORDER = """\
import json, pathlib, sys, time
data = json.loads(sys.stdin.read())
pathlib.Path(sys.argv[1] + ".started").write_text(str(data["interview_id"]))
time.sleep(120)
"""


@pytest.fixture
def machines(world, postgres_url):
    """Make "machines" on one new PostgreSQL database: (**World options) -> World."""
    url = postgres_url()
    return lambda **options: world(database_url=url, own_runtime=True, **options)


def email_config(server) -> str:
    return f"""
[notify.email]
enabled = true
to = "me@example.com"
from = "followup@example.com"
host = "{server.host}"
port = {server.port}
security = "none"
"""


def test_a_change_on_one_machine_reaches_the_daemon_on_another_through_notify(machines):
    # Ten minutes between rescans (the most): only the NOTIFY can bring the change in time.
    server, laptop = machines(rescan_seconds=600), machines(command=False)
    daemon = server.start()
    daemon.wait_started()
    wait_for(lambda: "listening for changes" in daemon.text(), what="the LISTEN")
    added = laptop.add("Acme")
    wait_for(lambda: server.nudges_seen() == [(added, 1)], what="the nudge on the server")
    laptop.cli("sent", str(added))
    assert daemon.stop() == 0
    assert server.nudges_seen() == [(added, 1)]


def test_two_daemons_deliver_each_nudge_once_per_channel(machines):
    first, second = machines(), machines()
    (second.folder / "recorder.py").write_text((first.folder / "recorder.py").read_text())
    a, b = first.start(), second.start()
    a.wait_started(), b.wait_started()
    ids = [(first if n % 2 else second).add(f"Company {n}") for n in range(10)]
    seen = lambda: Counter(first.nudges_seen() + second.nudges_seen())  # noqa: E731
    wait_for(lambda: set(seen()) == {(i, 1) for i in ids}, what="every nudge")
    assert a.stop() == 0 and b.stop() == 0
    assert seen() == Counter({(i, 1): 1 for i in ids})


def test_a_channel_enabled_on_one_machine_only_waits_for_that_machine(machines,
                                                                       smtp_server):
    mail = smtp_server()
    server = machines()  # the command channel
    laptop = machines(command=False, extra=email_config(mail))  # email only, asleep at first
    laptop_daemon = laptop.start()
    laptop_daemon.wait_started()  # known to the database: its channel will be waited for
    assert laptop_daemon.stop() == 0
    daemon = server.start()
    added = server.add("Acme")
    wait_for(lambda: server.nudges_seen() == [(added, 1)], what="the command nudge")
    shown = server.cli("show", str(added), "--json").stdout
    assert '"channel": "email"' in shown and '"status": "pending"' in shown
    assert mail.handler.received == []
    awake = laptop.start()  # the laptop wakes: its email goes out now, once
    wait_for(lambda: len(mail.handler.received) == 1, what="the laptop's email")
    wait_for(lambda: "by email" in awake.text(), what="the email recorded")
    assert awake.stop() == 0 and daemon.stop() == 0
    assert server.nudges_seen() == [(added, 1)] and len(mail.handler.received) == 1
    assert "Acme" in mail.handler.received[0].message["Subject"]


def test_a_killed_daemons_delivery_is_taken_over_after_its_lease(machines):
    lease = "[daemon]\nlease_seconds = 3\n"
    doomed = machines(extra="")
    doomed.config.write_text(doomed.config.read_text().replace(
        "[daemon]\n", "[daemon]\nlease_seconds = 3\n"))
    (doomed.folder / "recorder.py").write_text(HANGING_RECORDER)
    survivor = machines()
    survivor.config.write_text(survivor.config.read_text().replace("[daemon]\n", lease))
    added = doomed.add("Acme")
    victim = doomed.start()
    started = doomed.folder / "delivered.jsonl.started"
    wait_for(started.exists, what="the doomed daemon in the middle of the delivery")
    other = survivor.start()
    other.wait_started()
    os.killpg(victim.process.pid, signal.SIGKILL)  # the daemon and its channel's child
    victim.process.wait(10)
    wait_for(lambda: survivor.nudges_seen() == [(added, 1)], what="the takeover")
    assert "its lease lapsed" in other.text()
    assert other.stop() == 0
    assert doomed.delivered() == [] and survivor.nudges_seen() == [(added, 1)]


def test_a_postgresql_restart_under_a_running_daemon(machines, postgres_server):
    server, laptop = machines(rescan_seconds=600), machines(command=False)
    daemon = server.start()
    daemon.wait_started()
    wait_for(lambda: "listening for changes" in daemon.text(), what="the LISTEN")
    postgres_server.restart()
    wait_for(lambda: "not listening for changes" in daemon.text(), what="the lost connection")
    added = laptop.add("Acme", ago=timedelta(hours=2))
    wait_for(lambda: server.nudges_seen() == [(added, 1)], timeout=60,
             what="the nudge after the restart")
    assert daemon.text().count("listening for changes made on other machines") >= 2
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.text()


def test_a_daemon_waits_for_a_server_that_is_not_up_yet(world, postgres_server):
    from support.postgres import PostgresServer, write_pgpass

    late = PostgresServer(postgres_server.bin)
    try:
        late.init()
        write_pgpass(Path(os.environ["HOME"]), late)
        w = world(database_url=late.url("t1"))
        daemon = w.start()
        wait_for(lambda: "trying again in 2 s" in daemon.text(), what="the retries")
        assert daemon.process.poll() is None
        late.start()
        late.create_role()
        late.create_database()
        daemon.wait_started(timeout=60)
        assert "Traceback" not in daemon.text()
        assert daemon.stop() == 0
        running = w.start()
        running.wait_started()
        late.stop()
        assert running.stop() == 0  # the server went away under it: still a clean exit
        patient = w.start()
        wait_for(lambda: "trying again in 1 s" in patient.text(), what="the first retry")
        assert patient.stop() == 0  # a stop request while it waits: a clean exit
    finally:
        late.remove()


# A command channel that takes longer than the lease: only renewals keep it its owner's.
SLOW_RECORDER = """\
import json, pathlib, sys, time
data = json.loads(sys.stdin.read())
pathlib.Path(sys.argv[1] + ".started").write_text(str(data["interview_id"]))
time.sleep(8)
with open(sys.argv[1], "a") as out:
    out.write(json.dumps(data) + "\\n")
"""


def test_a_lease_is_renewed_while_its_owner_delivers(machines):
    slow, other = machines(), machines()
    for w in (slow, other):
        w.config.write_text(w.config.read_text().replace("[daemon]\n",
                                                         "[daemon]\nlease_seconds = 3\n"))
    (slow.folder / "recorder.py").write_text(SLOW_RECORDER)
    added = slow.add("Acme")
    owner = slow.start()
    wait_for((slow.folder / "delivered.jsonl.started").exists, what="the slow delivery")
    watcher = other.start()  # checks for lapsed leases every second meanwhile
    watcher.wait_started()
    wait_for(lambda: "delivered nudge 1 for interview" in owner.text(), what="the record")
    assert owner.stop() == 0 and watcher.stop() == 0
    assert slow.nudges_seen() == [(added, 1)] and other.delivered() == []
    assert "taking over" not in watcher.text()
