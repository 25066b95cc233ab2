"""Feeds over a real local HTTP server and CalDAV against a real Radicale.

The use cases run in-process (a fixed `now`), on real SQLite files; the
password comes from the file keyring of the test's private home.
"""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest

from followup import config, passwords
from followup.app import App, InterviewInput
from followup.models import Status
from followup.sources.calendar.io import CalendarError
from support.calendars import PASSWORD, USER, vcalendar, vevent

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def app(tmp_path):
    text = (f'timezone = "Europe/Berlin"\n[database]\nurl = "sqlite:///{tmp_path}/f.db"\n'
            f'[calendar]\nusername = "{USER}"\n')
    passwords.set_password(USER, PASSWORD, "calendar")
    made = App(config.parse_text(text), now=lambda: NOW)
    yield made
    made.store.close()


def kinds(steps):
    return [(s.kind, s.key.uid) for s in steps]


# --- feeds --------------------------------------------------------------------------------


def test_a_feed_is_polled_with_conditional_requests(app, feeds):
    path = "/calendar/ical/jo%40example.com/private-5ecret/basic.ics"
    feeds.bodies[path] = vcalendar(vevent("f1", "Interview with Acme", "20261203T090000Z")
                                   ).encode()
    url = feeds.url(path)
    assert kinds(app.calendar.poll_feed(url)) == [("added", "f1")]
    assert app.calendar.poll_feed(url) == []  # 304: nothing read, nothing planned
    first, second = feeds.seen(path)
    assert "If-None-Match" not in first
    assert second["If-None-Match"] and second["If-Modified-Since"]
    feeds.bodies[path] = vcalendar(vevent("f1", "Interview with Acme", "20261204T090000Z")
                                   ).encode()
    assert kinds(app.calendar.poll_feed(url)) == [("updated", "f1")]


def test_a_feed_gets_the_keyring_password(app, feeds):
    path = "/private/jo.ics"
    feeds.bodies[path] = vcalendar(vevent("p1", "Phone screen - Beta", "20261203T090000Z",
                                          organizer="hr@beta.example")).encode()
    feeds.login = (USER, PASSWORD)
    try:
        assert kinds(app.calendar.poll_feed(feeds.url(path))) == [("added", "p1")]
    finally:
        feeds.login = None


def test_a_redirect_on_the_same_host_is_followed(app, feeds):
    feeds.bodies["/landing.ics"] = vcalendar(vevent("r1", "Interview with Acme",
                                                    "20261203T090000Z")).encode()
    feeds.redirects["/moved.ics"] = feeds.url("/landing.ics")
    assert kinds(app.calendar.poll_feed(feeds.url("/moved.ics"))) == [("added", "r1")]


@pytest.mark.parametrize("target", ["http://localhost:{port}/landing.ics",
                                    "file:///etc/passwd", "ftp://127.0.0.1/x.ics"])
def test_a_redirect_to_another_host_or_scheme_is_not_followed(app, feeds, target):
    port = feeds.server.server_port
    feeds.redirects["/away.ics"] = target.format(port=port)
    before = len(feeds.seen("/landing.ics"))
    with pytest.raises(CalendarError, match="redirected elsewhere"):
        app.calendar.poll_feed(feeds.url("/away.ics"))
    assert len(feeds.seen("/landing.ics")) == before  # nothing went there


def test_a_server_trickling_bytes_is_given_up_at_the_deadline(feeds):
    from followup.sources.calendar import net

    feeds.bodies["/slow.ics"] = vcalendar(vevent("s1", "Interview with Acme",
                                                 "20261203T090000Z")).encode()
    feeds.trickle.add("/slow.ics")
    with pytest.raises(CalendarError, match="took too long"):
        net.fetch(feeds.url("/slow.ics"), deadline=1.0)


@pytest.mark.parametrize("raw", [b"HTTP/1.1 abc nonsense\r\n\r\n", b"garbage\x00secret\r\n",
                                 b"HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\nBEGIN"])
def test_a_broken_http_answer_is_one_clean_line(app, feeds, raw):
    feeds.raw["/broken.ics"] = raw
    with pytest.raises(CalendarError) as raised:
        app.calendar.poll_feed(feeds.url("/broken.ics"))
    message = raised.value.message
    assert "\n" not in message and "secret" not in message and "\x00" not in message


def test_an_unreachable_feed_is_one_line_without_its_secret(app, feeds):
    secret = "/calendar/ical/private-5ecret/basic.ics"
    feeds.status = 503
    try:
        with pytest.raises(CalendarError) as raised:
            app.calendar.poll_feed(feeds.url(secret))
    finally:
        feeds.status = None
    assert "5ecret" not in raised.value.message
    assert raised.value.message == (f"http://127.0.0.1:{feeds.server.server_port}/… "
                                    "answered 503 Service Unavailable")
    with pytest.raises(CalendarError, match=r"cannot reach http://127\.0\.0\.1:9/…"):
        app.calendar.poll_feed("http://127.0.0.1:9" + secret)


def test_a_feed_that_is_not_icalendar_changes_nothing(app, feeds):
    feeds.bodies["/html"] = b"<html><body>Sign in</body></html>"
    with pytest.raises(CalendarError, match="is not an iCalendar file"):
        app.calendar.poll_feed(feeds.url("/html"))
    assert app.list(include_all=True) == []


# --- CalDAV -------------------------------------------------------------------------------


