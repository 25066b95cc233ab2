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
- `automatic`: other machine-sent mail from the employer (notices, newsletters,
  mailing lists, reports): a notice, never a reply.

Received mail is classified in DESIGN's order, the first that fits wins: bounce,
auto_reply, tracking system, automatic, reply (or ambiguous).

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
    "X-MS-Exchange-Inbox-Rules-Loop", "X-Loop", "X-Failed-Recipients", "Feedback-ID",
    *mail_lists.LIST_HEADERS, *mail_lists.CHALLENGE_HEADERS,
)
MAX_HEADER_BYTES = 1024 * 1024  # more is not mail but an attack: unreadable
MAX_SUBJECT = 2000  # characters kept of a subject; the rest is cut
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
    AUTOMATIC = "automatic"


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


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    interview_ids: tuple[int, ...]
    message: Message
    applied: bool = False
    linked: bool = False  # a follow-up the user already recorded: only remember the message
    counterpart: str = ""  # the employer's address: the sender, or the follow-up's recipient


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
    kind = classify(message)
    if kind is Kind.BOUNCE:
        return _bounce(message, state, thread)
    if kind is Kind.REPLY and is_tracking_system(message.sender):
        ids = thread or _naming_company(message, state)
    else:
        ids = thread or state.employers_of(message.sender, message.date)
    if kind is not Kind.REPLY:
        return Finding(kind, ids, message, counterpart=message.sender) if ids else None
    if not ids:
        return None
    chosen = _narrow(message, [state.waiting[i] for i in ids])
    if len(chosen) != 1:
        return Finding(Kind.AMBIGUOUS, ids, message, counterpart=message.sender)
    del state.waiting[chosen[0]]
    return Finding(Kind.REPLY, chosen, message, counterpart=message.sender)


def _bounce(message: Message, state: _State, thread: tuple[int, ...]) -> Finding | None:
    """A bounce of one of the user's follow-ups (named in In-Reply-To / References), of
    mail to an employer's address it names (X-Failed-Recipients), or from an employer's
    own server. The counterpart is the address that failed, when it is known."""
    failed = next((state.known[r][1] for r in message.references if r in state.known), "")
    ids = thread
    if not ids:
        for address in message.failed:
            ids = state.employers_of(address, message.date)
            if ids:
                failed = address
                break
    if not ids:
        ids = state.employers_of(message.sender, message.date)
    if not failed and message.failed:
        failed = message.failed[0]
    return Finding(Kind.BOUNCE, ids, message, counterpart=failed) if ids else None


def _sent(message: Message, state: _State) -> Finding | None:
    if is_auto_reply(message):
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
    return Finding(Kind.FOLLOWUP_SENT, chosen, message, linked=bool(by_hand),
                   counterpart=recipient)


def _thread(message: Message, state: _State) -> tuple[int, ...]:
    """The waiting interviews whose follow-up this message names in In-Reply-To /
    References, begun before the message."""
    named = {state.known[r][0] for r in message.references if r in state.known}
    return tuple(sorted(i for i in named if i in state.waiting
                        and state.waiting[i].interview_at <= message.date))


def _naming_company(message: Message, state: _State) -> tuple[int, ...]:
    """The waiting interviews whose company a tracking system's message names."""
    return tuple(sorted(
        c.id for c in state.waiting.values() if c.interview_at <= message.date
        and (names(company_words(c.company), message.sender_name)
             or names(company_words(c.company), message.subject))))


def _narrow(message: Message, candidates: Sequence[Candidate]) -> tuple[int, ...]:
    """One interview when only one is possible, or only one's role is named; else all."""
    if len(candidates) == 1:
        return (candidates[0].id,)
    named = tuple(c.id for c in candidates if names(words(c.role), message.subject))
    return named if len(named) == 1 else tuple(c.id for c in candidates)


# --- what kind of message ---------------------------------------------------------------------


def classify(message: Message) -> Kind:
    """What kind of mail this is, in DESIGN's order: BOUNCE, AUTO_REPLY, REPLY for a
    tracking system's mail (an answer when it names the company), AUTOMATIC for other
    machine-sent mail, else REPLY (a person's mail)."""
    if is_bounce(message):
        return Kind.BOUNCE
    if is_auto_reply(message):
        return Kind.AUTO_REPLY
    if is_tracking_system(message.sender):
        return Kind.REPLY
    if is_machine_sent(message):
        return Kind.AUTOMATIC
    return Kind.REPLY


