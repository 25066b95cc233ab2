"""`followup import`: interviews from iCalendar files shaped like real exports.

The files in tests/data/calendars are written by hand after what Google
Calendar, Outlook/Exchange, Apple Calendar, Calendly and a tracking system
(Greenhouse) produce. Every test runs the real command line on a real SQLite file.
"""

from __future__ import annotations

import shutil
from datetime import UTC
from pathlib import Path

import pytest
from freezegun import freeze_time

from followup.models import Source, Status
from followup.store import Store
from support.cli import dump, run, spawn

DATA = Path(__file__).parent / "data" / "calendars"
NOW = "2026-12-01T09:00:00+00:00"  # a Tuesday; every event in the files is after it


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "followup.toml"
    path.write_text(f'timezone = "Europe/Berlin"\n[database]\nurl = "sqlite:///{tmp_path}/f.db"\n'
                    '[me]\naddresses = ["jo@example.com"]\n')
    return path


@pytest.fixture
def fu(capsys, cfg):
    def call(*args: str):
        return run(capsys, "--config", str(cfg), *args)
    return call


@pytest.fixture
def calendar(tmp_path):
    """A copy of one of the test calendars that a test may edit."""
    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copy(DATA / name, target)
        return target
    return copy


def imported(fu, path, *extra) -> list[dict]:
    result = fu("import", str(path), "--json", *extra)
    assert result.code == 0, result.err
    return result.json()["findings"]


def interviews(tmp_path) -> list:
    store = Store.open(f"sqlite:///{tmp_path}/f.db")
    try:
        return [r.interview for r in store.records()]
    finally:
        store.close()


def listed(fu) -> list[tuple]:
    docs = fu("list", "--all", "--json").json()
    return sorted((d["company"], d["interview_at"], d["interviewer"], d["email"], d["status"])
                  for d in docs)


# --- what each kind of export brings in -------------------------------------------------------

EXPORTS = [
    ("google.ics", [  # X-WR-TIMEZONE for floating times; an all-day event at [hours] start
        ("Acme", "2026-12-03T10:00:00+01:00", "Dana Smith", "dana@acme.example", "waiting"),
        ("Hooli", "2026-12-08T09:00:00+01:00", "Gavin B", "gavin@hooli.example", "waiting"),
    ]),
    ("outlook.ics", [  # Windows zone names, with and without a VTIMEZONE
        ("Acme Robotics", "2026-12-07T14:30:00+01:00", "Kim Lee",
         "kim.lee@acmerobotics.example", "waiting"),
        ("Beta Corp", "2026-12-09T18:00:00+01:00", "HR Beta", "hr@beta.example", "waiting"),
        ("Umbrella", "2026-12-10T11:00:00+01:00", "Talent Team", "talent@umbrella.example",
         "waiting"),
    ]),
    ("apple.ics", [  # a VTIMEZONE; a recurring series (never an interview)
        ("Globex", "2026-12-11T16:00:00+01:00", "", "", "waiting"),
    ]),
    ("calendly.ics", [
        ("Initech", "2026-12-15T16:00:00+01:00", "Dana Smith", "dana@initech.example",
         "waiting"),
    ]),
    ("greenhouse.ics", [
        ("Vandelay Industries", "2026-12-16T14:00:00+01:00", "Art Vandelay",
         "art@vandelay.example", "waiting"),  # a person, not the tracking system's robot
    ]),
]


@freeze_time(NOW)
@pytest.mark.parametrize(("name", "expected"), EXPORTS, ids=[e[0] for e in EXPORTS])
def test_an_export_brings_its_interviews(fu, name, expected):
    findings = imported(fu, DATA / name)
    assert [f["kind"] for f in findings if f["kind"] != "skipped"] == ["added"] * len(expected)
    assert listed(fu) == sorted(expected)


@freeze_time(NOW)
def test_an_imported_interview_remembers_its_event(fu, tmp_path):
    imported(fu, DATA / "apple.ics")
    found = {(i.company, i.event_uid, i.event_recurrence_id, i.source) for i in
             interviews(tmp_path)}
    assert found == {
        ("Globex", "6F1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D", None, Source.CALENDAR)}


