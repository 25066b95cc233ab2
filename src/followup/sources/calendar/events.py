"""Calendar events: which are interviews, and what an import does. Pure: no I/O, no clock.

`read` takes one parsed event (from `calendar_io`) and says whether it is an
interview, with whom, at which company and when. `plan` takes what a
calendar holds now (and which events left it), the interviews already in the
database and `now`, and returns the steps an import takes: added, updated,
closed, skipped, unchanged. The caller applies them; nothing here writes.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from followup.models import Interview, Record, Source, Status
from followup.sources.mailbox import lists as mail_lists
from followup.sources.mailbox.replies import is_public_provider, within

# A new invitation (new UID) at the same company within this of an imported,
# not yet happened interview is that interview rescheduled, not a second one.
RESCHEDULE_WINDOW = timedelta(days=5)
# A hand-entered interview at the same company within this of an event is the
# same interview: the event is not imported a second time.
DUPLICATE_WINDOW = timedelta(hours=36)
DEFAULT_ROLE = ""  # a title that names no role: the draft names none either
# Who sends invitations for employers: tracking systems and scheduling services.
SCHEDULERS = mail_lists.TRACKING_SYSTEMS | mail_lists.SCHEDULING_SERVICES
# Local parts of addresses nobody reads ("no-reply@...", dashes and underscores ignored).
ROBOTS = frozenset({"noreply", "donotreply", "notifications", "notification", "calendar",
                    "scheduling", "invites", "mailer"})
DASHES = "\N{EN DASH}\N{EM DASH}"
SEPARATORS = re.compile(rf"\s+[-|{DASHES}/]\s+|\s*:\s+|\s+<>\s+|\s+x\s+")
NAME = rf"(?P<name>[^-|{DASHES}:(),]+)"
AT_COMPANY = re.compile(rf"(?:\bat|@|\bbei|\bchez)\s+{NAME}", re.IGNORECASE)
WITH_NAME = re.compile(rf"\b(?:with|mit|avec)\s+{NAME}", re.IGNORECASE)
FOR_ROLE = re.compile(rf"\b(?:for|für|pour)\s+(?:the\s+|a\s+|an\s+)?(?P<role>[^-|{DASHES}:(),]+?)"
                      rf"(?:\s+(?:at|with|bei|chez|@)\b|\s*[-|{DASHES}:(),]|$)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class EventKey:
    """Which event: the UID, and the RECURRENCE-ID of one occurrence of a recurring event
    (None for a one-off: its start may move, its identity stays)."""

    uid: str
    recurrence_id: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One event (or one occurrence) as the calendar holds it.

    `start` is an aware datetime, a naive one (floating: read in the configured
    zone), or a date (all day). `zone_note` says when the calendar named a zone
    nobody knows, so the time was read in the configured zone instead.
    """

    key: EventKey
    summary: str
    start: datetime | date
    status: str = ""  # CONFIRMED, TENTATIVE, CANCELLED or ""
    categories: tuple[str, ...] = ()
    organizer: Person | None = None
    attendees: tuple[Person, ...] = ()
    zone_note: str = ""


@dataclass(frozen=True, slots=True)
class Found:
    """What one interview event says: the fields of the interview it stands for."""

    company: str
    role: str
    at: datetime  # aware, UTC
    interviewer: str = ""
    email: str = ""
    note: str = ""  # e.g. how the time was read


@dataclass(frozen=True, slots=True)
class Seen:
    """One event of the calendar, read: an interview (`found`), or why not (`problem`)."""

    key: EventKey
    summary: str
    cancelled: bool = False
    found: Found | None = None
    problem: str = ""  # the event is an interview but cannot be imported: why


@dataclass(frozen=True, slots=True)
class Step:
    """What the import does about one event; `changes` are Interview fields to write."""

    kind: str  # added, updated, closed, skipped, unchanged
    key: EventKey
    summary: str
    interview_id: int | None = None
    reason: str = ""
    changes: dict[str, Any] = field(default_factory=dict)


# --- reading one event ----------------------------------------------------------------------


def matches(summary: str, categories: Iterable[str], words: Sequence[str],
            exclude: Sequence[str] = ()) -> bool:
    """Whether the title or a category contains one of `words` as whole words (any
    case, accents as written: "Interview" and "phone  screen" match, "Interviewing"
    does not), and none of `exclude`."""
    texts = [summary.casefold(), *(c.casefold() for c in categories)]
    found = any(_whole(word).search(text) for word in words for text in texts)
    return found and not any(_whole(word).search(text) for word in exclude for text in texts)


@lru_cache(maxsize=256)
def _whole(word: str) -> re.Pattern[str]:
    inner = r"\s+".join(re.escape(part) for part in word.casefold().split())
    return re.compile(rf"(?<!\w){inner}(?!\w)")


