"""Reading a message's header fields: leniently, as real mail is written. Pure.

`parse` turns the raw header fields fetched from the server into a `Message`
(or raises `Unreadable` for what still cannot be read): addresses with the
standard parser and fall-backs, encoded words in any charset, the arrival time
when Date is missing or in the future, and never a control character in what
is kept.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from enum import StrEnum

from followup.sources.mailbox import lists as mail_lists

# The header fields fetched (BODY.PEEK[HEADER.FIELDS (...)]); nothing else is read.
HEADER_FIELDS = (
    "From", "To", "Cc", "Date", "Subject", "Message-ID", "In-Reply-To", "References",
    "Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond", "X-Autoresponder",
    "Reply-To", "Return-Path", "Content-Type", "X-Auto-Response-Suppress",
    "X-MS-Exchange-Inbox-Rules-Loop", "X-Loop", "X-Failed-Recipients", "Feedback-ID",
    *mail_lists.LIST_HEADERS, *mail_lists.CHALLENGE_HEADERS,
)
MAX_HEADER_BYTES = 1024 * 1024  # more is not mail but an attack: unreadable
MAX_SUBJECT = 2000  # characters kept of a subject; the rest is cut
FUTURE_SLACK = timedelta(hours=1)  # senders' clocks drift; further ahead is a broken Date


class Folder(StrEnum):
    INBOX = "inbox"
    SENT = "sent"


class Unreadable(ValueError):
    """A message whose headers cannot be trusted (bad encoding, no Date, ...): skipped."""


@dataclass(frozen=True, slots=True)
class Message:
    """The header fields of one message that the decisions look at."""

    folder: Folder
    message_id: str
    sender: str  # the From address, lower case
    date: datetime
    subject: str = ""
    sender_name: str = ""
    recipients: tuple[str, ...] = ()  # To and Cc, lower case
    references: tuple[str, ...] = ()  # In-Reply-To and References
    auto_submitted: str = ""
    precedence: str = ""
    autoreply_header: bool = False  # X-Autoreply, X-Autorespond or X-Autoresponder
    response_suppress: bool = False  # X-Auto-Response-Suppress (ordinary Outlook mail too)
    rules_loop: bool = False  # X-MS-Exchange-Inbox-Rules-Loop (made by a mailbox rule)
    return_path: str | None = None
    content_type: str = ""
    mailing_list: bool = False  # List-Id, List-Unsubscribe, List-Post, ... (a list's post)
    bulk_sender: bool = False  # Feedback-ID, X-Loop: what bulk senders and robots add
    challenge: bool = False  # a challenge-response robot's own header
    failed: tuple[str, ...] = ()  # X-Failed-Recipients: the addresses a bounce names


def parse(raw: bytes, folder: Folder, now: datetime,
          arrived: datetime | None = None) -> Message:
    """The Message in these raw header fields, read leniently. `arrived`: the server's
    arrival time (INTERNALDATE), taken when Date is missing, broken or in the future.
    Raises Unreadable (say why) for what still cannot be read."""
    if len(raw) > MAX_HEADER_BYTES:
        raise Unreadable(f"headers too large ({len(raw)} bytes)")
    fields = HeaderParser(policy=compat32).parsestr(_text(raw))

    def get(name: str) -> str:
        return _decoded(fields, name)

    subject = clean(get("Subject"))
    if len(subject) > MAX_SUBJECT:
        subject = subject[:MAX_SUBJECT - 1] + "…"
    date = _date(fields.get("Date"), now, arrived)
    sender_name, sender = _first_address(get("From"))
    recipients = tuple(dict.fromkeys(_addresses(get("To")) + _addresses(get("Cc"))))
    references = tuple(clean(r) for r in _ids(f"{get('In-Reply-To')} {get('References')}"))
    message_id = clean((_ids(get("Message-ID")) or [""])[0]) \
        or _made_up_id(sender, date, subject)
    return_path = fields.get("Return-Path")
    return Message(
        folder=folder, message_id=message_id[:1000], sender=sender, date=date,
        subject=subject, sender_name=sender_name, recipients=recipients,
        references=references, auto_submitted=clean(get("Auto-Submitted")),
        precedence=clean(get("Precedence")),
        autoreply_header=any(n in fields for n in ("X-Autoreply", "X-Autorespond",
                                                   "X-Autoresponder")),
        response_suppress="X-Auto-Response-Suppress" in fields,
        rules_loop="X-MS-Exchange-Inbox-Rules-Loop" in fields,
        return_path=None if return_path is None else "".join(str(return_path).split()),
        content_type=clean(get("Content-Type")),
        mailing_list=any(n in fields for n in mail_lists.LIST_HEADERS),
        bulk_sender=any(n in fields for n in ("Feedback-ID", "X-Loop")),
        challenge=any(n in fields for n in mail_lists.CHALLENGE_HEADERS),
        failed=tuple(_addresses(get("X-Failed-Recipients"))),
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]+")


def clean(text: str) -> str:
    """A header value fit to store and print: NUL and other control characters gone,
    white space made single spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _text(raw: bytes) -> str:
    """Headers as text: ASCII, else UTF-8 (RFC 6532), else Latin-1 (every byte is a
    character there: 8-bit headers of old mailers are read, not refused)."""
    for encoding in ("ascii", "utf-8"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _decoded(fields, name: str) -> str:
    """A header's value with its encoded words decoded, in any charset: an unknown
    charset or a broken encoded word is read as Latin-1 or left as written."""
    value = fields.get(name)
    if value is None:
        return ""
    value = str(value)
    try:
        parts = decode_header(value)
    except (HeaderParseError, ValueError, UnicodeError, LookupError):
        return value
    try:
        return str(make_header(parts))
    except (LookupError, UnicodeError, HeaderParseError, ValueError):
        pass
    return " ".join(chunk if isinstance(chunk, str) else _bytes_text(chunk, charset)
                    for chunk, charset in parts)


def _bytes_text(chunk: bytes, charset: str | None) -> str:
    import codecs

    name = (charset or "ascii").lower().partition("*")[0]  # RFC 2231 language tag
    aliases = {"unknown-8bit": "latin-1", "x-unknown": "latin-1", "ks_c_5601-1987": "cp949",
               "gb2312": "gb18030", "gbk": "gb18030", "iso-8859-8-i": "iso-8859-8"}
    name = aliases.get(name, name)
    try:
        codecs.lookup(name)
    except LookupError:
        name = "latin-1"
    try:
        return chunk.decode(name)
    except UnicodeDecodeError:
        try:
            return chunk.decode("utf-8")
        except UnicodeDecodeError:
            return chunk.decode(name, errors="replace")


def _date(value, now: datetime, arrived: datetime | None) -> datetime:
    """The message's Date; the arrival time when Date is missing, broken, or further
    in the future than clocks drift."""
    date = None
    if value is not None:
        try:
            date = parsedate_to_datetime(clean(str(value)))
        except (TypeError, ValueError, IndexError, OverflowError):
            date = None
        if date is not None and date.tzinfo is None:  # "-0000": UTC, its zone unknown
            date = date.replace(tzinfo=UTC)
        if date is not None and date > now + FUTURE_SLACK:
            date = None
    if date is None:
        if arrived is None:
            raise Unreadable("no readable Date" if value is None or not str(value).strip()
                             else "a Date that is not a date or is in the future, "
                             "and no arrival time")
        date = arrived if arrived.tzinfo is not None else arrived.replace(tzinfo=UTC)
    return date.astimezone(UTC)


_ANGLED = re.compile(r"<\s*([^<>\s]+@[^<>\s]+?)\s*>")


def _first_address(value: str) -> tuple[str, str]:
    """The From's display name and address (lower case). Read leniently: when the
    value has an address in angle brackets, the last one is the address and what
    stands before it the name (names with commas, brackets, "via"); else what the
    standard parser finds."""
    value = clean(value)
    angled = list(_ANGLED.finditer(value))
    if angled:
        last = angled[-1]
        name = value[:last.start()].strip().strip('"\'').strip()
        name = re.sub(r'\\(.)', r"\1", name)
        return clean(name.replace('"', "")), _address(last.group(1))
    pairs = getaddresses([value])
    found = [(name, address) for name, address in pairs if "@" in address]
    if not found:  # "MAILER-DAEMON", "Mail Delivery Subsystem <MAILER-DAEMON>", "<>"
        name = next((name for name, _ in pairs if name), "") or value.strip("<>\"' ")
        return clean(name), ""
    name, address = found[0]
    return clean(name), _address(address)


def _addresses(value: str) -> list[str]:
    """Every address in a To / Cc list, lower case: the standard parser's, and any in
    angle brackets it missed."""
    value = clean(value)
    found = [_address(a) for _, a in getaddresses([value]) if "@" in a]
    found += [_address(m.group(1)) for m in _ANGLED.finditer(value)]
    return [a for a in dict.fromkeys(found) if a]


def _address(text: str) -> str:
    address = text.strip().strip("<>").strip().lower()
    return address[:1000] if "@" in address and " " not in address else ""


def _ids(text: str) -> list[str]:
    return re.findall(r"<[^<>\s]+>", text)


def _made_up_id(sender: str, date: datetime, subject: str) -> str:
    """A stable id for a message without a Message-ID, so it is still seen only once."""
    digest = hashlib.sha256(f"{sender}|{date.isoformat()}|{subject}".encode()).hexdigest()
    return f"<{digest[:32]}@no-message-id.invalid>"