def is_bounce(message: Message) -> bool:
    """A delivery-status notification: a report of delivery status (with or without
    its report-type), a mailer daemon's message, a postmaster's or a null sender's
    with a failure subject. Feedback reports and read receipts are not bounces."""
    content = message.content_type.lower()
    if _is_report(message):
        return False
    if content.startswith(("multipart/report", "message/delivery-status")):
        return True
    local = _plain(message.sender.partition("@")[0])
    name = " ".join(message.sender_name.casefold().replace("_", " ").split())
    subject = message.subject.casefold()
    failure = any(s in subject for s in mail_lists.BOUNCE_SUBJECTS)
    if local in mail_lists.MAILER_DAEMONS or local in mail_lists.POSTMASTERS \
            or _plain(name) in mail_lists.MAILER_DAEMONS:
        return True
    machine = (message.return_path in ("<>", "<MAILER-DAEMON>") or _auto_submitted(message)
               or name in mail_lists.BOUNCE_NAMES or not message.sender)
    if failure and machine:
        return True
    return failure and subject.startswith(tuple(
        s for s in mail_lists.BOUNCE_SUBJECTS if s not in ("bounce", "rejected:", "read:")))


def is_delay(message: Message) -> bool:
    """A bounce that only says delivery is late: the server is still trying."""
    subject = message.subject.casefold()
    return any(s in subject for s in mail_lists.DELAY_SUBJECTS)


def is_auto_reply(message: Message) -> bool:
    """An out-of-office or vacation reply (RFC 3834 and the vendors' own signs).

    Machine-sent mail in general (Auto-Submitted: auto-generated, Precedence:
    bulk) is not: that is `is_machine_sent`.
    X-Auto-Response-Suppress alone is not either: Outlook puts it on ordinary mail.
    """
    submitted = message.auto_submitted.lower()
    return (submitted.startswith("auto-replied") or "vacation" in submitted
            or message.autoreply_header
            or message.precedence.lower() == "auto_reply"
            or (message.response_suppress and message.rules_loop)  # Exchange's OOF
            or auto_reply_subject(message.subject))


is_automatic = is_auto_reply  # the name it had


def auto_reply_subject(subject: str) -> bool:
    text = subject.strip().casefold().lstrip("[(").lstrip()
    for prefix in mail_lists.AUTO_REPLY_SUBJECTS:
        if text.startswith(prefix):
            rest = text[len(prefix):]
            if not rest or not rest[0].isalnum() or prefix.endswith(":"):
                return True
    return any(phrase in text for phrase in mail_lists.AUTO_REPLY_PHRASES)


def is_machine_sent(message: Message) -> bool:
    """Machine-sent mail that is no reply: RFC 3834 auto-generated notices, bulk and
    list mail, feedback and DMARC reports, read receipts, challenge-response robots,
    and mail with a null sender (Return-Path <>: never a person's)."""
    return (_auto_submitted(message) or message.return_path == "<>"
            or message.precedence.lower().strip() in mail_lists.AUTOMATIC_PRECEDENCE
            or message.mailing_list or message.challenge or message.bulk_sender
            or _is_report(message))


def _auto_submitted(message: Message) -> bool:
    value = message.auto_submitted.strip().lower()
    return bool(value) and not value.startswith("no")


def _is_report(message: Message) -> bool:
    """A feedback (ARF) or DMARC report, a read receipt, a challenge: by content type,
    sender or subject."""
    content = message.content_type.lower()
    if content.startswith("multipart/report") and (
            "feedback-report" in content or "disposition-notification" in content):
        return True
    subject = message.subject.casefold()
    local = _plain(message.sender.partition("@")[0])
    return (local in mail_lists.REPORT_SENDERS or "dmarc" in local
            or any(s in subject for s in mail_lists.AUTOMATIC_SUBJECTS)
            or subject.startswith(mail_lists.READ_RECEIPT_SUBJECTS))


def _plain(local: str) -> str:
    return "".join(c for c in local.lower() if c not in "._- +")


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