def test_caldav_brings_moves_and_closes_interviews_by_sync_token(app, radicale):
    collection = radicale.new_calendar()
    radicale.put(collection, "e1.ics", vcalendar(vevent("e1", "Interview with Acme",
                                                        "20261203T090000Z")))
    radicale.put(collection, "lunch.ics", vcalendar(vevent("l1", "Lunch", "20261203T110000Z")))
    assert kinds(app.calendar.poll_caldav(collection)) == [("added", "e1")]
    assert app.calendar.poll_caldav(collection) == []  # nothing changed since the token
    radicale.put(collection, "e1.ics", vcalendar(vevent("e1", "Interview with Acme",
                                                        "20261207T130000Z")))
    assert kinds(app.calendar.poll_caldav(collection)) == [("updated", "e1")]
    [view] = app.list()
    assert view.interview.interview_at == datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
    radicale.delete(collection, "e1.ics")
    assert kinds(app.calendar.poll_caldav(collection)) == [("closed", "e1")]
    assert app.show(view.interview.id).interview.status is Status.CLOSED


def test_a_cancelled_caldav_event_closes_its_interview(app, radicale):
    collection = radicale.new_calendar()
    radicale.put(collection, "e2.ics", vcalendar(vevent("e2", "Phone screen - Beta",
                                                        "20261203T090000Z")))
    app.calendar.poll_caldav(collection)
    radicale.put(collection, "e2.ics", vcalendar(vevent("e2", "Phone screen - Beta",
                                                        "20261203T090000Z", status="CANCELLED")))
    assert kinds(app.calendar.poll_caldav(collection)) == [("closed", "e2")]


def test_a_wrong_caldav_password_is_one_line(app, radicale):
    passwords.set_password(USER, "wrong", "calendar")
    refused = r"^CalDAV http://127.0.0.1:\d+/…: the server refused the login"
    with pytest.raises(CalendarError, match=refused):
        app.calendar.poll_caldav(radicale.new_calendar())


# --- the export into CalDAV ---------------------------------------------------------------


def exported(radicale, collection) -> dict[str, tuple[str, datetime, int]]:
    found = {}
    for text in radicale.objects(collection).values():
        for event in icalendar.Calendar.from_ical(text).walk("VEVENT"):
            found[str(event["UID"])] = (str(event["SUMMARY"]), event.start,
                                        int(event["SEQUENCE"]))
    return found


def test_the_plan_is_written_into_its_own_caldav_collection(app, radicale):
    collection = f"{radicale.base}/{USER}/followups-{id(app)}/"  # made by the export
    acme = app.add(InterviewInput(company="Acme", role="Engineer", at="2026-11-30T10:00"))
    beta = app.add(InterviewInput(company="Beta", role="SRE", at="2026-11-30T11:00"))
    assert app.calendar.export_caldav(collection) == 2
    events = exported(radicale, collection)
    assert sorted(summary for summary, _, _ in events.values()) == [
        "Follow up with Acme (1 of 2)", "Follow up with Beta (1 of 2)"]
    assert app.calendar.export_caldav(collection) == 0  # unchanged plan: nothing written
    app.snooze(acme.interview.id, "4d")
    app.heard(beta.interview.id)
    assert app.calendar.export_caldav(collection) == 2  # one moved, one deleted
    [(summary, start, sequence)] = exported(radicale, collection).values()
    assert summary == "Follow up with Acme (1 of 2)"
    assert start == app.show(acme.interview.id).due_next.fire_at
    assert sequence == 1


def test_import_takes_a_feed_url(capsys, tmp_path, feeds):
    from datetime import timedelta

    from support.cli import run

    cfg = tmp_path / "cli.toml"
    cfg.write_text(f'timezone = "Europe/Berlin"\n[database]\nurl = "sqlite:///{tmp_path}/c.db"\n')
    start = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y%m%dT100000Z")
    feeds.bodies["/cli.ics"] = vcalendar(vevent("c1", "Interview with Acme", start)).encode()
    done = run(capsys, "--config", str(cfg), "import", feeds.url("/cli.ics"), "--json")
    assert done.code == 0, done.err
    assert [(f["kind"], f["uid"]) for f in done.json()["findings"]] == [("added", "c1")]
    missing = run(capsys, "--config", str(cfg), "import", feeds.url("/nothing-here.ics"))
    assert (missing.code, missing.err) == (
        1, f"error: http://127.0.0.1:{feeds.server.server_port}/… answered 404 Not Found\n")


# --- an interview the user removed stays removed ----------------------------------------------


def test_a_removed_feed_interview_is_not_imported_again(app, feeds):
    feeds.bodies["/removed.ics"] = vcalendar(vevent("rm-f", "Interview with Acme",
                                                    "20261203T090000Z")).encode()
    [added] = app.calendar.poll_feed(feeds.url("/removed.ics"))
    app.remove(added.interview_id)
    feeds.bodies["/removed.ics"] = vcalendar(vevent("rm-f", "Interview with Acme",
                                                    "20261204T090000Z")).encode()  # moved
    [again] = app.calendar.poll_feed(feeds.url("/removed.ics"))
    assert (again.kind, again.reason) == ("skipped", "removed by you")
    assert app.list(include_all=True) == []


def test_a_removed_caldav_interview_is_not_imported_again(app, radicale):
    collection = radicale.new_calendar()
    radicale.put(collection, "e9.ics", vcalendar(vevent("e9", "Interview with Acme",
                                                        "20261203T090000Z")))
    [added] = app.calendar.poll_caldav(collection)
    app.remove(added.interview_id)
    radicale.put(collection, "e9.ics", vcalendar(vevent("e9", "Interview with Acme",
                                                        "20261205T090000Z")))
    [again] = app.calendar.poll_caldav(collection)
    assert (again.kind, again.reason) == ("skipped", "removed by you")
    assert app.list(include_all=True) == []
