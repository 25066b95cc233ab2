"""`followup export`: the planned nudges as iCalendar, parsed back with `icalendar`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from freezegun import freeze_time

from followup.sources.calendar.export import Planned, Stamp, restamp
from support.cli import run

NOW = "2026-11-23T10:00:00+01:00"  # a Monday morning in Berlin


@pytest.fixture
def fu(capsys, tmp_path):
    path = tmp_path / "followup.toml"
    path.write_text(f'timezone = "Europe/Berlin"\n[database]\nurl = "sqlite:///{tmp_path}/f.db"\n')

    def call(*args: str):
        return run(capsys, "--config", str(path), *args)
    return call


def add(fu, company: str, at: str, **extra: str) -> int:
    args = ["add", "--json", "--company", company, "--role", "Engineer", "--at", at]
    for key, value in extra.items():
        args += [f"--{key}", value]
    result = fu(*args)
    assert result.code == 0, result.err
    return result.json()["id"]


def exported(fu) -> list:
    result = fu("export")
    assert result.code == 0, result.err
    return icalendar.Calendar.from_ical(result.out).walk("VEVENT")


@freeze_time(NOW)
def test_the_export_is_exactly_what_due_says(fu):
    add(fu, "Acme", "2026-11-20T15:00", interviewer="Dana Smith", email="dana@acme.example")
    add(fu, "Beta", "2026-11-19T10:00")
    heard = add(fu, "Gamma", "2026-11-18T10:00")
    fu("heard", str(heard))
    due = fu("due", "--json").json()
    events = exported(fu)
    assert [d["company"] for d in due] == ["Beta", "Acme"]
    assert [(e.start, str(e["SUMMARY"])) for e in events] == [
        (datetime.fromisoformat(d["fire_at"]),
         f"Follow up with {d['company']} ({d['number']} of 2)") for d in due]
    assert all(e.end - e.start == timedelta(minutes=15) for e in events)


@freeze_time(NOW)
def test_each_event_carries_the_draft(fu):
    add(fu, "Acme", "2026-11-20T15:00", interviewer="Dana Smith", email="dana@acme.example",
        topics="the event pipeline", notes="seemed rushed")
    [event] = exported(fu)
    description = str(event["DESCRIPTION"])
    assert "To: dana@acme.example" in description
    assert "Dear Dana Smith," in description and "the event pipeline" in description
    assert "seemed rushed" not in description  # private notes never reach a draft


@freeze_time(NOW)
def test_an_unchanged_plan_gives_identical_bytes(fu):
    add(fu, "Acme", "2026-11-20T15:00")
    first = fu("export").out
    with freeze_time("2026-11-23T11:00:00+01:00"):  # later, nothing changed
        assert fu("export").out == first


@freeze_time(NOW)
def test_a_change_raises_sequence_and_last_modified_and_keeps_the_uid(fu):
    interview = add(fu, "Acme", "2026-11-20T15:00")
    [before] = exported(fu)
    assert int(before["SEQUENCE"]) == 0
    with freeze_time("2026-11-23T12:00:00+01:00"):
        fu("snooze", str(interview), "3d")
        [after] = exported(fu)
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) == 1
    assert after["LAST-MODIFIED"].dt == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert after["DTSTAMP"].dt == after["LAST-MODIFIED"].dt
    assert after.start > before.start


@freeze_time(NOW)
def test_export_out_writes_the_file_atomically_and_only_when_changed(fu, tmp_path):
    add(fu, "Acme", "2026-11-20T15:00")
    target = tmp_path / "cal" / "followups.ics"
    done = fu("export", "--out", str(target))
    assert done.code == 0 and done.err.startswith("Wrote")
    assert target.read_bytes() == fu("export").out.encode()
    assert fu("export", "--out", str(target)).err.startswith("Unchanged")
    assert [p.name for p in target.parent.iterdir()] == ["followups.ics"]  # no temp left


@freeze_time(NOW)
def test_no_plan_is_an_empty_calendar(fu):
    calendar = icalendar.Calendar.from_ical(fu("export").out)
    assert calendar.walk("VEVENT") == []
    assert str(calendar["X-WR-CALNAME"]) == "Follow-ups"


T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def event(start=T0, summary="Follow up with Acme (1 of 2)") -> Planned:
    return Planned("u1", summary, start, "draft")


@pytest.mark.parametrize(("planned", "before", "after"), [
    ("new", None, Stamp(event().digest, 0, T1)),
    ("unchanged", Stamp(event().digest, 3, T0), Stamp(event().digest, 3, T0)),
    ("moved", Stamp(event().digest, 3, T0), Stamp(event(T1).digest, 4, T1)),
])
def test_restamp(planned, before, after):
    changed = event(T1) if planned == "moved" else event()
    stamps = {} if before is None else {"u1": before}
    assert restamp([changed], stamps, T1)["u1"] == after


# --- issue 19, item 5: the export's drafts are `followup draft`'s -----------------------------


@pytest.fixture
def signed(capsys, tmp_path):
    path = tmp_path / "signed.toml"
    path.write_text(f'timezone = "Europe/Berlin"\n[database]\nurl = "sqlite:///{tmp_path}/s.db"\n'
                    '[me]\nname = "Jo Doe"\n')

    def call(*args: str):
        return run(capsys, "--config", str(path), *args)
    return call


@freeze_time(NOW)
def test_the_events_draft_is_the_one_draft_prints(signed):
    interview = add(signed, "Acme", "2026-11-20T15:00", interviewer="Dana Smith",
                    email="dana@acme.example", topics="the event pipeline")
    [event] = exported(signed)
    printed = signed("draft", str(interview)).out.removesuffix("\n")  # click.echo's
    assert str(event["DESCRIPTION"]) == (
        "Time for follow-up 1 of 2 to Acme (Engineer). A draft:\n\n" + printed)
    assert printed.endswith("Best regards,\nJo Doe\n")


@freeze_time(NOW)
def test_an_event_without_an_address_says_so_as_draft_does(signed):
    add(signed, "Acme", "2026-11-20T15:00")
    [event] = exported(signed)
    assert "To: (no address recorded)\n" in str(event["DESCRIPTION"])


@freeze_time(NOW)
def test_an_event_is_in_the_interviews_language(signed):
    add(signed, "Acme", "2026-11-20T15:00", interviewer="Frau Dr. Anna Müller",
        language="de")
    [event] = exported(signed)
    assert str(event["SUMMARY"]) == "Nachfassen bei Acme (1 von 2)"
    description = str(event["DESCRIPTION"])
    assert description.startswith("Zeit für Nachricht 1 von 2 an Acme (Engineer). Ein Entwurf:")
    assert "\n\nSehr geehrte Frau Dr. Müller,\n\nvielen Dank" in description
    assert description.endswith("Mit freundlichen Grüßen\nJo Doe\n")


ROLELESS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:roleless-1@test
DTSTAMP:20261101T000000Z
DTSTART:20261120T140000Z
DTEND:20261120T150000Z
SUMMARY:Interview with Acme
ORGANIZER;CN=Dana Smith:mailto:dana@acme.example
END:VEVENT
END:VCALENDAR
"""


