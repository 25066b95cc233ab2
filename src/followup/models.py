"""Plain data shared by the layers. No I/O and no SQLAlchemy here.

Every datetime is timezone-aware; the store keeps them in UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

# The languages the drafts are written in (`[me] language`, `add --language`).
LANGUAGES = ("en", "de", "fr", "es")


class Status(StrEnum):
    WAITING = "waiting"
    HEARD = "heard"
    CLOSED = "closed"


class ReplyOutcome(StrEnum):
    """What the employer's reply was, recorded with `followup heard` (how a delivery
    went is `channels.base.DeliveryResult`)."""

    NEXT_ROUND = "next-round"
    OFFER = "offer"
    REJECTED = "rejected"
    OTHER = "other"


class DeliveryStatus(StrEnum):
    """Where one channel's delivery of one nudge stands. The last four are final:
    no scan takes them up again."""

    PENDING = "pending"  # claimed, not attempted yet (or being attempted)
    RETRYING = "retrying"  # failed; the next attempt is at `next_attempt_at`
    DELIVERED = "delivered"
    GAVE_UP = "gave up"  # failed too long or too often; `error` says why
    CANCELLED = "cancelled"  # no longer wanted: the employer replied, the follow-up was sent
    IN_DOUBT = "in doubt"  # the daemon stopped while the channel was sending: it may have
    # arrived, so it is never sent again blindly (DESIGN "Exactly once")

    @property
    def final(self) -> bool:
        return self in (DeliveryStatus.DELIVERED, DeliveryStatus.GAVE_UP,
                        DeliveryStatus.CANCELLED, DeliveryStatus.IN_DOUBT)


class Source(StrEnum):
    """Where an interview came from."""

    MANUAL = "manual"
    CALENDAR = "calendar"


class HeardVia(StrEnum):
    """How followup learned that the employer replied."""

    MANUAL = "manual"
    MAILBOX = "mailbox"


@dataclass(frozen=True, slots=True)
class Interview:
    id: int
    company: str
    role: str
    interview_at: datetime
    interviewer: str = ""
    email: str = ""
    notes: str = ""
    reply_by: date | None = None
    status: Status = Status.WAITING
    outcome: str | None = None
    snoozed_until: datetime | None = None
    # What was discussed, as it should read in a letter (the draft uses it);
    # `notes` are private and never go into a draft.
    topics: str = ""
    # More sender domains of the employer, for the mailbox watch (lower case).
    domains: tuple[str, ...] = ()
    source: Source = Source.MANUAL
    heard_via: HeardVia | None = None
    # The message that told us, when the mailbox did: "sender | subject | Message-ID".
    heard_message: str | None = None
    # The calendar event an imported interview came from (RECURRENCE-ID for one
    # occurrence of a recurring event, else None).
    event_uid: str | None = None
    event_recurrence_id: str | None = None
    # The IANA zone the configuration named when the interview time was typed.
    zone: str | None = None
    # The drafts' language (one of LANGUAGES); None: the `[me] language`.
    language: str | None = None


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A message the user sent the employer."""

    number: int
    sent_at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One channel's part in delivering one nudge."""

    channel: str
    status: DeliveryStatus
    attempts: int = 0
    delivered_at: datetime | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Nudge:
    """A reminder the daemon claimed (and delivered, channel by channel)."""

    number: int
    fired_at: datetime
    deliveries: tuple[Delivery, ...] = ()
    # When it first reached the user (a channel's delivery delivered); None while no
    # channel has delivered it (under way, or every delivery gave up).
    reached_at: datetime | None = None
    # Whether every channel is done with it (delivered, gave up or cancelled).
    settled: bool = True


@dataclass(frozen=True, slots=True)
class Record:
    """An interview with its whole history: what the rules look at."""

    interview: Interview
    followups: tuple[FollowUp, ...] = ()
    nudges: tuple[Nudge, ...] = ()

    @property
    def followups_sent(self) -> int:
        return len(self.followups)

    @property
    def nudges_fired(self) -> int:
        return len(self.nudges)


@dataclass(frozen=True, slots=True)
class Counted:
    """An interview with how many follow-ups and nudges it has, without the history
    itself: what `list --json` shows of a record (read in one pass at any size)."""

    interview: Interview
    followups_sent: int = 0
    nudges_fired: int = 0