@freeze_time(NOW)
def test_findings_in_json(fu):
    findings = imported(fu, DATA / "outlook.ics")
    assert set(findings[0]) >= {"kind", "interview_id", "uid", "summary", "reason"}
    umbrella = next(f for f in findings if f["summary"] == "Hiring manager interview | Umbrella")
    assert umbrella["kind"] == "added" and umbrella["uid"] == "umbrella-unknown-zone-1"
    assert umbrella["reason"] == ("unknown time zone 'Customized Time Zone 3': the time was "
                                  "read in Europe/Berlin")


# --- idempotent and faithful ------------------------------------------------------------------


@freeze_time(NOW)
def test_importing_again_changes_nothing(fu, tmp_path):
    imported(fu, DATA / "google.ics")
    before = dump(tmp_path / "f.db")
    again = imported(fu, DATA / "google.ics")
    assert [f["kind"] for f in again] == ["unchanged", "unchanged"]
    assert dump(tmp_path / "f.db") == before


@freeze_time(NOW)
def test_a_moved_event_moves_the_interview(fu, calendar):
    path = calendar("google.ics")
    first = {f["summary"]: f["interview_id"] for f in imported(fu, path)}
    path.write_text(path.read_text().replace("DTSTART:20261203T100000", "DTSTART:20261204T143000")
                    .replace("DTEND:20261203T110000", "DTEND:20261204T153000"))
    findings = imported(fu, path)
    moved = next(f for f in findings if f["summary"] == "Interview with Acme")
    assert (moved["kind"], moved["interview_id"]) == ("updated", first["Interview with Acme"])
    shown = fu("show", str(moved["interview_id"]), "--json").json()
    assert shown["interview_at"] == "2026-12-04T14:30:00+01:00"


@freeze_time(NOW)
def test_a_cancelled_event_closes_the_interview(fu, calendar):
    path = calendar("google.ics")
    imported(fu, path)
    path.write_text(path.read_text().replace(
        "STATUS:CONFIRMED\nSUMMARY:Interview with Acme",
        "STATUS:CANCELLED\nSUMMARY:Interview with Acme"))
    findings = imported(fu, path)
    closed = [f for f in findings if f["kind"] == "closed"]
    assert [f["summary"] for f in closed] == ["Interview with Acme"]
    assert fu("show", str(closed[0]["interview_id"]), "--json").json()["status"] == "closed"


@freeze_time(NOW)
def test_a_deleted_event_closes_the_interview(fu, calendar):
    path = calendar("google.ics")
    ids = {f["summary"]: f["interview_id"] for f in imported(fu, path)}
    text = path.read_text()
    start = text.index("BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261208")
    end = text.index("END:VEVENT\n", start) + len("END:VEVENT\n")
    path.write_text(text[:start] + text[end:])
    findings = imported(fu, path)
    assert [(f["kind"], f["interview_id"]) for f in findings if f["kind"] == "closed"] == [
        ("closed", ids["Onsite interview @ Hooli"])]


@freeze_time(NOW)
def test_a_cancellation_after_a_follow_up_changes_nothing(fu, calendar):
    path = calendar("google.ics")
    ids = {f["summary"]: f["interview_id"] for f in imported(fu, path)}
    acme = ids["Interview with Acme"]
    with freeze_time("2026-12-05T10:00:00+00:00"):
        assert fu("sent", str(acme)).code == 0
        path.write_text(path.read_text().replace(
            "STATUS:CONFIRMED\nSUMMARY:Interview with Acme",
            "STATUS:CANCELLED\nSUMMARY:Interview with Acme"))
        findings = imported(fu, path)
    assert next(f for f in findings if f["interview_id"] == acme)["kind"] == "unchanged"
    assert fu("show", str(acme), "--json").json()["status"] == "waiting"


