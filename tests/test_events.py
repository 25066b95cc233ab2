"""Which calendar events are interviews, and what an import does: literal tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from followup.models import FollowUp, Interview, Record, Source, Status
from followup.sources.calendar.events import (
    Event,
    EventKey,
    Found,
    Person,
    Seen,
    company_and_role,
    domain_company,
    plan,
    read,
)

BERLIN = ZoneInfo("Europe/Berlin")
WORDS = ("interview", "phone screen", "screening call", "hiring manager", "onsite",
         "Vorstellungsgespräch", "entretien")
ME = ("jo@example.com", "jo.doe@gmail.com")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DANA = Person("Dana Smith", "dana@acme.example")
JO = Person("Jo Doe", "jo@example.com")


def event(summary: str, start=datetime(2026, 12, 3, 10, 0, tzinfo=BERLIN), uid: str = "u1",
          **fields) -> Event:
    return Event(EventKey(uid), summary, start, **fields)


# --- which events are interviews, and what they say -----------------------------------------

# (what the event looks like, summary, organizer, attendees, company, role, interviewer, email)
READ_CASES = [
    ("Google invitation from the recruiter", "Interview with Acme", DANA, (JO,),
     "Acme", "", "Dana Smith", "dana@acme.example"),
    ("Outlook, company first", "Acme Robotics: Phone Screen",
     Person("Kim Lee", "kim.lee@acmerobotics.example"), (JO,),
     "Acme Robotics", "", "Kim Lee", "kim.lee@acmerobotics.example"),
    ("Outlook, company last", "Phone screen - Beta Corp", Person("", "hr@beta.example"), (JO,),
     "Beta Corp", "", "", "hr@beta.example"),
    ("tracking system (Greenhouse-like)",
     "Interview for Senior Backend Engineer at Globex",
     Person("Globex Recruiting", "no-reply@greenhouse.io"),
     (JO, Person("Pat Kim", "pat@globex.example")),
     "Globex", "Senior Backend Engineer", "Pat Kim", "pat@globex.example"),
    ("tracking system, nobody but the robot",
     "Interview for Staff Engineer at Initrode",
     Person("Initrode Recruiting", "no-reply@hire.lever.co"), (JO,),
     "Initrode", "Staff Engineer", "Initrode Recruiting", "no-reply@hire.lever.co"),
    ("Calendly booking: names only, the host's domain tells",
     "Screening Call between Dana Smith and Jo Doe", Person("Dana Smith", "dana@initech.example"),
     (JO,), "Initech", "", "Dana Smith", "dana@initech.example"),
    ("Apple Calendar, typed by the user (the user organizes)", "Onsite interview @ Hooli",
     JO, (Person("Gavin B", "gavin.b@gmail.com"),),
     "Hooli", "", "Gavin B", "gavin.b@gmail.com"),
    ("interview with a person: the company comes from the address",
     "Interview with Dana Smith", DANA, (JO,), "Acme", "", "Dana Smith",
     "dana@acme.example"),
    ("German", "Vorstellungsgespräch bei Siemens", Person("", "hr@siemens.example"), (),
     "Siemens", "", "", "hr@siemens.example"),
    ("French", "Entretien chez Doctolib", None, (Person("Léa M", "lea@doctolib.example"),),
     "Doctolib", "", "Léa M", "lea@doctolib.example"),
    ("hiring manager, company in a pipe", "Hiring manager chat | Umbrella",
     Person("", "x@umbrella.example"), (), "Umbrella", "", "", "x@umbrella.example"),
]


@pytest.mark.parametrize(("case", "summary", "organizer", "attendees", "company", "role",
                          "who", "email"), READ_CASES, ids=[c[0] for c in READ_CASES])
def test_an_interview_event_reads_as(case, summary, organizer, attendees, company, role,
                                     who, email):
    seen = read(event(summary, organizer=organizer, attendees=attendees), WORDS, ME, BERLIN,
                time(9))
    assert seen is not None and seen.found is not None, seen
    assert (seen.found.company, seen.found.role, seen.found.interviewer, seen.found.email) == \
        (company, role, who, email)


@pytest.mark.parametrize(("summary", "categories"), [
    ("Team standup", ()),
    ("Dentist", ("Personal",)),
    ("Lunch with Dana", ()),
    ("1:1 with manager", ("Work",)),
])
def test_other_events_are_not_interviews(summary, categories):
    assert read(event(summary, categories=categories), WORDS, ME, BERLIN, time(9)) is None


@pytest.mark.parametrize(("summary", "interview"), [
    ("Interview with Acme", True),
    ("INTERVIEW: Acme", True),
    ("PHONE  SCREEN \N{EN DASH} Beta", True),
    ("Vorstellungsgespräch bei Siemens", True),
    ("Entretien d'embauche chez Doctolib", True),
    ("Entretien chaudière", False),  # boiler service
    ("Entretien annuel d'évaluation", False),  # annual review
    ("Onsite support: printer repair", False),
    ("Interviewing skills workshop", False),  # not the whole word, and excluded
    ("Mock interview with a friend", False),
    ("Interview practice", False),
    ("Webinar: how to interview", False),
    ("Hiring manager sync", False),
    ("Preinterview checklist", False),
])
def test_the_default_words_match_whole_words_and_exclude(summary, interview):
    from followup.config import EXCLUDE, MATCH
    from followup.sources.calendar.events import matches

    assert matches(summary, (), MATCH, EXCLUDE) is interview


def test_a_title_naming_no_role_gives_an_empty_role():
    seen = read(event("Interview with Acme", organizer=DANA), WORDS, ME, BERLIN, time(9))
    assert (seen.found.company, seen.found.role) == ("Acme", "")


def test_a_category_makes_an_event_an_interview():
    seen = read(event("Acme", categories=("Interview",), organizer=DANA), WORDS, ME, BERLIN,
                time(9))
    assert seen.found.company == "Acme"


def test_an_interview_without_any_company_is_a_problem():
    seen = read(event("Phone screen", organizer=Person("", "someone@gmail.com")), WORDS, ME,
                BERLIN, time(9))
    assert seen.found is None
    assert seen.problem == "no company in the title or the organizer's address"


@pytest.mark.parametrize(("start", "expected"), [
    (datetime(2026, 12, 3, 10, 0, tzinfo=BERLIN), datetime(2026, 12, 3, 9, 0, tzinfo=UTC)),
    (datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("America/New_York")),
     datetime(2026, 12, 3, 15, 0, tzinfo=UTC)),
    (datetime(2026, 12, 3, 10, 0), datetime(2026, 12, 3, 9, 0, tzinfo=UTC)),  # floating
    (date(2026, 12, 3), datetime(2026, 12, 3, 8, 0, tzinfo=UTC)),  # all day: [hours] start
    (datetime(2026, 7, 3, 10, 0), datetime(2026, 7, 3, 8, 0, tzinfo=UTC)),  # summer time
])
def test_the_interview_time_is_read(start, expected):
    seen = read(event("Interview with Acme", start=start), WORDS, ME, BERLIN, time(9))
    assert seen.found.at == expected


def test_a_cancelled_event_is_read_as_cancelled():
    seen = read(event("Interview with Acme", status="CANCELLED"), WORDS, ME, BERLIN, time(9))
    assert seen.cancelled


@pytest.mark.parametrize(("email", "company"), [
    ("dana@acme.example", "Acme"),
    ("dana@mail.acme-robotics.com", "Acme-robotics"),
    ("dana@globex.co.uk", "Globex"),
    ("dana@gmail.com", ""),
    ("notifications@calendly.com", ""),
    ("no-reply@us.greenhouse.io", ""),
    # Every public provider the mailbox knows, under any country's domain:
    ("dana@hotmail.fr", ""),
    ("dana@yahoo.co.uk", ""),
    ("dana@gmx.at", ""),
    ("dana@t-online.de", ""),
    ("dana@qq.com", ""),
    ("jobs@acme.teamtailor-mail.com", ""),
    ("calendar-notification@google.com", ""),
    ("", ""),
])
def test_the_company_from_an_address(email, company):
    assert domain_company(email) == company


def test_the_interviewer_named_in_the_title_is_not_the_company():
    assert company_and_role("Interview with Dana Smith", WORDS, DANA) == ("Acme", "")


# --- the import plan ------------------------------------------------------------------------

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def found(company="Acme", at=AT) -> Found:
    return Found(company=company, role="", at=at, interviewer="Dana Smith",
                 email="dana@acme.example")


def seen(uid="u1", at=AT, company="Acme", cancelled=False, rid=None) -> Seen:
    return Seen(EventKey(uid, rid), f"Interview with {company}", cancelled,
                found=found(company, at))


def imported(interview_id=1, uid="u1", at=AT, status=Status.WAITING, sent=0,
             company="Acme", rid=None) -> Record:
    interview = Interview(id=interview_id, company=company, role="", interview_at=at,
                          status=status, source=Source.CALENDAR, event_uid=uid,
                          event_recurrence_id=rid)
    followups = tuple(FollowUp(n, at) for n in range(1, sent + 1))
    return Record(interview, followups)


def by_hand(interview_id=9, company="Acme", at=AT) -> Record:
    return Record(Interview(id=interview_id, company=company, role="Engineer",
                            interview_at=at))


def kinds(steps):
    return [(s.kind, s.interview_id, s.key.uid) for s in steps]


LATER = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
PAST = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

PLAN_CASES = [
    ("a new event is added",
     [seen()], [], [], [("added", None, "u1")]),
    ("importing again changes nothing",
     [seen()], [], [imported()], [("unchanged", 1, "u1")]),
    ("a moved event moves the interview",
     [seen(at=LATER)], [], [imported()], [("updated", 1, "u1")]),
    ("a cancelled event closes the interview",
     [seen(cancelled=True)], [], [imported()], [("closed", 1, "u1")]),
    ("a deleted event closes the interview",
     [], [EventKey("u1")], [imported()], [("closed", 1, "u1")]),
    ("cancelled after a follow-up was sent: left alone",
     [seen(cancelled=True)], [], [imported(sent=1)], [("unchanged", 1, "u1")]),
    ("deleted after hearing back: left alone",
     [], [EventKey("u1")], [imported(status=Status.HEARD)], [("unchanged", 1, "u1")]),
    ("a cancelled event never imported",
     [seen(cancelled=True)], [], [], [("skipped", None, "u1")]),
    ("a hand-entered interview is never touched by a deletion",
     [], [EventKey("u1")], [by_hand()], []),
    ("a hand-entered interview at the same time is not imported twice",
     [seen()], [], [by_hand()], [("skipped", 9, "u1")]),
    ("a new UID at the same company within days of a coming interview: rescheduled",
     [seen(uid="u2", at=LATER)], [], [imported()], [("updated", 1, "u2")]),
    ("rescheduled in the same file as the old one's cancellation",
     [seen(uid="u2", at=LATER), seen(uid="u1", cancelled=True)], [], [imported()],
     [("updated", 1, "u2"), ("skipped", None, "u1")]),
    ("a new UID at the same company after the interview happened: a second round",
     [seen(uid="u2", at=LATER)], [], [imported(at=PAST)], [("added", None, "u2")]),
    ("the same event twice is added once",
     [seen(), seen()], [], [], [("added", None, "u1")]),
    ("a new UID at another company: added",
     [seen(uid="u2", company="Beta")], [], [imported()], [("added", None, "u2")]),
    ("one occurrence of a recurring event is its own interview",
     [seen(uid="r", rid="2026-12-03T09:00:00+00:00")], [],
     [imported(uid="r", rid="2026-12-10T09:00:00+00:00", at=datetime(2026, 12, 10, 9, 0,
                                                                      tzinfo=UTC))],
     [("added", None, "r")]),
]


@pytest.mark.parametrize(("case", "present", "gone", "records", "expected"), PLAN_CASES,
                         ids=[c[0] for c in PLAN_CASES])
def test_the_import_plan(case, present, gone, records, expected):
    assert kinds(plan(present, gone, records, NOW)) == expected


def test_an_added_interview_remembers_its_event():
    step = plan([seen(uid="u7", rid="2026-12-03")], [], [], NOW)[0]
    assert step.changes == {
        "company": "Acme", "role": "", "interview_at": AT, "interviewer": "Dana Smith",
        "email": "dana@acme.example", "source": Source.CALENDAR, "event_uid": "u7",
        "event_recurrence_id": "2026-12-03"}


def test_a_move_changes_only_the_time():
    step = plan([seen(at=LATER)], [], [imported()], NOW)[0]
    assert step.changes == {"interview_at": LATER}


def test_a_reschedule_moves_the_interview_to_its_new_event():
    step = plan([seen(uid="u2", at=LATER)], [], [imported()], NOW)[0]
    assert step.changes == {"interview_at": LATER, "event_uid": "u2",
                            "event_recurrence_id": None}


def test_two_coming_interviews_at_the_company_are_no_reschedule_guess():
    records = [imported(1, "u1"), imported(2, "u3", at=LATER)]
    assert kinds(plan([seen(uid="u2", at=AT)], [], records, NOW)) == [("added", None, "u2")]


def test_an_interview_without_a_company_is_skipped_with_its_reason():
    problem = Seen(EventKey("u1"), "Phone screen", problem="no company")
    assert plan([problem], [], [], NOW)[0].reason == "no company"