@freeze_time(NOW)
def test_an_imported_interview_without_a_role_names_none(signed, tmp_path):
    path = tmp_path / "roleless.ics"
    path.write_text(ROLELESS)
    assert signed("import", str(path)).code == 0
    [event] = exported(signed)
    description = str(event["DESCRIPTION"])
    assert description.startswith("Time for follow-up 1 of 2 to Acme. A draft:\n\n"
                                  "To: dana@acme.example\n"
                                  "Subject: Thank you for the interview\n\n"
                                  "Dear Dana Smith,\n\n"
                                  "Thank you for taking the time to speak with me about "
                                  "joining Acme.")
    assert "()" not in description and "the  position" not in description


@freeze_time(NOW)
def test_after_an_ignored_nudge_the_event_offers_the_first_follow_up(signed, tmp_path):
    # Nudge 1 reached the user, who sent nothing: nudge 2's event carries follow-up 1's
    # draft, as the nudge and `followup draft` do, and says so.
    from followup.models import DeliveryStatus
    from followup.store import Store

    interview = add(signed, "Acme", "2026-11-05T10:00", interviewer="Dana Smith")
    store = Store.open(f"sqlite:///{tmp_path}/s.db")
    fired = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    assert store.claim_nudge(interview, 1, fired, ["command"], fired, "test",
                             lambda record: True) is not None
    store.record_delivery(interview, 1, "command", DeliveryStatus.DELIVERED, fired)
    store.close()
    [event] = exported(signed)
    assert str(event["SUMMARY"]) == "Follow up with Acme (2 of 2)"
    printed = signed("draft", str(interview)).out.removesuffix("\n")
    assert str(event["DESCRIPTION"]) == (
        "Time for follow-up 1 of 2 to Acme (Engineer). A draft:\n\n" + printed)
    assert "Subject: Thank you \N{EN DASH} Engineer interview" in printed


@freeze_time(NOW)
def test_after_a_sent_follow_up_the_event_offers_the_second(signed):
    # Follow-up 1 was sent: nudge 2's event carries follow-up 2's draft, the one
    # `followup draft` prints (the export once read the plan without the follow-ups).
    interview = add(signed, "Acme", "2026-11-05T10:00", interviewer="Dana Smith")
    assert signed("sent", str(interview)).code == 0
    [event] = exported(signed)
    assert str(event["SUMMARY"]) == "Follow up with Acme (2 of 2)"
    printed = signed("draft", str(interview)).out.removesuffix("\n")
    assert str(event["DESCRIPTION"]) == (
        "Time for follow-up 2 of 2 to Acme (Engineer). A draft:\n\n" + printed)
