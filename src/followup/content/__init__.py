"""What the user reads: follow-up drafts, reminder text, digests, durations.

Pure: no I/O and no clock. One file per language (en, de, fr, es) holds the
words; this shared part clips the fields, finds the name to greet
(`names`), joins the topics and writes the dates as the language does
(Babel, imported where a draft is made), and assembles them. Drafts follow
the etiquette: thank the interviewer, recall what was discussed (the
interview's topics; its notes are private and never reach a draft), restate
interest, ask nothing, attach nothing, press no one. Every field is clipped,
so a draft body stays under 150 words whatever the interview holds.

May import: models, and (lazily, where a draft is made) nameparser and Babel.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import ModuleType
from urllib.parse import quote
from zoneinfo import ZoneInfo

from followup.content import names
from followup.models import LANGUAGES, Draft, Interview, Notice, Reminder

QUESTION_MARKS = str.maketrans("", "", "?\N{INVERTED QUESTION MARK}\N{FULLWIDTH QUESTION MARK}")
DASHES = "\N{EN DASH}\N{EM DASH}"
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
NO_ADDRESS = "(no address recorded)"


def words(language: str) -> ModuleType:
    """The module of a language's words (`content.en`, `content.de`, ...). Raises
    ValueError for a language the drafts are not written in."""
    if language not in LANGUAGES:
        raise ValueError(f"no drafts in {language!r} (use {', '.join(LANGUAGES)})")
    return importlib.import_module(f"followup.content.{language}")


def language_of(interview: Interview, default: str = "en") -> str:
    """The interview's own language, else `default` (the `[me] language`); a stored
    value the drafts are not written in (a hand-edited database) is the default too."""
    return interview.language if interview.language in LANGUAGES else default


def draft(interview: Interview, number: int, of: int, signature: str = "",
          language: str = "en") -> Draft:
    """The follow-up email for follow-up `number` of `of`, addressed to interview.email,
    in the interview's language (`language` when it names none).

    The first thanks the interviewer, recalls the interview's topics (never
    its private notes) and restates interest; a later one is shorter and
    follows up without pressing. A draft without a role never names one.
    Signed with `signature` (the user's name) when there is one. The text asks
    no question (no '?') and mentions no attachment; the body is plain text
    with "\\n" line breaks and always under 150 words.
    """
    lang = language_of(interview, language)
    text = words(lang)
    role, company = _field(interview.role, 10), _field(interview.company, 8)
    if number >= 2:
        subject = text.later_subject(role, company)
        paragraphs = text.later_paragraphs(role, company)
    else:
        subject = text.first_subject(role, company)
        paragraphs = text.first_paragraphs(role, company, topics_text(interview.topics, lang))
    closing = text.CLOSING
    name = _field(signature, 8)
    if name:
        closing += f"\n{name}"
    body = "\n\n".join([greeting(interview, lang), *paragraphs, closing])
    return Draft(to=interview.email, subject=subject, body=body + "\n")


def draft_text(message: Draft) -> str:
    """A draft as `followup draft` prints it (and the calendar export shows it)."""
    return f"To: {message.to or NO_ADDRESS}\nSubject: {message.subject}\n\n{message.body}"


def reminder(interview: Interview, number: int, of: int, now: datetime,
             zone: ZoneInfo, *, sent: int | None = None, opens_at: datetime | None = None,
             signature: str = "", language: str = "en", in_drafts: bool = False
             ) -> Reminder:
    """Nudge `number` of `of`: a title, a short body and the draft, in the
    interview's language (`language` when it names none).

    The draft and the body are for the follow-up the user will actually
    send next, `sent + 1` (`sent`: the follow-ups already recorded; by
    default `number - 1`), which is not `number` when an earlier nudge was
    ignored. The body names the role, the interviewer (if any), when the
    interview was (relative to `now` and as a local time in `zone`) and
    "follow-up N of M". `opens_at` (when the nudge became due) orders digests.
    `in_drafts`: the draft is also put into the Drafts folder, and the body says so.
    """
    from babel.dates import format_datetime

    next_number = number if sent is None else sent + 1
    lang = language_of(interview, language)
    text = words(lang)
    role, company = _field(interview.role, 10), _field(interview.company, 8)
    when = format_datetime(interview.interview_at.astimezone(zone), text.DATE_PATTERN,
                           locale=text.LOCALE)
    body = text.reminder_body(role, company, _field(interview.interviewer, 6),
                              text.ago(*_count(now - interview.interview_at)), when,
                              next_number, of, in_drafts)
    return Reminder(interview=interview, number=number, of=of,
                    title=text.reminder_title(company), body=body,
                    draft=draft(interview, next_number, of, signature, lang),
                    opens_at=opens_at, followup=next_number, language=lang)


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
    lines = [words(each.language).digest_line(_field(each.interview.role, 10),
                                              _field(each.interview.company, 8),
                                              each.number, each.of) for each in reminders]
    title = words(reminders[0].language).digest_title(len(reminders))
    return Notice(key=f"digest-{digest}", title=title,
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
    return words("en").ago(*_count(delta))


def until(delta: timedelta) -> str:
    """How long until, for a person: "now", "in 5 minutes", "in 2 days"."""
    span = _span(delta)
    return f"in {span}" if span else "now"


def _key(one: Reminder) -> str:
    return f"nudge-{one.interview.id}-{one.number}"


# --- the parts of a draft ---------------------------------------------------------------


def greeting(interview: Interview, language: str = "en") -> str:
    """The first line of a draft: the interviewer as `names` reads them, in the
    language's form; the company's team when there is no interviewer; the
    language's greeting without a name when the interviewer cannot be named (an
    address, a title alone)."""
    text = words(language)
    interviewer, company = _field(interview.interviewer, 8), _field(interview.company, 8)
    if interviewer:
        return text.greeting(names.parse(interviewer))
    return text.team_greeting(company) if company else text.greeting(None)


def topics_text(topics: str, language: str = "en") -> str:
    """The topics as a letter names them, joined as the language joins a list
    ("A, B and C", "A, B und C", "A, B et C", "A, B y C"; from topics separated by
    ";" or line breaks), without question marks, clipped."""
    parts = [_field(part.strip(LEADING_MARKS), 20, 160).rstrip(TRAILING_MARKS)
             for part in re.split(r"[;\n]", topics)]
    parts = [part for part in parts if part]
    if len(parts) > 1:
        from babel.lists import format_list

        parts = [format_list(parts, locale=words(language).LOCALE)]
    return _field(parts[0], 40, 200).rstrip(TRAILING_MARKS) if parts else ""


def _field(text: str, words: int, chars: int = 80) -> str:
    """One line of at most `words` words and about `chars` characters, without '?'."""
    kept = " ".join(text.translate(QUESTION_MARKS).split()[:words])
    return kept if len(kept) <= chars else kept[:chars].rstrip() + "…"


# --- durations ------------------------------------------------------------------------


def _count(delta: timedelta) -> tuple[int, str]:
    """A duration in its largest fitting unit: (5, "minute"), (2, "week"); rounded to the
    nearest minute first (the moments compared are read a few milliseconds apart: "2d"
    must not read as "1 day"), then counted in whole units; (0, "minute") under half a
    minute or negative."""
    delta = timedelta(minutes=round(delta / timedelta(minutes=1)))
    for threshold, unit, name in SPANS:
        if delta >= threshold:
            return delta // unit, name
    return 0, "minute"


def _span(delta: timedelta) -> str:
    """A rounded-down duration ("5 minutes", "2 weeks"); "" under a minute or negative."""
    count, unit = _count(delta)
    if not count:
        return ""
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
