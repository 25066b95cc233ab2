"""Calendars in and out of followup: reading iCalendar, fetching feeds, talking CalDAV.

Parsing is `icalendar`'s (with `recurring-ical-events` for occurrences, which
also applies Google's X-WR-TIMEZONE); what an event means is decided by the
pure `sources.events`. Traps handled here, each measured:

- recurring-ical-events gives every occurrence a RECURRENCE-ID, one-off
  events too: a one-off event is keyed on its UID alone, or a moved event
  would look new.
- Cancelled occurrences come back with STATUS:CANCELLED: they close, never add.
- An unknown TZID without a VTIMEZONE silently yields a floating time: it is
  read in the configured zone, and the finding says so.

Only events that look like interviews are expanded, so a year of a busy
calendar costs little. Heavy libraries are imported when first needed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from followup.errors import UserError
from followup.inputs import EMAIL_RE, printable_line
from followup.sources.calendar import events
from followup.sources.calendar.events import EventKey, Person, Seen

if TYPE_CHECKING:
    from icalendar import Calendar, Component

# Events this far back and ahead are read: older interviews would never be nudged
# (see [rules] stale_after_days), so importing them would only clutter `list`.
LOOK_BACK = timedelta(days=90)
LOOK_AHEAD = timedelta(days=2 * 366)
MAX_BYTES = 64 * 1024 * 1024  # a feed larger than this is refused
MAX_EVENTS = 10_000  # interview events in one calendar; more is not a person's calendar
MAX_OCCURRENCES = 20_000  # occurrences read of one calendar
RECURRING = "a recurring series: never an interview (interviews do not repeat)"
TIMEOUT = 30  # seconds for one HTTP request
FIELD_MAX = 1000


class CalendarError(UserError):
    """A calendar could not be read or reached (one line, no secret in it)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """What one calendar holds now: its interview events, and which of the events
    imported from it before are gone. `keys` is what to remember for next time."""

    seen: list[Seen]
    gone: list[EventKey]
    keys: list[EventKey]


@dataclass(frozen=True, slots=True)
class Reader:
    """How to read events: the words that make an interview, the user's addresses,
    the zone for floating times and the time an all-day interview starts."""

    words: Sequence[str]
    me: Sequence[str]
    zone: ZoneInfo
    day_start: time
    exclude: Sequence[str] = ()


# --- parsing ---------------------------------------------------------------------------------


def parse(data: bytes, origin: str) -> Calendar:
    """One iCalendar document. Raises CalendarError when it is not one."""
    from icalendar import Calendar

    if not data.strip():
        raise CalendarError(f"{origin} is empty, not an iCalendar file")
    if len(data) > MAX_BYTES:
        raise CalendarError(f"{origin} is larger than {MAX_BYTES // 2**20} MB: not read")
    try:
        with quiet():
            found = Calendar.from_ical(data, multiple=True)
    except Exception as error:  # the parser raises several kinds for what is not iCalendar
        piecewise = _piecewise(data)
        if piecewise is None:
            # Its messages quote the file's bytes: say only what kind of error it was.
            raise CalendarError(f"{origin} is not an iCalendar file "
                                f"({type(error).__name__})") from None
        found = [piecewise]
    calendars = [c for c in found if getattr(c, "name", "") == "VCALENDAR"]
    if not calendars:
        raise CalendarError(f"{origin} is not an iCalendar file (no VCALENDAR)")
    calendar = calendars[0]
    for more in calendars[1:]:  # several VCALENDAR objects in one file: read them all
        for component in more.subcomponents:
            calendar.add_component(component)
    return calendar


_BLOCK = re.compile(r"^BEGIN:(VEVENT|VTIMEZONE)\r?$.*?^END:\1\r?$",
                    re.IGNORECASE | re.MULTILINE | re.DOTALL)


def _piecewise(data: bytes) -> Calendar | None:
    """A calendar the parser refused whole (one bad base64 value, one zone it cannot
    read), read event by event and zone by zone: what cannot be read is left out,
    and its events are remembered in `followup_broken` (uid, summary). None when the
    data holds no VCALENDAR at all."""
    from icalendar import Calendar

    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
    text = re.sub(r"\n[ \t]", "", text)  # unfold
    if not re.search(r"^BEGIN:VCALENDAR\s*$", text, re.IGNORECASE | re.MULTILINE):
        return None
    calendar = Calendar()
    broken: list[tuple[str, str]] = []
    zone = re.search(r"^X-WR-TIMEZONE:(.+)$", text, re.IGNORECASE | re.MULTILINE)
    if zone:
        calendar.add("X-WR-TIMEZONE", zone.group(1).strip())
    for block in _BLOCK.finditer(text):
        try:
            with quiet():
                one = Calendar.from_ical(f"BEGIN:VCALENDAR\n{block.group(0)}\nEND:VCALENDAR\n")
            for component in one.subcomponents:
                calendar.add_component(component)
        except Exception:
            if block.group(1).upper() == "VEVENT":
                uid = re.search(r"^UID:(.*)$", block.group(0), re.MULTILINE)
                summary = re.search(r"^SUMMARY[^:\n]*:(.*)$", block.group(0), re.MULTILINE)
                broken.append((_one_line(uid.group(1)) if uid else "",
                               _one_line(summary.group(1)) if summary else ""))
    calendar.followup_broken = broken
    return calendar