def read(event: Event, words: Sequence[str], me: Sequence[str], zone: ZoneInfo,
         day_start: time, exclude: Sequence[str] = ()) -> Seen | None:
    """The event as an interview, or None when it is not one.

    An interview that cannot be imported (no company anywhere) comes back with a
    `problem`; a cancelled one with `cancelled` set, so that the plan can close it.
    """
    if not matches(event.summary, event.categories, words, exclude):
        return None
    cancelled = event.status.upper() == "CANCELLED"
    person = interviewer(event, me)
    company, role = company_and_role(event.summary, words, person)
    if not company:
        return Seen(event.key, event.summary, cancelled,
                    problem="no company in the title or the organizer's address")
    found = Found(company=company, role=role or DEFAULT_ROLE, at=start_time(event, zone, day_start),
                  interviewer=person.name if person else "",
                  email=person.email if person else "", note=event.zone_note)
    return Seen(event.key, event.summary, cancelled, found=found)


def start_time(event: Event, zone: ZoneInfo, day_start: time) -> datetime:
    """The interview time in UTC: all-day at `day_start`, floating in `zone`."""
    start = event.start
    if not isinstance(start, datetime):
        start = datetime.combine(start, day_start)
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    return start.astimezone(UTC)


def interviewer(event: Event, me: Sequence[str]) -> Person | None:
    """The organizer, or else the first attendee, that is not the user (nor a room).

    A tracking system's robot (no-reply@..., a scheduling service's address)
    gives way to a person among the attendees, when there is one: a draft is
    better addressed to someone who reads it.
    """
    mine = {address.casefold() for address in me}
    people = [p for p in (event.organizer, *event.attendees)
              if p is not None and p.email.casefold() not in mine and not _is_room(p)]
    humans = [p for p in people if not _is_robot(p)]
    return (humans or people or [None])[0]


def _is_room(person: Person) -> bool:
    return person.email.casefold().endswith("resource.calendar.google.com")


def _is_robot(person: Person) -> bool:
    local, _, domain = person.email.casefold().rpartition("@")
    return (local.replace("-", "").replace("_", "") in ROBOTS
            or within(domain, SCHEDULERS))


def company_and_role(summary: str, words: Sequence[str],
                     person: Person | None) -> tuple[str, str]:
    """The company (and role, when the title names one) from the title, else the
    interviewer's mail domain. ("", "") when neither says."""
    title = " ".join(summary.split())
    role = _role(title)
    for pattern in (AT_COMPANY, WITH_NAME):
        found = pattern.search(title)
        if found and _is_company(found["name"], words, person):
            return _clean(found["name"]), role
    parts = [p for p in SEPARATORS.split(title) if p.strip() and not matches(p, (), words)]
    parts = [p for p in parts if _is_company(p, words, person)]
    if parts:
        return _clean(parts[0]), role or (_clean(parts[1]) if len(parts) > 1 else "")
    return (domain_company(person.email) if person else ""), role


def _role(title: str) -> str:
    found = FOR_ROLE.search(title)
    return _clean(found["role"]) if found else ""


def _is_company(text: str, words: Sequence[str], person: Person | None) -> bool:
    name = _clean(text)
    if not name or matches(name, (), words) or " and " in name or "@" in name:
        return False
    return not (person and person.name and name.casefold() == person.name.casefold())


def _clean(text: str) -> str:
    return text.strip(" \t.,;:!?'\"()[]").strip()


def domain_company(email: str) -> str:
    """'dana@mail.acme-robotics.example' -> 'Acme-robotics'; '' for mail providers."""
    domain = email.rpartition("@")[2].casefold()
    if (not domain or is_public_provider(domain)
            or within(domain, mail_lists.PUBLIC_PROVIDERS | mail_lists.MEETING_SERVICES
                      | SCHEDULERS)):
        return ""
    labels = domain.split(".")
    name = labels[-2] if len(labels) >= 2 else labels[0]
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in ("co", "com", "ac"):
        name = labels[-3]  # acme.co.uk
    return name.capitalize()


# --- planning an import ---------------------------------------------------------------------