@dataclass(frozen=True, slots=True)
class Policy:
    """What the rules need from the settings: [rules], [hours] and the zone."""

    zone: ZoneInfo
    first_after_days: int = 3
    second_after_days: int = 7
    business_days: bool = True
    max_followups: int = 2
    stale_after_days: int = 30
    work_days: frozenset[int] = frozenset(range(5))  # date.weekday(): 0 is Monday
    start: time = time(9, 0)
    end: time | None = time(17, 0)  # None means "24:00", the end of the day
    holidays: Container[date] = field(default_factory=frozenset)
    # The rules' day arithmetic, remembered: it depends only on the fields above, and
    # many interviews share their dates (`dataclasses.replace` starts a new one).
    memo: dict = field(default_factory=dict, init=False, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NextNudge:
    """The nudge the rules say comes next for one interview.

    `opens_at` is when its window opens; `fire_at` the first instant at or after
    the window, any snooze and `now` that lies inside working hours. A `stale`
    nudge opened more than `stale_after_days` ago and is not delivered.
    """

    interview_id: int
    number: int
    opens_at: datetime
    fire_at: datetime
    stale: bool = False
    # Nudge `number` already fired and the user snoozed it: it comes back once.
    again: bool = False


@dataclass(frozen=True, slots=True)
class PlannedNudge:
    """The next nudge as far as it is known without `now` (see `rules.planned_nudge`):
    what the store keeps per interview (`store.plan`), and `rules.nudge_at` turns into
    a NextNudge at read time.

    `not_before` is the later of the window's opening and any snooze; `fire_at` the
    first working instant at or after it (None when none comes within two years);
    `stale_after` the instant after which the nudge is stale (None: never, for a
    nudge that comes again).
    """

    interview_id: int
    number: int
    opens_at: datetime
    not_before: datetime
    fire_at: datetime | None
    stale_after: datetime | None
    again: bool = False


class Coming(NamedTuple):
    """A table row's next nudge at the table's `now` (see Table): a NextNudge without
    the interview, shared by the rows whose plans are alike."""

    number: int
    opens_at: datetime
    fire_at: datetime
    stale: bool


@dataclass(frozen=True, slots=True)
class Table:
    """A table as the store reads it, a column at a time (lists of stored values, see
    `store.listing`; no columns when it has no rows), and how to read those values:
    `moment` turns a stored timestamp into an aware UTC datetime, `coming` a row's
    five plan values into its next nudge at `now` (None: none comes). Both are cached:
    among 100,000 rows there are a few thousand distinct times and plans, and a table
    pays about a microsecond a row. Columns, not rows: 75,000 rows read into eleven
    lists leave far less behind than 75,000 row objects (see `store.listing`)."""

    columns: list[list[Any]]
    now: datetime
    moment: Callable[[Any], datetime]
    coming: Callable[..., Coming | None]

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def rows(self) -> Iterator[tuple]:
        """Each row, as a tuple."""
        return zip(*self.columns, strict=True)

    def head(self, count: int) -> Table:
        """The first `count` rows."""
        return replace(self, columns=[column[:count] for column in self.columns])


def columns_of(pages: Iterable[Sequence[Sequence[Any]]]) -> list[list]:
    """The rows of `pages` as columns, one list per column ([] for no rows), each
    page's rows free to go once it has been added."""
    columns: list[list] = []
    for rows in pages:
        if not rows:
            continue
        if not columns:
            columns = [[] for _ in rows[0]]
        for column, values in zip(columns, zip(*rows, strict=True), strict=True):
            column.extend(values)
    return columns


@dataclass(frozen=True, slots=True)
class View:
    """An interview as the commands show it: its record and what comes next."""

    record: Record | Counted
    next: NextNudge | None
    # The fired nudge that reached no channel and so holds the next window shut (see
    # rules.unreached_nudge), when a follow-up is still to come; else None.
    held_by: Nudge | None = None

    @property
    def interview(self) -> Interview:
        return self.record.interview

    @property
    def due_next(self) -> NextNudge | None:
        """The next nudge the daemon will deliver (None when nothing, or stale)."""
        return self.next if self.next is not None and not self.next.stale else None


@dataclass(frozen=True, slots=True)
class FolderState:
    """Where the mailbox watch stopped reading one folder (RFC 3501's UIDVALIDITY and
    the last UID read)."""

    uidvalidity: int
    last_uid: int


@dataclass(frozen=True, slots=True)
class Draft:
    """A ready follow-up email."""

    to: str
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class Reminder:
    """One nudge, written out: what a channel tells the user about it."""

    interview: Interview
    number: int
    of: int
    title: str
    body: str
    draft: Draft
    opens_at: datetime | None = None  # when the nudge became due; orders a digest
    # The follow-up the user will send next (followups sent + 1), which the draft is
    # for; not `number` when an earlier nudge was ignored. None: the same as `number`.
    followup: int | None = None
    language: str = "en"  # the language of the texts and the draft


@dataclass(frozen=True, slots=True)
class Notice:
    """What a channel delivers: one reminder, or a digest of several.

    `key` is stable for the same nudge(s), so that a channel can give a message
    an identity (an email's Message-ID) that survives retries.
    """

    key: str
    title: str
    body: str
    reminders: tuple[Reminder, ...]
    # A channel with several destinations (Apprise's URLs): those that already have it.
    done: frozenset[str] = frozenset()

    @property
    def is_digest(self) -> bool:
        return len(self.reminders) > 1
