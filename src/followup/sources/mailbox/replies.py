"""What the mailbox watch decides: pure code, message headers in, findings out.

`messages.parse` turns the raw header fields fetched from the server into a
`Message` (or raises `Unreadable`); `kinds.classify` says what kind of mail it
is; `decide` looks at messages, oldest first, against the waiting interviews and
returns `Finding`s:

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

The lists behind these decisions are in `mail_lists`. The names of `messages`
and `kinds` are re-exported here: they are the decisions' vocabulary.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from followup.sources.mailbox import lists as mail_lists
from followup.sources.mailbox.kinds import (  # noqa: F401 (re-exported)
    Kind,
    auto_reply_subject,
    classify,
    domain_of,
    is_auto_reply,
    is_automatic,
    is_bounce,
    is_delay,
    is_machine_sent,
    is_public_provider,
    is_tracking_system,
    within,
)
from followup.sources.mailbox.messages import (  # noqa: F401
    HEADER_FIELDS,
    Folder,
    Message,
    Unreadable,
    clean,
    parse,
)

SAME_FOLLOWUP = timedelta(days=2)  # a follow-up recorded by hand this close is this message


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
    returns_on: date | None = None  # an auto_reply's return date (see `returns`)
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
        labels = domain_of(address).split(".")
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


# --- who is the employer ------------------------------------------------------------------------


def employer_domains(candidate: Candidate) -> frozenset[str]:
    """The domains whose every address is the employer's: `domains` and the domain of
    `email`, but never a public mail provider's."""
    found = {d.lower() for d in candidate.domains}
    if candidate.email:
        found.add(domain_of(candidate.email))
    return frozenset(d for d in found if d and not is_public_provider(d))


def employer_address(candidate: Candidate, address: str) -> bool:
    if not address:
        return False
    if candidate.email and address == candidate.email.lower():
        return True
    return within(domain_of(address), employer_domains(candidate))


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
