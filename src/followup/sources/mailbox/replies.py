"""What the mailbox watch decides: pure code, message headers in, findings out.

`parse` turns the raw header fields fetched from the server into a `Message`
(or raises `Unreadable`); `decide` looks at messages, oldest first, against the
waiting interviews and returns `Finding`s:

- `reply`: a message in an inbox folder from the employer (or naming one of our
  follow-ups, or an applicant-tracking system naming the company), dated after
  the interview; the interview is heard back.
- `auto_reply`: the same, but out of office / vacation: it changes nothing.
- `followup_sent`: a message in the Sent folder to the employer, dated after the
  interview; recorded as the next follow-up (`linked` when the user already
  recorded it by hand).
- `ambiguous`: could belong to several waiting interviews and names the role of
  none (or of several): nothing changes, the user is asked.
- `bounce`: a delivery failure of mail to the employer: a notice, not a reply.

The lists behind these decisions are in `mail_lists`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
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
    "X-MS-Exchange-Inbox-Rules-Loop",
)
MAX_HEADER_BYTES = 64 * 1024
MAX_SUBJECT = 2000  # characters; longer is not a person's subject line
FUTURE_SLACK = timedelta(hours=1)  # senders' clocks drift; further ahead is a broken Date
SAME_FOLLOWUP = timedelta(days=2)  # a follow-up recorded by hand this close is this message


class Folder(StrEnum):
    INBOX = "inbox"
    SENT = "sent"


class Kind(StrEnum):
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"
    FOLLOWUP_SENT = "followup_sent"
    AMBIGUOUS = "ambiguous"
    BOUNCE = "bounce"


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


@dataclass(frozen=True, slots=True)
class Candidate:
    """A waiting interview, as the decisions see it."""

    id: int
    company: str
    role: str
    interview_at: datetime
    email: str = ""
    domains: tuple[str, ...] = ()
    # Follow-ups the user recorded by hand (not from a message): their times.
    manual_followups: tuple[datetime, ...] = ()
    followups: int = 0  # how many are recorded, when this was read


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    interview_ids: tuple[int, ...]
    message: Message
    applied: bool = False
    linked: bool = False  # a follow-up the user already recorded: only remember the message
    counterpart: str = ""  # the employer's address: the sender, or the follow-up's recipient
    # A follow-up found in Sent: the interview's follow-ups recorded when it was decided
    # (it is recorded only if that count still holds: see store.append_followup).
    followups_before: int = 0


@dataclass
class _State:
    waiting: dict[int, Candidate]
    known: dict[str, tuple[int, str]]  # follow-up Message-ID -> (interview id, recipient)
    seen: set[str] = field(default_factory=set)
    # Who is whose: exact addresses and employer domains -> interview ids, built once.
    by_address: dict[str, set[int]] = field(default_factory=dict)
    by_domain: dict[str, set[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for c in self.waiting.values():
            if c.email:
                self.by_address.setdefault(c.email.lower(), set()).add(c.id)
            for domain in employer_domains(c):
                self.by_domain.setdefault(domain, set()).add(c.id)

    def employers_of(self, address: str, date: datetime) -> tuple[int, ...]:
        """The waiting interviews, begun by `date`, this address belongs to."""
        if not address:
            return ()
        found = set(self.by_address.get(address, ()))
        labels = _domain(address).split(".")
        for start in range(len(labels)):
            found |= self.by_domain.get(".".join(labels[start:]), set())
        return tuple(sorted(i for i in found if i in self.waiting
                            and self.waiting[i].interview_at <= date))


# --- deciding --------------------------------------------------------------------------------


def decide(messages: Iterable[Message], waiting: Iterable[Candidate], me: Iterable[str],
           known: Mapping[str, tuple[int, str]], seen: Iterable[str] = ()) -> list[Finding]:
    """The findings for these messages, taken oldest first.

    `waiting`: the interviews still waiting; `me`: the user's own addresses;
    `known`: the Message-IDs of follow-ups already recorded, with their
    interview and recipient; `seen`: Message-IDs already dealt with (skipped).
    A reply takes its interview out of the waiting ones for later messages; a
    follow-up found becomes known, so a reply naming it is matched.
    """
    state = _State({c.id: c for c in waiting}, dict(known), set(seen))
    mine = frozenset(address.lower() for address in me)
    findings = []
    for message in sorted(messages, key=lambda m: m.date):
        if message.message_id in state.seen:
            continue
        state.seen.add(message.message_id)
        found = (_sent(message, state) if message.folder is Folder.SENT
                 else _received(message, state, mine))
        if found is not None:
            findings.append(found)
    return findings


def _received(message: Message, state: _State, mine: frozenset[str]) -> Finding | None:
    if message.sender in mine:
        return None
    thread = _thread(message, state)
    if is_automatic(message):
        ids = thread or _from_employer(message, state)
        return Finding(Kind.AUTO_REPLY, ids, message, counterpart=message.sender) if ids \
            else None
    if is_bounce(message):
        ids = thread or state.employers_of(message.sender, message.date)
        recipient = next((state.known[r][1] for r in message.references if r in state.known),
                         "")
        return Finding(Kind.BOUNCE, ids, message, counterpart=recipient) if ids else None
    ids = thread or _from_employer(message, state)
    if not ids:
        return None
    chosen = _narrow(message, [state.waiting[i] for i in ids])
    if len(chosen) != 1:
        return Finding(Kind.AMBIGUOUS, ids, message, counterpart=message.sender)
    del state.waiting[chosen[0]]
    return Finding(Kind.REPLY, chosen, message, counterpart=message.sender)


def _sent(message: Message, state: _State) -> Finding | None:
    if is_automatic(message):
        return None  # the user's own vacation replies
    ids = sorted({i for to in message.recipients for i in state.employers_of(to, message.date)})
    if not ids:
        return None
    eligible = [state.waiting[i] for i in ids]
    chosen = _narrow(message, eligible)
    if len(chosen) != 1:
        return Finding(Kind.AMBIGUOUS, tuple(ids), message)
    candidate = state.waiting[chosen[0]]
    recipient = next(to for to in message.recipients if employer_address(candidate, to))
    state.known[message.message_id] = (candidate.id, recipient)
    by_hand = [t for t in candidate.manual_followups if abs(t - message.date) <= SAME_FOLLOWUP]
    if by_hand:
        rest = tuple(t for t in candidate.manual_followups if t != by_hand[0])
        state.waiting[candidate.id] = replace(candidate, manual_followups=rest)
    else:  # recorded from this message: the next one found is numbered after it
        state.waiting[candidate.id] = replace(candidate, followups=candidate.followups + 1)
    return Finding(Kind.FOLLOWUP_SENT, chosen, message, linked=bool(by_hand),
                   counterpart=recipient, followups_before=candidate.followups)


def _thread(message: Message, state: _State) -> tuple[int, ...]:
    """The waiting interviews whose follow-up this message names in In-Reply-To /
    References, begun before the message."""
    named = {state.known[r][0] for r in message.references if r in state.known}
    return tuple(sorted(i for i in named if i in state.waiting
                        and state.waiting[i].interview_at <= message.date))


def _from_employer(message: Message, state: _State) -> tuple[int, ...]:
    if is_tracking_system(message.sender):
        return tuple(sorted(
            c.id for c in state.waiting.values() if c.interview_at <= message.date
            and (names(company_words(c.company), message.sender_name)
                 or names(company_words(c.company), message.subject))))
    return state.employers_of(message.sender, message.date)


def _narrow(message: Message, candidates: Sequence[Candidate]) -> tuple[int, ...]:
    """One interview when only one is possible, or only one's role is named; else all."""
    if len(candidates) == 1:
        return (candidates[0].id,)
    named = tuple(c.id for c in candidates if names(words(c.role), message.subject))
    return named if len(named) == 1 else tuple(c.id for c in candidates)


