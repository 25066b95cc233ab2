"""The daemon watches the calendar: a real `followup run` with a file, a feed (local
HTTP server) and a CalDAV collection (Radicale), each polled every second."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import icalendar

from followup import passwords
from followup.sources.calendar.watch import JOIN_TIMEOUT
from support.calendars import PASSWORD, USER, vcalendar, vevent
from support.daemon import wait_for


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M00Z")


def soon(days: int, hour: int = 10) -> datetime:
    day = datetime.now(UTC) + timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


def interviews(w) -> dict[str, dict]:
    return {d["company"]: d for d in json.loads(w.cli("list", "--all", "--json").stdout)}


def at(w, company: str) -> datetime | None:
    found = interviews(w).get(company)
    return datetime.fromisoformat(found["interview_at"]) if found else None


def status(w, company: str) -> str | None:
    found = interviews(w).get(company)
    return found["status"] if found else None


def calendar_config(**keys) -> str:
    lines = ["[calendar]", "poll_seconds = 1", f'username = "{USER}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in keys.items()]
    return "\n" + "\n".join(lines) + "\n"


def test_a_file_a_feed_and_caldav_bring_interviews_in_and_follow_moves_and_cancellations(
        world, tmp_path, feeds, radicale):
    passwords.set_password(USER, PASSWORD, "calendar")
    ics = tmp_path / "work.ics"
    ics.write_text(vcalendar(vevent("file-1", "Interview with Acme", stamp(soon(2)))))
    feed = "/feeds/secret-token/basic.ics"
    feeds.bodies[feed] = vcalendar(vevent("feed-1", "Phone screen - Beta", stamp(soon(3)),
                                          organizer="hr@beta.example")).encode()
    collection = radicale.new_calendar()
    radicale.put(collection, "dav-1.ics", vcalendar(vevent(
        "dav-1", "Gamma: hiring manager interview", stamp(soon(4)), organizer="kim@gamma.example")))
    w = world(first_after_days=3, extra=calendar_config(
        files=[str(ics)], feeds=[feeds.url(feed)], caldav=collection))
    daemon = w.start()
    wait_for(lambda: {"Acme", "Beta", "Gamma"} <= set(interviews(w)), what="three imports")
    assert "Interview with Acme on" in daemon.text() and "imported" in daemon.text()

    ics.write_text(vcalendar(vevent("file-1", "Interview with Acme", stamp(soon(5)))))
    feeds.bodies[feed] = vcalendar(vevent("feed-1", "Phone screen - Beta", stamp(soon(3)),
                                          organizer="hr@beta.example", status="CANCELLED")
                                   ).encode()
    radicale.put(collection, "dav-1.ics", vcalendar(vevent(
        "dav-1", "Gamma: hiring manager interview", stamp(soon(6)), organizer="kim@gamma.example")))
    wait_for(lambda: at(w, "Acme") == soon(5), what="the file's move")
    wait_for(lambda: status(w, "Beta") == "closed", what="the feed's cancellation")
    wait_for(lambda: at(w, "Gamma") == soon(6), what="the CalDAV move")
    radicale.delete(collection, "dav-1.ics")
    wait_for(lambda: status(w, "Gamma") == "closed", what="the CalDAV deletion")
    assert len(interviews(w)) == 3
    assert feeds.seen(feed)[-1].get("If-None-Match")  # conditional requests
    assert "secret-token" not in daemon.text()
    assert daemon.stop() == 0


def test_a_calendar_file_saved_is_read_at_once_not_at_the_next_poll(world, tmp_path):
    """inotify: with an hour between polls, a write and an editor's save (a new file
    renamed over the old one) are imported within the wait's deadline all the same."""
    ics = tmp_path / "work.ics"
    ics.write_text(vcalendar(vevent("file-1", "Interview with Acme", stamp(soon(2)))))
    w = world(first_after_days=3, extra=calendar_config(files=[str(ics)]).replace(
        "poll_seconds = 1", "poll_seconds = 3600"))
    daemon = w.start()
    wait_for(lambda: at(w, "Acme") == soon(2), what="the first read, at start")
    ics.write_text(vcalendar(vevent("file-1", "Interview with Acme", stamp(soon(5)))))
    wait_for(lambda: at(w, "Acme") == soon(5), what="the write, through inotify")
    saved = tmp_path / ".work.ics.new"
    saved.write_text(vcalendar(vevent("file-1", "Interview with Acme", stamp(soon(6)))))
    saved.replace(ics)
    wait_for(lambda: at(w, "Acme") == soon(6), what="the rename over it, through inotify")
    assert daemon.stop() == 0


