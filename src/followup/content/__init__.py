"""What the user reads: follow-up drafts, reminder text, digests, durations.

Pure: no I/O and no clock. Drafts follow the etiquette: thank the
interviewer, recall what was discussed (the interview's topics; its notes
are private and never reach a draft), restate interest, ask nothing, attach
nothing, press no one. Every field is clipped, so a draft body stays under
150 words whatever the interview holds.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from followup.models import Draft, Interview, Notice, Reminder

QUESTION_MARKS = str.maketrans("", "", "?\N{INVERTED QUESTION MARK}\N{FULLWIDTH QUESTION MARK}")
DASHES = "\N{EN DASH}\N{EM DASH}"
# Titles that go with the family name in a greeting ("Dear Dr. Müller").
TITLES = frozenset({"dr", "prof", "professor", "mr", "mrs", "ms", "mx", "miss", "herr",
                    "frau", "mme", "mlle", "sr", "sra", "srta", "dott", "ing", "dipl-ing",
                    "dipl.-ing", "sir", "dame"})
# Lower-case words that begin a family name ("van der Berg", "von Trapp").
PARTICLES = frozenset({"van", "von", "de", "der", "den", "da", "di", "du", "del", "della",
                       "des", "la", "le", "ten", "ter", "zu", "af", "al", "bin", "el"})
LEADING_MARKS = " \t-*•>#:;,." + DASHES
TRAILING_MARKS = " \t.,;:!-" + DASHES
# (from this long, count in units of this, unit name); the first that fits wins.
SPANS = (
    (timedelta(days=365), timedelta(days=365), "year"),
    (timedelta(days=60), timedelta(days=30), "month"),
    (timedelta(days=14), timedelta(days=7), "week"),
    (timedelta(days=1), timedelta(days=1), "day"),
    (timedelta(hours=1), timedelta(hours=1), "hour"),
    (timedelta(minutes=1), timedelta(minutes=1), "minute"),
)


def draft(interview: Interview, number: int, of: int, signature: str = "") -> Draft:
    """The follow-up email for follow-up `number` of `of`, addressed to interview.email.

    The first thanks the interviewer, recalls the interview's topics (never
    its private notes) and restates interest; a later one is shorter and
    follows up without pressing. Signed with `signature` (the user's name)
    when there is one. The text asks no question (no '?') and mentions no
    attachment; the body is plain text with "\\n" line breaks and always under
    150 words.
    """
    role, company = _field(interview.role, 10), _field(interview.company, 8)
    if number >= 2:
        subject = f"Following up: {role} at {company}"
        paragraphs = _later_paragraphs(role, company)
    else:
        subject = f"Thank you \N{EN DASH} {role} interview"
        paragraphs = _first_paragraphs(role, company, topics_text(interview.topics))
    closing = "Best regards,"
    name = _field(signature, 8)
    if name:
        closing += f"\n{name}"
    body = "\n\n".join([_greeting(interview), *paragraphs, closing])
    return Draft(to=interview.email, subject=subject, body=body + "\n")


def reminder(interview: Interview, number: int, of: int, now: datetime,
             zone: ZoneInfo, *, sent: int | None = None, opens_at: datetime | None = None,
             signature: str = "") -> Reminder:
    """Nudge `number` of `of`: a title, a short body and the draft.

    The draft and the body are for the follow-up the user will actually
    send next, `sent + 1` (`sent`: the follow-ups already recorded; by
    default `number - 1`), which is not `number` when an earlier nudge was
    ignored. The body names the role, the interviewer (if any), when the
    interview was (relative to `now` and as a local time in `zone`) and
    "follow-up N of M". `opens_at` (when the nudge became due) orders digests.
    """
    next_number = number if sent is None else sent + 1
    role, company = _field(interview.role, 10), _field(interview.company, 8)
    name = _field(interview.interviewer, 6)
    with_whom = f" with {name}" if name else ""
    local = interview.interview_at.astimezone(zone)
    when = f"{local:%a} {local.day} {local:%b %Y, %H:%M}"
    body = (f"Your {role} interview at {company}{with_whom} was "
            f"{ago(now - interview.interview_at)} ({when}).\n"
            f"Time for follow-up {next_number} of {of}; a draft is ready.")
    return Reminder(interview=interview, number=number, of=of,
                    title=f"Follow up with {company}", body=body,
                    draft=draft(interview, next_number, of, signature), opens_at=opens_at,
                    followup=next_number)


def notice(reminders: Sequence[Reminder]) -> Notice:
    """One reminder as it is, or several as one digest. Raises ValueError when empty.

    The key is deterministic: "nudge-<interview id>-<number>" for one, and
    "digest-" plus 16 hex digits of the SHA-1 of the sorted keys for several.
    """
    if not reminders:
        raise ValueError("a notice needs at least one reminder")
    reminders = _in_order_due(reminders)
    if len(reminders) == 1:
        only = reminders[0]
        return Notice(key=_key(only), title=only.title, body=only.body, reminders=(only,))
    keys = "\n".join(sorted(_key(each) for each in reminders))
    digest = hashlib.sha1(keys.encode("utf-8")).hexdigest()[:16]
    lines = [f"{_field(each.interview.company, 8)} — {_field(each.interview.role, 10)} "
             f"(follow-up {each.number} of {each.of})" for each in reminders]
    return Notice(key=f"digest-{digest}", title=f"{len(reminders)} follow-ups are due",
                  body="\n".join(lines), reminders=tuple(reminders))


def _in_order_due(reminders: Sequence[Reminder]) -> list[Reminder]:
    """Reminders in the order they became due (those without a time keep their place,
    after the others)."""
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(reminders, key=lambda each: each.opens_at or far)


def mailto(message: Draft) -> str:
    """A mailto: URL (RFC 6068) carrying to, subject and body; body line breaks as CRLF."""
    body = message.body.replace("\r\n", "\n").replace("\n", "\r\n")
    query = f"subject={quote(message.subject, safe='')}&body={quote(body, safe='')}"
    return f"mailto:{quote(message.to, safe='@+')}?{query}"


def ago(delta: timedelta) -> str:
    """How long ago, for a person: "just now", "5 minutes ago", "1 day ago", "2 weeks ago"."""
    span = _span(delta)
    return f"{span} ago" if span else "just now"


def until(delta: timedelta) -> str:
    """How long until, for a person: "now", "in 5 minutes", "in 2 days"."""
    span = _span(delta)
    return f"in {span}" if span else "now"


def _key(one: Reminder) -> str:
    return f"nudge-{one.interview.id}-{one.number}"


# --- the parts of a draft ---------------------------------------------------------------


def _greeting(interview: Interview) -> str:
    name = _field(greeting_name(interview.interviewer), 6)
    if name:
        return f"Dear {name},"
    company = _field(interview.company, 8)
    return f"Dear {company} team," if company else "Hello,"


def greeting_name(full: str) -> str:
    """The name a letter greets: with a title, the title and the family name
    ("Dr. Jürgen Müller" -> "Dr. Müller", "Prof. Dr. Anna van der Berg" ->
    "Prof. Dr. van der Berg"); without one, the name as given."""
    words = full.split()
    titles = list(itertools.takewhile(lambda word: word.lower().rstrip(".") in TITLES, words))
    rest = words[len(titles):]
    if not titles or not rest:
        return " ".join(words)
    while len(rest) > 1 and rest[0].lower() not in PARTICLES:
        rest = rest[1:]  # a given name
    return " ".join([*titles, *rest])


def _first_paragraphs(role: str, company: str, topics: str) -> list[str]:
    thanks = (f"Thank you for taking the time to speak with me about the {role} position "
              f"at {company}.")
    if topics:
        ending = "" if topics.endswith("…") else "."
        thanks += f" I particularly enjoyed our conversation about {topics}{ending}"
    else:
        thanks += " I enjoyed learning more about the team and its work."
    interest = ("I remain very interested in the role and would be glad to contribute to "
                "the team. I look forward to hearing from you.")
    return [thanks, interest]


def _later_paragraphs(role: str, company: str) -> list[str]:
    return [f"I am following up on my note about the {role} position at {company}. I "
            "remain very interested and understand that these decisions take time. Thank "
            "you again."]


def topics_text(topics: str) -> str:
    """The topics as a letter names them: "A", "A and B", "A, B and C" (from topics
    separated by ";" or line breaks), without question marks, clipped."""
    parts = [_field(part.strip(LEADING_MARKS), 20, 160).rstrip(TRAILING_MARKS)
             for part in re.split(r"[;\n]", topics)]
    parts = [part for part in parts if part]
    if len(parts) > 1:
        parts = [", ".join(parts[:-1]) + " and " + parts[-1]]
    return _field(parts[0], 40, 200).rstrip(TRAILING_MARKS) if parts else ""


def _field(text: str, words: int, chars: int = 80) -> str:
    """One line of at most `words` words and about `chars` characters, without '?'."""
    kept = " ".join(text.translate(QUESTION_MARKS).split()[:words])
    return kept if len(kept) <= chars else kept[:chars].rstrip() + "…"


# --- durations ------------------------------------------------------------------------


def _span(delta: timedelta) -> str:
    """A duration for a person ("5 minutes", "2 weeks"): rounded to the nearest minute
    (the moments compared are read a few milliseconds apart: "2d" must not read as
    "1 day"), then counted in the largest unit it reaches, whole units only; "" under
    half a minute or negative."""
    minutes = round(delta / timedelta(minutes=1))
    delta = timedelta(minutes=minutes)
    for threshold, unit, name in SPANS:
        if delta >= threshold:
            return _plural(delta // unit, name)
    return ""


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
