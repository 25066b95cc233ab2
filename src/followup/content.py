"""What the user reads: follow-up drafts, reminder text, digests, durations.

Pure: no I/O and no clock. Drafts follow the etiquette: thank the
interviewer, recall what was discussed, restate interest, ask nothing, attach
nothing, and say so when a note is the last one. Every field is clipped, so a
draft body stays under 150 words whatever the interview holds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from followup.models import Draft, Interview, Notice, Reminder

QUESTION_MARKS = str.maketrans("", "", "?\N{INVERTED QUESTION MARK}\N{FULLWIDTH QUESTION MARK}")
DASHES = "\N{EN DASH}\N{EM DASH}"
# Openings of a note that only announce the topic ("Discussed: ...").
NOTE_OPENING = re.compile(
    r"^(?:(?:we|i)\s+)?(?:discussed|talked about|talked|spoke about|chatted about|covered"
    rf"|topics?|notes?|about|re)\b[\s:,;.\-{DASHES}]*",
    re.IGNORECASE,
)
SENTENCE_END = re.compile(r"(?<=[.!?])\s")
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


def draft(interview: Interview, number: int, of: int) -> Draft:
    """The follow-up email for follow-up `number` of `of`, addressed to interview.email.

    The first thanks the interviewer, recalls a topic from the notes and
    restates interest; a later one is shorter and says it is the last. The
    text asks no question (no '?') and mentions no attachment; the body is
    plain text with "\\n" line breaks and always under 150 words.
    """
    role, company = _field(interview.role, 10), _field(interview.company, 8)
    if number >= 2:
        subject = f"Following up: {role} at {company}"
        paragraphs = _later_paragraphs(role, company)
    else:
        subject = f"Thank you \N{EN DASH} {role} interview"
        paragraphs = _first_paragraphs(role, company, _topic(interview.notes))
    body = "\n\n".join([_greeting(interview), *paragraphs, "Best regards,"])
    return Draft(to=interview.email, subject=subject, body=body + "\n")


def reminder(interview: Interview, number: int, of: int, now: datetime,
             zone: ZoneInfo) -> Reminder:
    """The nudge for follow-up `number` of `of`: a title, a short body and the draft.

    The body names the role, the interviewer (if any), when the interview
    was (relative to `now` and as a local time in `zone`) and "follow-up N of M".
    """
    role, company = _field(interview.role, 10), _field(interview.company, 8)
    name = _field(interview.interviewer, 6)
    with_whom = f" with {name}" if name else ""
    local = interview.interview_at.astimezone(zone)
    when = f"{local:%a} {local.day} {local:%b %Y, %H:%M}"
    body = (f"Your {role} interview at {company}{with_whom} was "
            f"{ago(now - interview.interview_at)} ({when}).\n"
            f"Time for follow-up {number} of {of}; a draft is ready.")
    return Reminder(interview=interview, number=number, of=of,
                    title=f"Follow up with {company}", body=body,
                    draft=draft(interview, number, of))


def notice(reminders: Sequence[Reminder]) -> Notice:
    """One reminder as it is, or several as one digest. Raises ValueError when empty.

    The key is deterministic: "nudge-<interview id>-<number>" for one, and
    "digest-" plus 16 hex digits of the SHA-1 of the sorted keys for several.
    """
    if not reminders:
        raise ValueError("a notice needs at least one reminder")
    if len(reminders) == 1:
        only = reminders[0]
        return Notice(key=_key(only), title=only.title, body=only.body, reminders=(only,))
    keys = "\n".join(sorted(_key(each) for each in reminders))
    digest = hashlib.sha1(keys.encode("utf-8")).hexdigest()[:16]
    lines = [f"{_field(each.interview.company, 8)} — {_field(each.interview.role, 10)} "
             f"(follow-up {each.number} of {each.of})" for each in reminders]
    return Notice(key=f"digest-{digest}", title=f"{len(reminders)} follow-ups are due",
                  body="\n".join(lines), reminders=tuple(reminders))


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
    name = _field(interview.interviewer, 6)
    if name:
        return f"Dear {name},"
    company = _field(interview.company, 8)
    return f"Dear {company} team," if company else "Hello,"


def _first_paragraphs(role: str, company: str, topic: str) -> list[str]:
    thanks = (f"Thank you for taking the time to speak with me about the {role} position "
              f"at {company}.")
    if topic:
        ending = "" if topic.endswith("…") else "."
        thanks += f" I particularly enjoyed our conversation about {topic}{ending}"
    interest = ("I remain very interested in the role and would be glad to contribute to "
                "the team. I look forward to hearing from you.")
    return [thanks, interest]


def _later_paragraphs(role: str, company: str) -> list[str]:
    return [f"I remain very interested in the {role} position at {company}. This is my last "
            "note on the matter; I will not write again unless I hear from you. Thank you "
            "for your time."]


def _topic(notes: str) -> str:
    """What was discussed: the first sentence of the first non-empty line of the notes,
    without an opening like "Discussed:", question marks or a closing full stop."""
    line = next((line for line in notes.splitlines() if line.strip()), "")
    sentence = SENTENCE_END.split(line.strip(), maxsplit=1)[0].strip(LEADING_MARKS)
    sentence = NOTE_OPENING.sub("", sentence.translate(QUESTION_MARKS))
    return _field(sentence.strip(LEADING_MARKS), 20, 160).rstrip(TRAILING_MARKS)


def _field(text: str, words: int, chars: int = 80) -> str:
    """One line of at most `words` words and about `chars` characters, without '?'."""
    kept = " ".join(text.translate(QUESTION_MARKS).split()[:words])
    return kept if len(kept) <= chars else kept[:chars].rstrip() + "…"


# --- durations ------------------------------------------------------------------------


def _span(delta: timedelta) -> str:
    """A rounded-down duration ("5 minutes", "2 weeks"); "" under a minute or negative."""
    for threshold, unit, name in SPANS:
        if delta >= threshold:
            return _plural(delta // unit, name)
    return ""


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