def test_the_export_file_and_caldav_collection_are_kept_current(world, tmp_path, radicale):
    passwords.set_password(USER, PASSWORD, "calendar")
    target = tmp_path / "out" / "followups.ics"
    collection = f"{radicale.base}/{USER}/followups-{tmp_path.name}/"  # made by the daemon
    w = world(first_after_days=3, extra=calendar_config(export=str(target),
                                                        export_caldav=collection))
    daemon = w.start()
    daemon.wait_started()
    acme = w.add("Acme")

    def in_caldav() -> list[str]:
        try:
            texts = radicale.objects(collection).values()
        except Exception:  # not created yet
            return []
        return [str(e["SUMMARY"]) for text in texts
                for e in icalendar.Calendar.from_ical(text).walk("VEVENT")]

    def summaries() -> list[str]:
        if not target.exists():
            return []
        return [str(e["SUMMARY"]) for e in
                icalendar.Calendar.from_ical(target.read_bytes()).walk("VEVENT")]

    wait_for(lambda: summaries() == ["Follow up with Acme (1 of 2)"], what="the export")
    due = json.loads(w.cli("due", "--json").stdout)
    [event] = icalendar.Calendar.from_ical(target.read_bytes()).walk("VEVENT")
    assert event.start == datetime.fromisoformat(due[0]["fire_at"])
    wait_for(lambda: in_caldav() == ["Follow up with Acme (1 of 2)"], what="the CalDAV export")
    w.cli("heard", str(acme))
    wait_for(lambda: target.exists() and summaries() == [], what="the emptied export")
    wait_for(lambda: in_caldav() == [], what="the event deleted from CalDAV")
    assert radicale.objects(collection) == {}  # the collection is there, and empty
    assert daemon.stop() == 0


def test_an_unreachable_feed_is_retried_reported_and_delays_no_nudge(world):
    w = world(extra=calendar_config(feeds=["http://127.0.0.1:9/never.ics"]))
    daemon = w.start()
    due = w.add("Acme")  # first_after_days = 0: due now
    wait_for(lambda: w.nudges_seen() == [(due, 1)], what="the nudge")

    def reported() -> dict | None:
        import sqlite3

        with sqlite3.connect(w.database) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'source:calendar'").fetchone()
        return json.loads(row[0]) if row else None

    state = wait_for(lambda: (reported() or {}).get("state") == "retrying" and reported(),
                     what="the reported state")
    assert state["detail"] == "cannot reach http://127.0.0.1:9/…: [Errno 111] Connection refused"
    assert "next in" in daemon.text()
    assert daemon.stop() == 0


def test_a_calendar_server_trickling_its_answer_delays_no_nudge_nor_the_stop(
        world, radicale, slow_dav):
    # The fetch runs on the calendar source's own thread: the daemon's pool, which
    # claims and records deliveries, never waits for it, nor does the daemon's exit
    # (asyncio waits for every thread of its default pool before it returns).
    passwords.set_password(USER, PASSWORD, "calendar")
    collection = radicale.new_calendar()
    radicale.put(collection, "dav-1.ics", vcalendar(vevent(
        "dav-1", "Gamma: hiring manager interview", stamp(soon(4)), organizer="kim@gamma.example")))
    slow_dav.trickle = True  # a byte every 0.2 s: the 120 s deadline is far away
    w = world(extra=calendar_config(caldav=slow_dav.url(collection)))
    daemon = w.start()
    wait_for(lambda: slow_dav.open, what="the calendar fetch under way")
    due = w.add("Acme")  # first_after_days = 0: due now
    wait_for(lambda: w.nudges_seen() == [(due, 1)], what="the nudge")
    assert slow_dav.open  # the fetch is still going on
    stopping = time.monotonic()
    assert daemon.stop() == 0
    assert time.monotonic() - stopping < JOIN_TIMEOUT + 5