@contextmanager
def quiet():
    """The parsing libraries' warnings (GloballyUniqueTZIDGuessed, ...) go to the log
    at debug, never raw to the terminal."""
    import logging
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        logging.getLogger("followup").debug("calendar: %s: %s", warning.category.__name__,
                                            _one_line(str(warning.message))[:200])


def read(calendar: Calendar, reader: Reader, now: datetime,
         previous: Iterable[EventKey] = ()) -> Reading:
    """The interview events of a calendar, and those of `previous` that left it.

    A calendar sent as a message (METHOD:REQUEST or CANCEL, an invitation
    attached to an email) speaks only of its own events: nothing is gone.
    """
    groups = _by_uid(calendar)
    matching = [uid for uid, parts in groups.items()
                if any(events.matches(_summary(p), _categories(p), reader.words, reader.exclude)
                       for p in parts)]
    if len(matching) > MAX_EVENTS:
        raise CalendarError(f"the calendar has more than {MAX_EVENTS} interview events: "
                            f"not read")
    broken: list[Seen] = [
        Seen(EventKey(uid), summary, problem="broken event: it cannot be read")
        for uid, summary in getattr(calendar, "followup_broken", ())
        if events.matches(summary, (), reader.words, reader.exclude)]
    wanted: set[str] = set()
    for uid in matching:
        problem = next(filter(None, map(_problem, groups[uid])), "") \
            or (RECURRING if _recurring(groups[uid]) else "")
        if problem:
            broken.append(Seen(EventKey(uid), _summary(groups[uid][0]), problem=problem))
        else:
            wanted.add(uid)
    occurrences = _expand(calendar, groups, sorted(wanted), broken, now)
    fallback = str(calendar.get("X-WR-TIMEZONE", "")) or reader.zone.key  # as applied
    notes = _zone_notes(groups, wanted, fallback)
    recurring = {uid for uid in wanted if _recurring(groups[uid])}
    seen = [*broken]
    produced: set[EventKey] = set()
    for occurrence in occurrences:
        found = _seen(occurrence, recurring, notes, reader)
        if found is not None:
            produced.add(found.key)
            seen.append(found)
    method = str(calendar.get("METHOD", "PUBLISH")).upper()
    gone = [] if method not in ("PUBLISH", "") else _gone(previous, groups, wanted, produced,
                                                           now)
    keys = [s.key for s in seen if not s.cancelled and s.found is not None]
    return Reading(seen, gone, keys)


def _by_uid(calendar: Calendar) -> dict[str, list[Component]]:
    groups: dict[str, list[Component]] = {}
    for component in calendar.walk("VEVENT"):
        groups.setdefault(str(component.get("UID", "")), []).append(component)
    return groups


def _expand(calendar: Calendar, groups: dict[str, list[Component]], wanted: list[str],
            broken: list[Seen], now: datetime) -> list[Component]:
    """The occurrences of the wanted events. When the whole fails (a recurrence rule
    nobody can read), event by event, so that one broken event costs only itself."""
    try:
        return _occurrences(_subcalendar(calendar, (groups[u] for u in wanted), broken), now)
    except Exception:  # recurring-ical-events and dateutil raise many kinds
        broken.clear()
    found = []
    for uid in wanted:
        try:
            found += _occurrences(_subcalendar(calendar, [groups[uid]], broken), now)
        except Exception:
            summary = _summary(groups[uid][0])
            broken.append(Seen(EventKey(uid), summary,
                               problem="broken event: its recurrence rule cannot be read"))
    return found


def _subcalendar(calendar: Calendar, parts: Iterable[list[Component]],
                 broken: list[Seen]) -> Calendar:
    """A calendar of the wanted events only (and the zones), without broken ones."""
    from icalendar import Calendar

    sub = Calendar()
    for name, value in calendar.property_items(recursive=False):
        if name not in ("BEGIN", "END"):
            sub.add(name, value)
    for zone in calendar.walk("VTIMEZONE"):
        sub.add_component(zone)
    for group in parts:
        for component in group:
            problem = _problem(component)
            if problem:
                broken.append(Seen(EventKey(str(component.get("UID", ""))),
                                   _summary(component), problem=problem))
            else:
                sub.add_component(component)
    return sub