@freeze_time(NOW)
def test_hand_entered_interviews_are_never_touched(fu, calendar, tmp_path):
    assert fu("add", "--company", "Acme", "--role", "Engineer",
              "--at", "2026-12-03T10:00").code == 0  # the same interview, typed in
    assert fu("add", "--company", "Hooli", "--role", "SRE", "--at", "2026-11-20T10:00").code == 0
    before = dump(tmp_path / "f.db")
    findings = imported(fu, DATA / "google.ics", "--dry-run")
    acme = next(f for f in findings if f["summary"] == "Interview with Acme")
    assert (acme["kind"], acme["interview_id"]) == ("skipped", 1)
    assert dump(tmp_path / "f.db") == before  # and a dry run changed nothing
    path = calendar("google.ics")
    imported(fu, path)
    path.write_text("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//x//y//EN\nEND:VCALENDAR\n")
    imported(fu, path)  # every event deleted: the imported one closes, the typed ones stay
    statuses = {(i.company, i.source): i.status for i in interviews(tmp_path)}
    assert statuses == {("Acme", Source.MANUAL): Status.WAITING,
                        ("Hooli", Source.MANUAL): Status.WAITING,
                        ("Hooli", Source.CALENDAR): Status.CLOSED}


@freeze_time(NOW)
def test_a_rescheduled_invitation_with_a_new_uid_moves_the_interview(fu, calendar):
    path = calendar("greenhouse.ics")
    [first] = imported(fu, path)
    path.write_text(path.read_text()
                    .replace("greenhouse-interview-88213-1", "greenhouse-interview-88213-2")
                    .replace("DTSTART:20261216T130000Z", "DTSTART:20261218T090000Z"))
    [again] = imported(fu, path)
    assert (again["kind"], again["interview_id"]) == ("updated", first["interview_id"])
    assert len(fu("list", "--json").json()) == 1


@freeze_time(NOW)
def test_a_recurring_series_is_never_an_interview_and_is_one_line(fu):
    findings = imported(fu, DATA / "apple.ics")
    skipped = [f for f in findings if f["kind"] == "skipped"]
    assert [(f["uid"], f["recurrence_id"], f["reason"]) for f in skipped] == [
        ("A0B1C2D3-E4F5-4061-8293-A4B5C6D7E8F9", None,
         "a recurring series: never an interview (interviews do not repeat)")]


# --- bad input --------------------------------------------------------------------------------


@freeze_time(NOW)
def test_a_broken_event_is_skipped_and_reported_the_rest_imported(fu):
    findings = imported(fu, DATA / "broken.ics")
    assert [(f["kind"], f["uid"], f["reason"].split(" (")[0]) for f in findings] == [
        ("skipped", "broken-1", "broken event: no readable start"),
        ("skipped", "bad-rrule", "a recurring series: never an interview"),
        ("added", "good-1", "")]


@freeze_time(NOW)
@pytest.mark.parametrize("name", ["not-a-calendar.ics", "empty.ics", "missing.ics",
                                  "binary.ics", "vevent-only.ics"])
def test_a_file_that_is_not_icalendar_is_exit_1_and_changes_nothing(fu, tmp_path, name):
    (tmp_path / "empty.ics").write_text("")
    (tmp_path / "binary.ics").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "vevent-only.ics").write_text("BEGIN:VEVENT\nUID:x\nEND:VEVENT\n")
    imported(fu, DATA / "google.ics")
    before = dump(tmp_path / "f.db")
    path = DATA / name if name == "not-a-calendar.ics" else tmp_path / name
    result = fu("import", str(path))
    assert result.code == 1
    assert result.err.count("\n") == 1 and result.err.startswith("error: ")
    assert "Traceback" not in result.err
    assert dump(tmp_path / "f.db") == before


@freeze_time(NOW)
def test_human_output_ends_with_a_summary(fu):
    result = fu("import", str(DATA / "broken.ics"), "--dry-run")
    assert result.code == 0
    assert result.out.splitlines()[-1] == "1 added, 2 skipped (dry run: nothing changed)"


