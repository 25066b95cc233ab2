"""The mailbox watch in the real daemon (a subprocess) against a real Dovecot:
replies applied live with IDLE, and a mailbox that is down or refuses us
delays no nudge."""

from __future__ import annotations

import json
import re
import signal
import socket
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from followup import config, passwords, present
from followup.app import App
from support.daemon import wait_for
from support.imap import PASSWORD, USER, Dovecot, free_port, mailbox_section, message


def add(w, company: str, email: str, ago: timedelta = timedelta(hours=1)) -> int:
    at = (datetime.now().astimezone() - ago).isoformat(timespec="seconds")
    done = w.cli("add", "--company", company, "--role", "Engineer", "--at", at,
                 "--email", email, "--json")
    return json.loads(done.stdout)["id"]


def status(w, interview_id: int) -> str:
    return json.loads(w.cli("show", str(interview_id), "--json").stdout)["status"]


def source_state(w) -> dict | None:
    with sqlite3.connect(w.database) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'source:mailbox'").fetchone()
    return json.loads(row[0]) if row else None


class DroppingServer:
    """A server that is "down": it accepts each connection and closes it at once,
    counting the attempts."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_server(("127.0.0.1", port))
        self.attempts = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.attempts += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()
        self.thread.join(10)


@pytest.fixture
def stored_password():
    passwords.set_password(USER, PASSWORD, "mailbox")


def test_a_reply_stops_the_nudges_within_seconds(world, imap, stored_password):
    w = world(extra=mailbox_section(imap.port), first_after_days=3)
    acme = add(w, "Acme", "dana@acme.example")
    daemon = w.start()
    wait_for(lambda: "mailbox: watching" in daemon.text(), what="the mailbox watch")
    imap.append("INBOX", message("Dana <dana@acme.example>", USER, "Re: Thank you",
                                 datetime.now().astimezone()))
    wait_for(lambda: status(w, acme) == "heard", what="the reply to be applied")
    wait_for(lambda: "notice: Acme replied: nudges stopped" in daemon.text(), what="the notice")
    assert source_state(w)["state"] == "ok"
    assert daemon.stop() == 0


def test_a_follow_up_sent_is_counted_by_the_daemon(world, imap, stored_password):
    w = world(extra=mailbox_section(imap.port), first_after_days=3)
    acme = add(w, "Acme", "dana@acme.example")
    daemon = w.start()
    wait_for(lambda: "mailbox: watching" in daemon.text(), what="the mailbox watch")
    imap.append("Sent", message(USER, "dana@acme.example", "Thank you",
                                datetime.now().astimezone()), seen=True)

    def sent() -> int:
        return json.loads(w.cli("show", str(acme), "--json").stdout)["followups_sent"]

    wait_for(lambda: sent() == 1, what="the follow-up to be counted")
    assert daemon.stop() == 0


def test_a_mailbox_that_is_down_delays_no_nudge_and_is_picked_up_when_back(
        world, stored_password):
    port = free_port()
    down = DroppingServer(port)
    try:
        w = world(extra=mailbox_section(port))
        acme = add(w, "Acme", "dana@acme.example")  # its nudge is due now
        daemon = w.start()
        wait_for(lambda: w.nudges_seen() == [(acme, 1)], what="the nudge, mailbox or not")
        wait_for(lambda: down.attempts >= 3, what="the mailbox to be retried")
        assert daemon.text().count("cannot reach the mailbox server") == 1  # logged once
        assert source_state(w)["state"] == "retrying"
    finally:
        down.close()
    server = Dovecot(port)
    try:
        server.start()
        wait_for(lambda: "mailbox: watching" in daemon.text(), what="the server to be back")
        server.append("INBOX", message("dana@acme.example", USER, "Re: Thanks",
                                       datetime.now().astimezone()))
        wait_for(lambda: status(w, acme) == "heard", what="the reply after the outage")
        assert daemon.stop() == 0
    finally:
        server.cleanup()


def test_a_refused_login_is_reported_once_and_nudges_go_on(world, imap):
    passwords.set_password(USER, "not the password", "mailbox")
    w = world(extra=mailbox_section(imap.port))
    acme = add(w, "Acme", "dana@acme.example")
    daemon = w.start()
    wait_for(lambda: w.nudges_seen() == [(acme, 1)], what="the nudge")
    wait_for(lambda: (source_state(w) or {}).get("state") == "failed", what="the failed state")
    assert "refused the login" in source_state(w)["detail"]
    shown = App(config.load(w.config)).sources()  # what `service status` prints
    assert shown["mailbox"]["state"] == "failed"
    text = present.source_text(shown["mailbox"], ZoneInfo("Europe/Berlin"), datetime.now(UTC))
    assert re.match(r"failed since .*: the mailbox server .* refused the login of "
                    r"jo@example.org", text), text
    wait_for(lambda: imap.logs().count("auth failed") >= 2, what="a second attempt")
    assert daemon.text().count("refused the login") == 1
    assert PASSWORD not in daemon.text() and "not the password" not in daemon.text()
    assert daemon.stop() == 0


def test_a_connection_dropped_while_idle_is_picked_up_again(world, stored_password):
    server = Dovecot()
    try:
        server.start()
        w = world(extra=mailbox_section(server.port), first_after_days=3)
        acme = add(w, "Acme", "dana@acme.example")
        daemon = w.start()
        wait_for(lambda: "mailbox: watching" in daemon.text(), what="the mailbox watch")
        server.stop()  # Dovecot closes the connections as it goes
        wait_for(lambda: (source_state(w) or {}).get("state") == "retrying",
                 what="the drop to be noticed")
        server.start()
        wait_for(lambda: daemon.text().count("mailbox: watching") == 2, what="the way back")
        server.append("INBOX", message("dana@acme.example", USER, "Re: Thanks",
                                       datetime.now().astimezone()))
        wait_for(lambda: status(w, acme) == "heard", what="the reply after the drop")
        assert daemon.stop() == 0
    finally:
        server.cleanup()


def test_a_reload_restarts_the_watch(world, imap, stored_password):
    w = world(extra=mailbox_section(imap.port), first_after_days=3)
    acme = add(w, "Acme", "dana@acme.example")
    daemon = w.start()
    wait_for(lambda: "mailbox: watching" in daemon.text(), what="the mailbox watch")
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: daemon.text().count("mailbox: watching") == 2, what="the watch again")
    imap.append("INBOX", message("dana@acme.example", USER, "Re: Thanks",
                                 datetime.now().astimezone()))
    wait_for(lambda: status(w, acme) == "heard", what="the reply after the reload")
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.text()


def test_many_watched_folders_hold_up_no_nudge(world, imap, stored_password):
    # Eight folders in IDLE (seven inboxes and Sent): more than the event loop's
    # default pool has threads (6 on 2 cores), which claims and records deliveries.
    names = [f"Jobs{n}" for n in range(6)]
    with imap.client() as client:
        for name in names:
            if not client.folder_exists(name):
                client.create_folder(name)
    inboxes = ", ".join(f'"{name}"' for name in ["INBOX", *names])
    w = world(extra=mailbox_section(imap.port) + f"inbox = [{inboxes}]\n", rescan_seconds=600)
    daemon = w.start()
    wait_for(lambda: "mailbox: watching" in daemon.text(), what="the mailbox watch")
    due = datetime.now().astimezone() + timedelta(seconds=6)  # once every folder is in IDLE
    done = w.cli("add", "--company", "Acme", "--role", "Engineer",
                 "--at", due.isoformat(timespec="seconds"), "--json")
    added = json.loads(done.stdout)["id"]
    wait_for(lambda: w.nudges_seen() == [(added, 1)], timeout=45, what="the due nudge")
    late = datetime.now().astimezone() - due
    stopping = datetime.now()
    assert daemon.stop() == 0  # and promptly: no thread is left waiting on the server
    assert datetime.now() - stopping < timedelta(seconds=10)
    assert late < timedelta(seconds=10), late
