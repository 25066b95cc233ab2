"""An out-of-office reply's return date. Pure: no I/O, `now` passed in.

`return_date(subject, text, now)` finds the date an auto-reply says its sender is
back (or away until) in English, German, French or Spanish: "back on 14
December", "bis einschließlich 12.12.2026", "de retour le 15 décembre",
"regresaré el 14 de diciembre", "out of office until Monday, December 14th".
Only a date that follows a word saying so counts ("until", "back", "bis",
"zurück", "jusqu'au", "retour", "hasta", "regreso", ...), so "I am away from 1
December" gives nothing; of several, the latest wins (never nudge too early). A
date without a year is its next occurrence from `now`; a date already past, or
more than a year ahead, is none. Nothing is found: None, and nothing moves.

`readable(raw)` turns the first 8 KB of a message's text (with its Content-Type
and Content-Transfer-Encoding) into plain text, leniently: it may be cut short.
`dated(findings, read, now)` gives each auto-reply finding its `returns_on`,
reading the text (through `read`) only when the subject names no date.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from email import message_from_bytes
from email.policy import compat32
from html import unescape

from followup.sources.mailbox.replies import Finding, Kind, Message

TEXT_BYTES = 8192  # the most of a message's text ever read
WINDOW = 60  # characters before a date in which a cue counts
APOSTROPHES = str.maketrans("'\N{RIGHT SINGLE QUOTATION MARK}", "  ")
HALF_YEAR = timedelta(days=183)  # a date without a year this far back means next year's

MONTHS = {
    # en
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11,
    "nov": 11, "december": 12, "dec": 12,
    # de (after accents are removed: "marz")
    "januar": 1, "janner": 1, "februar": 2, "marz": 3, "mai": 5, "juni": 6, "juli": 7,
    "oktober": 10, "okt": 10, "dezember": 12, "dez": 12,
    # fr
    "janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4,
    "avr": 4, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9, "octobre": 10,
    "novembre": 11, "decembre": 12,
    # es
    "enero": 1, "ene": 1, "febrero": 2, "marzo": 3, "abril": 4, "abr": 4, "mayo": 5,
    "junio": 6, "julio": 7, "agosto": 8, "ago": 8, "septiembre": 9, "setiembre": 9,
    "octubre": 10, "noviembre": 11, "diciembre": 12, "dic": 12,
}
# Words before a date that say the sender is back then, or away until then.
CUES = (
    "until", "till", "til", "through", "thru", "back", "return", "returning", "returns",
    "to", "including", "inclusive",
    "bis", "zuruck", "wieder", "ab", "einschliesslich", "inklusive",
    "jusqu", "jusqua", "au", "retour", "reviendrai", "rentre", "partir",
    "hasta", "regreso", "regresare", "volvere", "vuelta", "al", "reincorporare",
)

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th|er|\.|º|o)?"
_YEAR = r"(?P<y>\d{4})"
DATES = [re.compile(p) for p in (
    rf"\b{_DAY}\s*(?:de\s+)?(?P<m>{_MONTH})\b\.?(?:\s*(?:de|del)?\s*,?\s*{_YEAR}\b)?",
    rf"\b(?P<m>{_MONTH})\b\.?\s+{_DAY}\b(?:\s*,?\s*{_YEAR}\b)?",
    r"\b(?P<y>\d{4})-(?P<mo>[01]?\d)-(?P<d>[0-3]?\d)\b",
    r"\b(?P<d>[0-3]?\d)\.(?P<mo>[01]?\d)\.(?:(?P<y>\d{4})|(?P<yy>\d{2})\b)?",
    r"\b(?P<d>[0-3]?\d)/(?P<mo>[01]?\d)/(?:(?P<y>\d{4})|(?P<yy>\d{2}))\b",
)]
# ... and after it: German puts the verb last ("am 14. Dezember bin ich wieder da").
AFTER_CUES = ("wieder", "zuruck")
AFTER = 30  # characters after a date in which such a cue counts
_CUE = re.compile(r"\b(?:" + "|".join(CUES) + r")\b")
_AFTER_CUE = re.compile(r"\b(?:" + "|".join(AFTER_CUES) + r")\b")


def return_date(subject: str, text: str, now: datetime) -> date | None:
    """The date the sender says they are back (or away until), or None."""
    found = [d for part in (subject, text) for d in _cued_dates(_plain(part), now.date())]
    return max(found) if found else None


def _plain(text: str) -> str:
    """Case-folded, accents removed, apostrophes as spaces ("jusqu'au": "jusqu au")."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(folded.translate(APOSTROPHES).split())