@freeze_time(NOW)
def test_an_invitation_file_speaks_only_of_its_own_event(fu, tmp_path):
    # Invitations saved from mail (METHOD:REQUEST) one after the other under one name:
    # the second does not mean the first was deleted.
    invite = tmp_path / "invite.ics"
    shutil.copy(DATA / "greenhouse.ics", invite)
    imported(fu, invite)
    shutil.copy(DATA / "calendly.ics", invite)
    assert [f["kind"] for f in imported(fu, invite)] == ["added"]
    assert {(i.company, i.status) for i in interviews(tmp_path)} == {
        ("Vandelay Industries", Status.WAITING), ("Initech", Status.WAITING)}


# --- real calendars' oddities ------------------------------------------------------------------

def event_text(uid: str, summary: str, *lines: str, start="DTSTART:20261210T100000Z") -> str:
    return "\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261201T120000Z", start,
                      f"SUMMARY:{summary}", *lines, "END:VEVENT"])


def calendar_text(*events: str) -> str:
    return "\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Example//EN", *events,
                      "END:VCALENDAR"]) + "\n"


@freeze_time(NOW)
def test_two_starts_no_uid_and_bad_base64_cost_only_their_own_event(fu, tmp_path):
    path = tmp_path / "odd.ics"
    path.write_text(calendar_text(
        event_text("two-starts", "Interview with Initrode", "DTSTART:20261211T100000Z",
                   start="DTSTART:20301210T100000Z"),  # years away: read all the same
        "BEGIN:VEVENT\nDTSTAMP:20261201T120000Z\nDTSTART:20261210T100000Z\n"
        "SUMMARY:Interview with Nouid\nEND:VEVENT",
        event_text("b64", "Interview with Binary", "ATTACH;ENCODING=BASE64;VALUE=BINARY:%%%"),
        event_text("good", "Interview with Acme", "ORGANIZER:mailto:dana@acme.example")))
    findings = imported(fu, path)
    kinds = {f["uid"]: (f["kind"], f["reason"].split(" (")[0]) for f in findings}
    assert kinds["two-starts"] == ("skipped", "broken event: two starts")
    assert kinds[""] == ("skipped", "broken event: no UID")
    assert kinds["good"] == ("added", "")


@freeze_time(NOW)
def test_several_vcalendars_in_one_file_are_read_whole(fu, tmp_path):
    path = tmp_path / "many.ics"
    path.write_text(calendar_text(event_text("a", "Interview with Acme")) + calendar_text(
        event_text("b", "Interview with Beta", start="DTSTART;VALUE=DATE:20261211")))
    assert sorted((f["uid"], f["kind"]) for f in imported(fu, path)) == [
        ("a", "added"), ("b", "added")]


@freeze_time(NOW)
@pytest.mark.parametrize("rule", ["RRULE:FREQ=WEEKLY", "RRULE:FREQ=MINUTELY",
                                  "RDATE;VALUE=DATE:20261215,20261222",
                                  "RRULE:FREQ=HOURLY;BYDAY=XX"])
def test_a_recurring_series_is_one_line_never_interviews(fu, tmp_path, rule):
    path = tmp_path / "series.ics"
    path.write_text(calendar_text(event_text("series", "Hiring manager interview sync", rule),
                                  event_text("one", "Interview with Acme")))
    findings = imported(fu, path)
    assert [(f["uid"], f["kind"]) for f in findings] == [("series", "skipped"), ("one", "added")]