def _problem(component: Component) -> str:
    """Why an event cannot be read ("" when it can)."""
    if not str(component.get("UID", "")).strip():
        return "broken event: no UID"
    if isinstance(component.get("DTSTART"), list):
        return "broken event: two starts (DTSTART)"
    try:
        start = component.start
    except Exception as error:  # icalendar raises several kinds for a bad DTSTART
        return f"broken event: no readable start ({type(error).__name__})"
    if not isinstance(start, date):
        return "broken event: no readable start"
    return ""


def _recurring(parts: list[Component]) -> bool:
    return any("RRULE" in p or "RDATE" in p or "RECURRENCE-ID" in p for p in parts)


def _zone_notes(groups: dict[str, list[Component]], wanted: set[str],
                zone: str) -> dict[str, str]:
    """For events whose TZID nobody knows: how their time was read instead."""
    notes = {}
    for uid in wanted:
        for part in groups[uid]:
            start = part.get("DTSTART")
            if isinstance(start, list):
                continue
            tzid = start.params.get("TZID") if start is not None else None
            if tzid and isinstance(start.dt, datetime) and start.dt.tzinfo is None:
                notes[uid] = f"unknown time zone {tzid!r}: the time was read in {zone}"
    return notes


def _occurrences(calendar: Calendar, now: datetime) -> list[Component]:
    import itertools

    import recurring_ical_events

    with quiet():
        found = recurring_ical_events.of(calendar).between(now - LOOK_BACK, now + LOOK_AHEAD)
        return list(itertools.islice(found, MAX_OCCURRENCES + 1))[:MAX_OCCURRENCES]


def _seen(occurrence: Component, recurring: set[str], notes: dict[str, str],
          reader: Reader) -> Seen | None:
    uid = str(occurrence.get("UID"))
    rid = None
    if uid in recurring and occurrence.get("RECURRENCE-ID") is not None:
        rid = key_time(occurrence["RECURRENCE-ID"].dt)
    event = events.Event(
        key=EventKey(uid, rid), summary=_summary(occurrence), start=occurrence.start,
        status=str(occurrence.get("STATUS", "")), categories=_categories(occurrence),
        organizer=_person(occurrence.get("ORGANIZER")),
        attendees=tuple(p for p in map(_person, _many(occurrence.get("ATTENDEE"))) if p),
        zone_note=notes.get(uid, ""))
    return events.read(event, reader.words, reader.me, reader.zone, reader.day_start,
                       reader.exclude)


def _gone(previous: Iterable[EventKey], groups: dict[str, list[Component]], wanted: set[str],
          produced: set[EventKey], now: datetime) -> list[EventKey]:
    """Remembered events no longer in the calendar: the UID left, or (for one
    occurrence inside the window read) the occurrence did."""
    gone = []
    for key in previous:
        if key.uid not in groups:
            gone.append(key)
        elif key.recurrence_id is not None and key.uid in wanted and key not in produced:
            moment = parse_key_time(key.recurrence_id)
            if moment is not None and now - LOOK_BACK <= moment <= now + LOOK_AHEAD:
                gone.append(key)
    return gone


def key_time(moment: datetime | date) -> str:
    """A RECURRENCE-ID as the database keeps it: UTC ISO 8601, or a date."""
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat()


def parse_key_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _summary(component: Component) -> str:
    return _one_line(str(component.get("SUMMARY", "")))


def _categories(component: Component) -> tuple[str, ...]:
    names: list[str] = []
    for value in _many(component.get("CATEGORIES")):
        names.extend(str(c) for c in getattr(value, "cats", [value]))
    return tuple(names)


def _many(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _person(value: Any) -> Person | None:
    if value is None:
        return None
    address = str(value)
    email = address[7:] if address.lower().startswith("mailto:") else ""
    name = str(getattr(value, "params", {}).get("CN", ""))
    if not (EMAIL_RE.match(email) or name):
        return None
    return Person(_one_line(name), _one_line(email) if EMAIL_RE.match(email) else "")


def _one_line(text: str) -> str:
    return " ".join(printable_line(text).split())[:FIELD_MAX]


# --- remembering keys ------------------------------------------------------------------------


def keys_json(keys: Iterable[EventKey]) -> str:
    ordered = sorted(set(keys), key=lambda k: (k.uid, k.recurrence_id or ""))
    return json.dumps([[k.uid, k.recurrence_id] for k in ordered])


def keys_from_json(text: str | None) -> list[EventKey]:
    if not text:
        return []
    try:
        return [EventKey(uid, rid) for uid, rid in json.loads(text)]
    except (ValueError, TypeError):
        return []
