"""Parsing and checking what the user types. Pure: the zone and `now` come in.

Each function returns the clean value or raises UserError with one line that
says what was wrong and how to write it.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from followup.errors import UserError
from followup.models import LANGUAGES, ReplyOutcome

ONE_LINE_MAX = 1000
NOTES_MAX = 10_000
EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]+$")
DURATION_RE = re.compile(
    r"(\d{1,12}(?:\.\d{1,6})?)\s*(minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w)(?![a-z])")
DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_SNOOZE = timedelta(days=365)
DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def moment(text: str, zone: ZoneInfo, what: str = "time",
           like: str = "2026-11-24 or 2026-11-24T14:30") -> datetime:
    """An ISO 8601 date or datetime; without an offset it is read in `zone`.

    A date alone means the start of that day. Returns an aware UTC datetime.
    `like` is the example a refusal offers.
    """
    value = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            parsed = datetime.combine(date.fromisoformat(value), time(0))
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        problem = (_no_such_day(value)
                   or f"is not an ISO 8601 date or time (like {like})")
        raise UserError(f"{what} {shown(text)} {problem}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
        moved = parsed.astimezone(UTC).astimezone(zone)
        skipped = moved.replace(tzinfo=None) != parsed.replace(tzinfo=None)
        if skipped and not DATE_ONLY.fullmatch(value):
            raise UserError(f"{what} {shown(text)} does not exist in {zone.key}: the clocks "
                            f"skip that hour (did you mean {moved:%Y-%m-%dT%H:%M}?)")
    result = parsed.astimezone(UTC)
    if not EARLIEST <= result < LATEST:
        raise UserError(f"{what} {shown(text)} is out of range (years 1970 to 2199)")
    return result


def twice_note(text: str, zone: ZoneInfo) -> str | None:
    """For a valid time without an offset that the clocks show twice (the night they go
    back): which of the two was taken and how to write the other; else None."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if parsed.tzinfo is not None or DATE_ONLY.fullmatch(text.strip()):
        return None
    first, second = parsed.replace(tzinfo=zone), parsed.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    return (f"{parsed:%Y-%m-%dT%H:%M} happens twice in {zone.key} (the clocks go back): "
            f"took the first, {first.isoformat(timespec='minutes')}; for the second write "
            f"{second.isoformat(timespec='minutes')}")


def _no_such_day(value: str) -> str | None:
    """'has no day 31: November 2026 has 30 days' when a date's day is past its month's
    end; else None."""
    found = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
    if not found:
        return None
    year, month, day = (int(part) for part in found.groups())
    if not 1 <= month <= 12 or day < 29:
        return None
    days = calendar.monthrange(year, month)[1]
    if day <= days:
        return None
    return f"has no day {day}: {calendar.month_name[month]} {year} has {days} days"


def has_offset(text: str) -> bool:
    """Whether a valid ISO 8601 time carries its own offset (so no zone was assumed)."""
    try:
        return datetime.fromisoformat(text.strip()).tzinfo is not None
    except ValueError:
        return False