# --- what kind of message ---------------------------------------------------------------------


def is_automatic(message: Message) -> bool:
    """An out-of-office or vacation reply (RFC 3834 and the vendors' own signs).

    Machine-sent mail in general (Auto-Submitted: auto-generated, Precedence:
    bulk, no-reply senders) is not: that is how tracking systems answer.
    X-Auto-Response-Suppress alone is not either: Outlook puts it on ordinary mail.
    """
    submitted = message.auto_submitted.lower()
    return (submitted.startswith("auto-replied") or "vacation" in submitted
            or message.autoreply_header
            or message.precedence.lower() == "auto_reply"
            or (message.response_suppress and message.rules_loop)  # Exchange's OOF
            or auto_reply_subject(message.subject))


def auto_reply_subject(subject: str) -> bool:
    text = subject.strip().casefold()
    for prefix in mail_lists.AUTO_REPLY_SUBJECTS:
        if text.startswith(prefix):
            rest = text[len(prefix):]
            if not rest or not rest[0].isalnum():
                return True
    return False


def is_bounce(message: Message) -> bool:
    """A delivery-status report, a null Return-Path, or a mailer daemon's message."""
    content = message.content_type.lower()
    local = message.sender.partition("@")[0]
    return ((content.startswith("multipart/report") and "delivery-status" in content)
            or message.return_path == "<>" or local in mail_lists.BOUNCE_SENDERS)


def is_tracking_system(address: str) -> bool:
    return within(_domain(address), mail_lists.TRACKING_SYSTEMS)


def is_public_provider(domain: str) -> bool:
    if domain in mail_lists.PUBLIC_PROVIDERS:
        return True
    name, _, rest = domain.partition(".")
    return (name in mail_lists.PUBLIC_PROVIDER_NAMES and 0 < len(rest) <= 6
            and all(len(label) <= 3 for label in rest.split(".")))