def plan(seen: Sequence[Seen], gone: Iterable[EventKey], records: Sequence[Record],
         now: datetime, removed: Collection[EventKey] = ()) -> list[Step]:
    """The steps that bring the database in line with the calendar.

    `seen`: the interview events the calendar holds; `gone`: the events that were
    imported before and have left it; `records`: every interview in the
    database; `removed`: the events whose interview the user removed (skipped).
    Only interviews imported from a calendar are ever changed.
    Present events go first, so that a rescheduled invitation with a new UID
    takes the interview over before the old UID's cancellation is looked at.
    """
    imported = {_key(r.interview): r for r in records
                if r.interview.source is Source.CALENDAR and r.interview.event_uid}
    steps: list[Step] = []
    planned: set[EventKey] = set()
    for item in seen:
        if item.key in planned:
            continue  # the same event twice (two CalDAV objects with one UID): once is enough
        planned.add(item.key)
        if item.key in removed and item.key not in imported:
            if not item.cancelled:
                steps.append(Step("skipped", item.key, item.summary, reason="removed by you"))
            continue
        step = _present(item, imported, records, now) if not item.cancelled else None
        if step is not None:
            steps.append(step)
            if step.kind in ("added", "updated") and step.interview_id is not None:
                _retarget(imported, step)
    for item in seen:
        if item.cancelled:
            steps.append(_cancelled(item.key, item.summary, imported.get(item.key), "cancelled"))
    for key in gone:
        record = imported.get(key)
        if record is not None:
            steps.append(_cancelled(key, record.interview.company, record, "deleted"))
    return steps


def _key(interview: Interview) -> EventKey:
    return EventKey(interview.event_uid or "", interview.event_recurrence_id)


def _retarget(imported: dict[EventKey, Record], step: Step) -> None:
    """After a reschedule took an interview over, it answers to its new event only."""
    for key, record in list(imported.items()):
        if record.interview.id == step.interview_id and key != step.key:
            imported[step.key] = imported.pop(key)


def _present(item: Seen, imported: dict[EventKey, Record], records: Sequence[Record],
             now: datetime) -> Step | None:
    if item.found is None:
        return Step("skipped", item.key, item.summary, reason=item.problem)
    record = imported.get(item.key)
    if record is not None:
        return _compare(item, record)
    earlier = _rescheduled(item.found, imported.values(), now)
    if earlier is not None:
        step = _compare(item, earlier)
        changes = {**step.changes, "event_uid": item.key.uid,
                   "event_recurrence_id": item.key.recurrence_id}
        return Step("updated", item.key, item.summary, earlier.interview.id,
                    f"rescheduled (a new invitation replaces {earlier.interview.event_uid})",
                    changes)
    typed = _typed_by_hand(item.found, records)
    if typed is not None:
        return Step("skipped", item.key, item.summary, typed.id,
                    f"already entered by hand as interview {typed.id}")
    return Step("added", item.key, item.summary, None, item.found.note,
                _fields(item.key, item.found))


def _compare(item: Seen, record: Record) -> Step:
    interview, found = record.interview, item.found
    assert found is not None
    if interview.interview_at == found.at:
        return Step("unchanged", item.key, item.summary, interview.id)
    return Step("updated", item.key, item.summary, interview.id,
                f"moved from {interview.interview_at:%Y-%m-%d %H:%M} UTC",
                {"interview_at": found.at})


def _rescheduled(found: Found, imported: Iterable[Record], now: datetime) -> Record | None:
    """An imported, not yet happened interview at the same company, within a few days."""
    company = found.company.casefold()
    close = [r for r in imported
             if r.interview.company.casefold() == company and r.interview.interview_at > now
             and r.interview.status is Status.WAITING
             and abs(r.interview.interview_at - found.at) <= RESCHEDULE_WINDOW]
    return close[0] if len(close) == 1 else None  # two candidates: no guess


def _typed_by_hand(found: Found, records: Sequence[Record]) -> Interview | None:
    company = found.company.casefold()
    return next((r.interview for r in records if r.interview.source is Source.MANUAL
                 and r.interview.company.casefold() == company
                 and abs(r.interview.interview_at - found.at) <= DUPLICATE_WINDOW), None)


def _cancelled(key: EventKey, summary: str, record: Record | None, how: str) -> Step:
    if record is None:
        return Step("skipped", key, summary, reason=f"{how}, and never imported")
    interview = record.interview
    if interview.status is not Status.WAITING:
        return Step("unchanged", key, summary, interview.id, f"{how}; already {interview.status}")
    if _acted(record):
        return Step("unchanged", key, summary, interview.id,
                    f"{how}, but you already sent a follow-up: left as it is")
    return Step("closed", key, summary, interview.id, f"the event was {how}",
                {"status": Status.CLOSED})


def _acted(record: Record) -> bool:
    """The user already sent a follow-up or heard back: a cancellation changes nothing."""
    return record.followups_sent > 0 or record.interview.status is Status.HEARD


def _fields(key: EventKey, found: Found) -> dict[str, Any]:
    return {"company": found.company, "role": found.role, "interview_at": found.at,
            "interviewer": found.interviewer, "email": found.email,
            "source": Source.CALENDAR, "event_uid": key.uid,
            "event_recurrence_id": key.recurrence_id}


def changed_any(steps: list[Step]) -> bool:
    """Whether these steps changed an interview (the daemon then plans again)."""
    return any(step.kind in ("added", "updated", "closed") for step in steps)
