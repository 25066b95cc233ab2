"""The planned nudges as iCalendar: what `followup export` prints and the daemon keeps current.

One VEVENT (not VTODO: Google and iOS ignore those) per planned nudge, at its
fire time, titled "Follow up with Acme (1 of 2)", the draft in its
description. Its UID is stable per interview and nudge number, so a calendar
subscribed to the file updates an event rather than adding another. SEQUENCE
is raised and LAST-MODIFIED set whenever an event's content changes; DTSTAMP
is pinned to that change too, so an unchanged plan renders to identical
bytes (and the file is not rewritten: `files.write_atomically`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from followup import content
from followup.models import Draft, Interview

LENGTH = timedelta(minutes=15)  # how long a nudge's event lasts in the calendar
CALENDAR_NAME = "Follow-ups"
PRODID = "-//followup//planned follow-ups//EN"


@dataclass(frozen=True, slots=True)
class Planned:
    """One planned nudge, as an event."""

    uid: str
    summary: str
    start: datetime  # aware
    description: str

    @property
    def digest(self) -> str:
        text = "\n".join([self.summary, self.start.astimezone(UTC).isoformat(),
                          self.description])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Stamp:
    """What the calendar was last told about an event: its content digest, its
    SEQUENCE, and when it last changed (LAST-MODIFIED, and DTSTAMP)."""

    digest: str
    sequence: int
    modified: datetime


def planned(interview: Interview, number: int, of: int, fire_at: datetime,
            installation: str, draft: Draft, language: str = "en",
            followup: int | None = None) -> Planned:
    """The event for nudge `number` of `of` of an interview, carrying `draft` (the
    one `followup draft` prints: follow-up `followup`, by default `number`) as
    `draft` prints it, in the interview's language (`language` when it names none)."""
    words = content.words(content.language_of(interview, language))
    intro = words.event_intro(interview.role, interview.company, followup or number, of)
    return Planned(uid=f"followup-{installation}-{interview.id}-{number}@followup",
                   summary=words.event_title(interview.company, number, of),
                   start=fire_at, description=f"{intro}\n\n{content.draft_text(draft)}")


def restamp(events: Iterable[Planned], stamps: dict[str, Stamp],
            now: datetime) -> dict[str, Stamp]:
    """The stamps after this plan: a changed (or new) event gets SEQUENCE + 1 and
    `now` as its modification time; the others keep theirs. Stamps of events
    that left the plan are kept, so one that comes back is raised again."""
    result = dict(stamps)
    for event in events:
        old = stamps.get(event.uid)
        if old is None:
            result[event.uid] = Stamp(event.digest, 0, now)
        elif old.digest != event.digest:
            result[event.uid] = Stamp(event.digest, old.sequence + 1, now)
    return result


def render(events: Sequence[Planned], stamps: dict[str, Stamp]) -> bytes:
    """The iCalendar document of the plan: deterministic for the same input."""
    from icalendar import Alarm, Calendar, Event

    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    calendar.add("X-WR-CALNAME", CALENDAR_NAME)
    for planned_event in sorted(events, key=lambda e: (e.start, e.uid)):
        stamp = stamps[planned_event.uid]
        event = Event()
        event.add("UID", planned_event.uid)
        event.add("DTSTAMP", stamp.modified.astimezone(UTC))
        event.add("LAST-MODIFIED", stamp.modified.astimezone(UTC))
        event.add("SEQUENCE", stamp.sequence)
        event.add("DTSTART", planned_event.start.astimezone(UTC))
        event.add("DTEND", planned_event.start.astimezone(UTC) + LENGTH)
        event.add("SUMMARY", planned_event.summary)
        event.add("DESCRIPTION", planned_event.description)
        event.add("TRANSP", "TRANSPARENT")  # a reminder, not a busy slot
        alarm = Alarm()  # a bonus: many clients drop it; the daemon's nudge is the reminder
        alarm.add("ACTION", "DISPLAY")
        alarm.add("DESCRIPTION", planned_event.summary)
        alarm.add("TRIGGER", timedelta(0))
        event.add_component(alarm)
        calendar.add_component(event)
    return calendar.to_ical()


def stamps_json(stamps: dict[str, Stamp]) -> str:
    return json.dumps({uid: [s.digest, s.sequence, s.modified.isoformat()]
                       for uid, s in sorted(stamps.items())})


def stamps_from_json(text: str | None) -> dict[str, Stamp]:
    if not text:
        return {}
    try:
        return {uid: Stamp(digest, int(sequence), datetime.fromisoformat(modified))
                for uid, (digest, sequence, modified) in json.loads(text).items()}
    except (ValueError, TypeError):
        return {}