def employer_domains(candidate: Candidate) -> frozenset[str]:
    """The domains whose every address is the employer's: `domains` and the domain of
    `email`, but never a public mail provider's."""
    found = {d.lower() for d in candidate.domains}
    if candidate.email:
        found.add(_domain(candidate.email))
    return frozenset(d for d in found if d and not is_public_provider(d))


def employer_address(candidate: Candidate, address: str) -> bool:
    if not address:
        return False
    if candidate.email and address == candidate.email.lower():
        return True
    return within(_domain(address), employer_domains(candidate))


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def within(domain: str, domains: Iterable[str]) -> bool:
    """Whether `domain` is one of `domains` or a subdomain of one."""
    return bool(domain) and any(domain == d or domain.endswith("." + d) for d in domains)


# --- names ---------------------------------------------------------------------------------


def words(text: str) -> tuple[str, ...]:
    """The words of a text, case-folded, accents removed: what names are compared by."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return tuple(re.findall(r"[^\W_]+", plain))


def company_words(company: str) -> tuple[str, ...]:
    """A company's name without its legal form: "Acme Inc." -> ("acme",)."""
    found = words(company)
    return tuple(w for w in found if w not in mail_lists.LEGAL_FORMS) or found


def names(phrase: Sequence[str], text: str) -> bool:
    """Whether `text` contains the words of `phrase`, whole and in a row."""
    if not phrase:
        return False
    found = words(text)
    size = len(phrase)
    return any(found[i:i + size] == tuple(phrase) for i in range(len(found) - size + 1))


# --- reading headers --------------------------------------------------------------------------


def parse(raw: bytes, folder: Folder, now: datetime) -> Message:
    """The Message in these raw header fields. Raises Unreadable (say why)."""
    if len(raw) > MAX_HEADER_BYTES:
        raise Unreadable(f"headers too large ({len(raw)} bytes)")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        try:
            text = raw.decode("utf-8")  # RFC 6532 allows UTF-8 in headers
        except UnicodeDecodeError:
            raise Unreadable("headers in an unknown 8-bit encoding") from None
    fields = HeaderParser(policy=compat32).parsestr(text)

    def get(name: str) -> str:
        return _decoded(fields, name)

    subject = get("Subject")
    if len(subject) > MAX_SUBJECT:
        raise Unreadable(f"Subject of {len(subject)} characters")
    date = _date(fields.get("Date"), now)
    sender_name, sender = _first_address(get("From"))
    recipients = tuple(a.lower() for _, a in getaddresses([get("To"), get("Cc")]) if "@" in a)
    references = tuple(re.findall(r"<[^<>\s]+>", f"{get('In-Reply-To')} {get('References')}"))
    message_id = (re.findall(r"<[^<>\s]+>", get("Message-ID")) or [""])[0] \
        or _made_up_id(sender, date, subject)
    return_path = fields.get("Return-Path")
    return Message(
        folder=folder, message_id=message_id, sender=sender, date=date,
        subject=" ".join(subject.split()), sender_name=sender_name, recipients=recipients,
        references=references, auto_submitted=get("Auto-Submitted").strip(),
        precedence=get("Precedence").strip(),
        autoreply_header=any(n in fields for n in ("X-Autoreply", "X-Autorespond",
                                                   "X-Autoresponder")),
        response_suppress="X-Auto-Response-Suppress" in fields,
        rules_loop="X-MS-Exchange-Inbox-Rules-Loop" in fields,
        return_path=None if return_path is None else "".join(str(return_path).split()),
        content_type=get("Content-Type"),
    )


def _decoded(fields, name: str) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except (LookupError, UnicodeError, HeaderParseError, ValueError) as error:
        raise Unreadable(f"{name}: cannot decode ({error})") from None


def _date(value, now: datetime) -> datetime:
    if value is None:
        raise Unreadable("no Date")
    try:
        date = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        raise Unreadable(f"Date {str(value)[:80]!r} is not a date") from None
    if date.tzinfo is None:  # "-0000": the time is UTC, its zone unknown
        date = date.replace(tzinfo=UTC)
    if date > now + FUTURE_SLACK:
        raise Unreadable(f"Date {date.isoformat()} is in the future")
    return date.astimezone(UTC)


def _first_address(value: str) -> tuple[str, str]:
    found = [(name, address) for name, address in getaddresses([value]) if address]
    if not found:
        return "", ""
    name, address = found[0]
    return " ".join(name.split()), address.lower()


def _made_up_id(sender: str, date: datetime, subject: str) -> str:
    """A stable id for a message without a Message-ID, so it is still seen only once."""
    digest = hashlib.sha256(f"{sender}|{date.isoformat()}|{subject}".encode()).hexdigest()
    return f"<{digest[:32]}@no-message-id.invalid>"