def interview_time(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """An interview's time: `moment`, but a date without a time of day and a time
    more than a year ahead are refused, each with what was probably meant."""
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        moment(value, zone, "interview time")  # a bad date is reported as such
        raise UserError(f"interview time {shown(text)} has no time of day: add it, like "
                        f"{value}T14:00 (in your time zone, {zone.key})")
    found = moment(text, zone, "interview time", like=f"{_example(now, zone)}T14:30")
    if found > now + timedelta(days=366):
        local = found.astimezone(zone)
        raise UserError(f"interview time {shown(text)} is more than a year ahead: check the "
                        f"year{_meant(local, now.year, '%Y-%m-%dT%H:%M')}")
    return found


def _example(now: datetime, zone: ZoneInfo) -> str:
    return f"{now.astimezone(zone):%Y-%m-%d}"


def within_a_year(value: date, today: date, what: str) -> date:
    """A date at most a year (366 days) after `today`; else UserError saying which year
    was probably meant."""
    if value > today + timedelta(days=366):
        raise UserError(f"{what} {value} is more than a year ahead: check the "
                        f"year{_meant(value, today.year, '%Y-%m-%d')}")
    return value


def _meant(value: date | datetime, year: int, layout: str) -> str:
    """' (did you mean ...?)' with `year` in place of the given one ('' on 29 February)."""
    try:
        return f" (did you mean {value.replace(year=year):{layout}}?)"
    except ValueError:
        return ""


def topics(values: tuple[str, ...] | list[str]) -> str:
    """What was discussed, as the letter should name it: topics separated by ";" (or
    given as several values), kept as one line "A; B; C". At most 1,000 characters."""
    parts = [part.strip() for value in values for part in re.split(r"[;\n]", value)]
    joined = "; ".join(part for part in parts if part)
    return one_line(joined, "topics")


def domains(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Sender domains of an employer, lower case, each checked; an empty value clears."""
    found: list[str] = []
    for value in values:
        if value.strip():
            name = domain(value)
            if name not in found:
                found.append(name)
    return tuple(found)


DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def domain(value: str) -> str:
    """One domain name like `acme.example` (an `@` in front and a final dot are dropped;
    international names become their ASCII form)."""
    name = one_line(value, "domain").lower().lstrip("@").rstrip(".")
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_name = ""
    labels = ascii_name.split(".")
    if (len(labels) < 2 or len(ascii_name) > 253
            or not all(DOMAIN_LABEL.match(label) for label in labels)
            or labels[-1].isdigit()):
        raise UserError(f"domain {shown(value)} is not a domain name (like acme.example)")
    return ascii_name


def day(text: str, what: str = "date") -> date:
    """An ISO 8601 calendar date (YYYY-MM-DD)."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            raise ValueError
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{what} {shown(text)} is not a date like 2026-12-01") from None


def duration(text: str) -> timedelta:
    """A duration like 90m, 4h, 2d, 1w, 1d12h, 1.5d or "2 days"; more than zero, at
    most a year."""
    compact = text.strip().lower()
    if compact.startswith("-"):
        raise UserError(f"duration {shown(text)} is negative: a snooze only pushes a nudge "
                        "later (to end a snooze, use --clear)")
    if not compact or DURATION_RE.sub("", compact).strip():
        raise UserError(f"duration {shown(text)} is not understood (use minutes, hours, days "
                        "or weeks: 90m, 4h, 2d, 1.5d, 1w, \"2 days\")")
    seconds = round(sum(float(n) * DURATION_UNITS[unit[0]]
                        for n, unit in DURATION_RE.findall(compact)))
    if not 0 < seconds <= MAX_SNOOZE.total_seconds():
        raise UserError(f"duration {shown(text)} must be more than zero and at most 365 days")
    return timedelta(seconds=seconds)


def snooze_end(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """When a snooze typed as a duration ("2d") or a date or date-time ("2026-12-14",
    "2026-12-14T10:00") ends: in the future, at most a year ahead. A date alone ends at
    the start of that day."""
    if not re.match(r"\s*\d{4}-", text):
        return now + duration(text)
    until = moment(text, zone, "snooze date", like=f"{_example(now, zone)} or "
                                                  f"{_example(now, zone)}T14:30")
    if until <= now:
        raise UserError(f"snooze date {shown(text)} has passed: give a later one")
    if until > now + MAX_SNOOZE:
        raise UserError(f"snooze date {shown(text)} is more than a year ahead: check the year")
    return until


def one_line(value: str, what: str, required: bool = False) -> str:
    """A one-line field: at most 1,000 characters, no control characters."""
    value = value.strip()
    if required and not value:
        raise UserError(f"{what} must not be empty")
    if len(value) > ONE_LINE_MAX:
        raise UserError(f"{what} is too long ({len(value)} characters; at most {ONE_LINE_MAX})")
    if has_control(value):
        raise UserError(f"{what} must be a single line without control characters")
    return value


def notes(value: str) -> str:
    """Free text: at most 10,000 characters; line breaks and tabs are fine."""
    if len(value) > NOTES_MAX:
        raise UserError(f"notes are too long ({len(value)} characters; at most {NOTES_MAX})")
    if any(_control(c) and c not in "\n\t" for c in value.replace("\r\n", "\n")):
        raise UserError("notes must not contain control characters")
    return value.replace("\r\n", "\n").strip()


def email(value: str) -> str:
    value = one_line(value, "email")
    if value and not EMAIL_RE.match(value):
        raise UserError(f"email {shown(value)} is not an email address (like ana@example.com)")
    return value


def language(value: str) -> str | None:
    """A drafts' language code ("de"); "" clears it (None: the `[me] language`)."""
    code = value.strip().lower()
    if code and code not in LANGUAGES:
        raise UserError(f"language {shown(value)} is not one the drafts are written in "
                        f"(use {', '.join(LANGUAGES)})")
    return code or None


def outcome(value: str) -> ReplyOutcome:
    try:
        return ReplyOutcome(value)
    except ValueError:
        options = ", ".join(o.value for o in ReplyOutcome)
        raise UserError(f"outcome {shown(value)} is not one of {options}") from None


def shown(value: str, limit: int = 40) -> str:
    """A value as a message quotes it: cut short, so a huge one does not flood the line."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def has_control(value: str) -> bool:
    """Whether the text holds a control character (C0, DEL, C1, or a Unicode line break).

    The one check for every one-line value, typed or configured."""
    return any(_control(c) for c in value)


def printable_line(text: str) -> str:
    """The text with every character that is not printable (line breaks, tabs, control
    characters) turned into a space: what a one-line field keeps of text from outside."""
    return "".join(c if c.isprintable() else " " for c in text)


def _control(char: str) -> bool:
    code = ord(char)
    return code < 32 or code == 127 or 0x80 <= code < 0xA0 or char in "\u2028\u2029"
