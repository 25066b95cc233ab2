"""A CalDAV fetch has one total deadline, as a feed fetch has: a server trickling its
answer, or answering each of many requests late, cannot hold it longer. The server
is Radicale, behind `SlowDAV` (tests/support/calendars.py), which answers late.

Each fetch runs in a thread the test waits for with a generous bound, so a fetch
that is never given up fails the test instead of hanging it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from followup import config, passwords
from followup.app import App
from followup.sources.base import SourceState
from followup.sources.calendar import net
from followup.sources.calendar.io import CalendarError
from followup.sources.calendar.watch import CalendarSource
from support.calendars import PASSWORD, USER, vcalendar, vevent

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BOUND = 30.0  # seconds a test waits for a fetch given a deadline of one second


def within(seconds: float, work):
    """`work()`'s result or error, and how long it took; fails when still running
    after `seconds` (the thread is left to end with the server's stop)."""
    outcome: dict = {}

    def run() -> None:
        started = time.monotonic()
        try:
            outcome["result"] = work()
        except Exception as error:
            outcome["error"] = error
        outcome["took"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the fetch was still running after {seconds} s"
    return outcome


def collection_with(radicale, count: int) -> str:
    collection = radicale.new_calendar()
    for n in range(count):
        radicale.put(collection, f"e{n}.ics", vcalendar(vevent(
            f"e{n}", f"Interview with Acme {n}", "20261203T090000Z")))
    return collection


def changes(url: str, deadline: float):
    with net.CalDAV(url, USER, PASSWORD, deadline=deadline) as dav:
        return dav.changes(None)


def test_a_caldav_server_trickling_its_answer_is_given_up_at_the_deadline(radicale, slow_dav):
    url = slow_dav.url(collection_with(radicale, 1))
    assert len(changes(url, 1.0).objects) == 1  # answered at once, it is read
    slow_dav.trickle = True
    outcome = within(BOUND, lambda: changes(url, 1.0))
    error = outcome.get("error")
    assert isinstance(error, CalendarError), outcome
    port = slow_dav.server.server_port
    assert error.message == (f"CalDAV http://127.0.0.1:{port}/… took too long to answer "
                             "(more than 1 s)")
    assert outcome["took"] < 1.0 + 5


def test_a_caldav_server_answering_each_request_late_is_given_up_at_the_deadline(
        radicale, slow_dav):
    # Three events: a REPORT and a GET for each. Every answer comes 0.6 s late, far
    # within one request's timeout, but four of them do not fit in the deadline.
    url = slow_dav.url(collection_with(radicale, 3))
    slow_dav.delay = 0.6
    outcome = within(BOUND, lambda: changes(url, 1.0))
    assert isinstance(outcome.get("error"), CalendarError), outcome
    assert "took too long to answer" in outcome["error"].message
    assert slow_dav.methods == ["REPORT", "GET"]  # the third request never started
    assert outcome["took"] < 1.0 + 5


def test_a_caldav_calendar_past_its_deadline_is_skipped_and_reported_the_others_go_on(
        tmp_path, radicale, slow_dav, monkeypatch):
    passwords.set_password(USER, PASSWORD, "calendar")
    ics = tmp_path / "work.ics"
    ics.write_text(vcalendar(vevent("file-1", "Interview with Initech", "20261203T090000Z")))
    export = tmp_path / "out.ics"
    slow_url = slow_dav.url(collection_with(radicale, 1))
    settings = config.parse_text(
        f'timezone = "Europe/Berlin"\n[database]\nurl = "sqlite:///{tmp_path}/f.db"\n'
        f'[calendar]\nusername = "{USER}"\nfiles = ["{ics}"]\ncaldav = "{slow_url}"\n'
        f'export = "{export}"\n')
    app = App(settings, now=lambda: NOW)
    source = CalendarSource(settings)
    slow_dav.trickle = True
    monkeypatch.setattr(net, "DEADLINE", 1.0)  # the test's hook: 120 s in the daemon
    try:
        outcome = within(BOUND, lambda: source.poll(app.source_uses("calendar")))
    finally:
        app.store.close()
    steps = outcome["result"]
    assert [(s.kind, s.key.uid) for s in steps] == [("added", "file-1")]
    assert export.exists()  # the export, after CalDAV in the round, was written
    state, detail = source._state()
    port = slow_dav.server.server_port
    assert (state, detail) == (SourceState.RETRYING, f"CalDAV http://127.0.0.1:{port}/… took "
                                                     "too long to answer (more than 1 s)")
    assert PASSWORD not in detail



def test_a_caldav_answer_larger_than_the_bound_is_refused(radicale, monkeypatch):
    url = collection_with(radicale, 1)
    monkeypatch.setattr(net, "MAX_BYTES", 100)  # the test's hook: 64 MB in the daemon
    with pytest.raises(CalendarError, match=r"^CalDAV http://127\.0\.0\.1:\d+/… sent more than"):
        changes(url, 10.0)