@freeze_time(NOW)
def test_library_warnings_and_raw_bytes_never_reach_the_terminal(cfg, tmp_path):
    # A globally unique TZID without its VTIMEZONE: icalendar guesses the zone and
    # warns (GloballyUniqueTZIDGuessed). A real process: pytest would catch the warning.
    path = tmp_path / "zone.ics"
    path.write_text(calendar_text(event_text(
        "z", "Interview with Acme", start="DTSTART;TZID=/citadel.org/20190914_1/Asia/Kolkata:"
                                          "20261210T100000")))
    result = spawn("--config", str(cfg), "import", str(path))
    assert result.code == 0, result.err
    assert result.err == ""
    secret = tmp_path / "secret.ics"
    secret.write_bytes(b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nSECRET-TOKEN-abc123\x00\nEND:VCALENDAR\n")
    bad = spawn("--config", str(cfg), "import", str(secret))
    assert bad.code == 1 and bad.err.count("\n") == 1 and "abc123" not in bad.err


@pytest.mark.parametrize("url", ["https://jo:hunter2@cal.example/feed.ics",
                                 "webcal://jo:hunter2@cal.example:443/feed.ics"])
def test_a_login_in_a_feed_url_is_refused_and_never_shown(fu, url):
    result = fu("import", url)
    assert result.code == 78
    assert "followup password set calendar" in result.err and "hunter2" not in result.err
    assert "Traceback" not in result.err


def test_a_login_in_a_configured_feed_url_is_a_configuration_error(capsys, tmp_path):
    path = tmp_path / "followup.toml"
    path.write_text('[calendar]\nfeeds = ["https://jo:hunter2@cal.example/feed.ics"]\n')
    result = run(capsys, "--config", str(path), "config", "check")
    assert result.code == 78
    assert "password set calendar" in result.err and "hunter2" not in result.err


def test_a_draft_without_a_role_never_names_one():
    from datetime import datetime

    from followup.content import draft
    from followup.models import Interview

    interview = Interview(1, "Acme", "", datetime(2026, 12, 1, 10, tzinfo=UTC),
                          email="dana@acme.example")
    first, later = draft(interview, 1, 2), draft(interview, 2, 2)
    assert first.subject == "Thank you for the interview"
    assert later.subject == "Following up: my interview at Acme"
    for text in (first.body, later.body):
        assert "Acme" in text and "  " not in text and "open" not in text


@freeze_time(NOW)
def test_an_interview_removed_by_the_user_stays_removed(fu, tmp_path):
    path = tmp_path / "one.ics"
    path.write_text(calendar_text(event_text("rm-1", "Interview with Acme")))
    [added] = imported(fu, path)
    assert fu("rm", str(added["interview_id"])).code == 0
    [again] = imported(fu, path)
    assert (again["kind"], again["reason"], again["interview_id"]) == (
        "skipped", "removed by you", None)
    assert fu("list", "--all", "--json").json() == []
    hand = fu("add", "--company", "Beta", "--role", "Engineer", "--at", "2026-12-12T10:00")
    assert hand.code == 0 and fu("rm", "2").code == 0  # by hand: nothing to remember


@freeze_time(NOW)
def test_one_unreadable_value_or_zone_costs_only_its_own_part(fu, tmp_path):
    path = tmp_path / "partly.ics"
    path.write_text(calendar_text(
        "BEGIN:VTIMEZONE\nTZID:Makebelieve\nBEGIN:STANDARD\nTZOFFSETFROM:-0400\n"
        "TZOFFSETTO:-0500\nDTSTART:19700101T020000\nRDATE;VALUE=DATE:19800101\n"
        "END:STANDARD\nEND:VTIMEZONE",
        event_text("bad", "Interview with Binary", "ATTACH;ENCODING=BASE64;VALUE=BINARY:"
                   "WW91IHJlYWxseS=Cg=", "X-BAD;VALUE=DATE:notadate"),
        event_text("good", "Interview with Acme", "ORGANIZER:mailto:dana@acme.example")))
    findings = imported(fu, path)  # the zone's RDATE;VALUE=DATE failed the whole file
    assert ("good", "added") in [(f["uid"], f["kind"]) for f in findings]


@freeze_time(NOW)
def test_a_calendar_past_the_cap_on_interview_events_is_one_line(fu, tmp_path, monkeypatch):
    from followup.sources.calendar import io as calendar_io

    monkeypatch.setattr(calendar_io, "MAX_EVENTS", 3)
    path = tmp_path / "flood.ics"
    path.write_text(calendar_text(*(event_text(f"e{i}", f"Interview with Acme {i}")
                                    for i in range(4))))
    result = fu("import", str(path))
    assert result.code == 1 and result.err.count("\n") == 1
    assert "more than 3 interview events" in result.err
    assert fu("list", "--all", "--json").json() == []