def _cued_dates(text: str, today: date) -> list[date]:
    spans = sorted((m.start(), m.end(), m) for pattern in DATES for m in pattern.finditer(text))
    taken = []
    for start, end, match in spans:
        if not taken or start >= taken[-1][1]:  # not inside a date already taken
            taken.append((start, end, match))
    found = []
    for n, (start, end, match) in enumerate(taken):
        before = text[max(taken[n - 1][1] if n else 0, start - WINDOW):start]
        after = text[end:min(taken[n + 1][0] if n + 1 < len(taken) else len(text),
                             end + AFTER)]
        when = _date_of(match, today)
        if when is not None and (_CUE.search(before) or _AFTER_CUE.search(after)):
            found.append(when)
    return found


def _date_of(match: re.Match, today: date) -> date | None:
    parts = match.groupdict()
    month = MONTHS.get(parts["m"]) if parts.get("m") else int(parts["mo"])
    day = int(parts["d"])
    year = int(parts["y"]) if parts.get("y") else 2000 + int(parts["yy"]) \
        if parts.get("yy") else None
    try:
        when = date(year or today.year, month, day)
        if year is None and when < today - HALF_YEAR:
            when = date(today.year + 1, month, day)  # "back on 5 January", said in December
    except (ValueError, TypeError):
        return None
    return when if today <= when <= today + timedelta(days=366) else None


# --- the text ------------------------------------------------------------------------------


def readable(head: bytes, body: bytes) -> str:
    """Plain text from a message's Content-Type / Content-Transfer-Encoding header fields
    and the first bytes of its text: text/plain parts first, else HTML without tags."""
    message = message_from_bytes(head.rstrip(b"\r\n") + b"\r\n\r\n" + body[:TEXT_BYTES],
                                 policy=compat32)
    plain, html = [], []
    for part in message.walk() if message.is_multipart() else [message]:
        kind = part.get_content_type()
        if kind in ("text/plain", "text/html"):
            (plain if kind == "text/plain" else html).append(_decoded(part))
    if plain:
        return "\n".join(plain)
    return unescape(re.sub(r"<[^>]*>", " ", "\n".join(html)))


def _decoded(part) -> str:
    payload = part.get_payload()
    if not isinstance(payload, str):
        return ""
    if part.get("Content-Transfer-Encoding", "").strip().lower() == "base64":
        payload = "".join(payload.split())
        payload = payload[:len(payload) - len(payload) % 4]  # cut short: whole quanta
        part.set_payload(payload)
    raw = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return raw.decode(charset, "replace")
    except LookupError:
        return raw.decode("utf-8", "replace")


def dated(findings: Iterable[Finding], read: Callable[[Message], str | None],
          now: datetime, wanted: Callable[[Finding], bool] = lambda f: True
          ) -> list[Finding]:
    """The findings, each auto-reply that `wanted` accepts given its `returns_on`: from
    its subject, else from its text (`read`: the text, or None when it cannot be
    read). Other findings are returned as they are, and `read` is never called."""
    out = []
    for finding in findings:
        if finding.kind is Kind.AUTO_REPLY and finding.interview_ids and wanted(finding):
            message = finding.message
            when = return_date(message.subject, "", now)
            if when is None:
                text = read(message)
                when = return_date("", text, now) if text else None
            finding = replace(finding, returns_on=when)
        out.append(finding)
    return out
