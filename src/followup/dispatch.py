"""Claim, deliver, record: what happens when nudges fall due.

A nudge is claimed in the database (the unique constraint on interview and
number decides between racing daemons) before any channel sees it. Each
enabled channel then delivers on its own, and its result is recorded at once:
delivered, or failed with a time for the next attempt (doubling from
`retry_base_seconds` up to `retry_max_seconds`, and only inside working hours).
The only window in which a nudge can reach a channel twice is between the
channel accepting it and that result being written, one statement later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from followup import content, rules
from followup.channels.base import Channel, Outcome, Result, transient
from followup.config import Settings
from followup.errors import NotFound
from followup.models import DeliveryStatus, Policy, Record, Status

log = logging.getLogger("followup")

DIGEST_OVER = 3  # more nudges than this at once go to desktop and email as one digest
ATTEMPT_TIMEOUT = 90.0  # a channel has its own timeouts; this bounds a misbehaving one


@dataclass(frozen=True, slots=True)
class Due:
    """A nudge the schedule says is due: claim it, then deliver it."""

    interview_id: int
    number: int
    opens_at: datetime


@dataclass(frozen=True, slots=True)
class Retry:
    """A delivery to attempt again; `previous_owner` is set when taking over from a
    process that died while delivering."""

    interview_id: int
    number: int
    channel: str
    previous_owner: str | None = None


RetryScheduler = Callable[[int, int, str, datetime], None]


class Dispatcher:
    def __init__(self, store, channels: Mapping[str, Channel], settings: Settings,
                 policy: Policy, owner: str, now: Callable[[], datetime],
                 schedule_retry: RetryScheduler) -> None:
        self.store = store
        self.channels = dict(channels)
        self.settings = settings
        self.policy = policy
        self.owner = owner
        self.now = now
        self.schedule_retry = schedule_retry

    async def dispatch(self, due: Iterable[Due], retries: Iterable[Retry]) -> None:
        """Claim the new nudges, take the retries, and deliver all of it, channel by
        channel, each channel on its own so that a slow one delays no other."""
        now = self.now()
        work: dict[str, list[tuple[Record, int]]] = {name: [] for name in self.channels}
        for item in due:
            record = await asyncio.to_thread(self._claim, item, now)
            if record is not None:
                for items in work.values():
                    items.append((record, item.number))
        for retry in retries:
            record = await asyncio.to_thread(self._take, retry, now)
            if record is not None and retry.channel in work:
                work[retry.channel].append((record, retry.number))
        await asyncio.gather(*(self._deliver(name, items, now)
                               for name, items in work.items() if items))

    # --- claiming ------------------------------------------------------------------------

    def _claim(self, item: Due, now: datetime) -> Record | None:
        def still_due(record: Record) -> bool:
            upcoming = rules.next_nudge(record, self.policy, now)
            return (upcoming is not None and upcoming.number == item.number
                    and not upcoming.stale and upcoming.fire_at <= now)

        record = self.store.claim_nudge(item.interview_id, item.number, item.opens_at,
                                        self.channels, now, self.owner, still_due)
        if record is not None:
            log.info("claimed nudge %d for interview %d (%s)", item.number,
                     item.interview_id, record.interview.company)
        return record

    def _take(self, retry: Retry, now: datetime) -> Record | None:
        """Take a delivery for another attempt, unless it is no longer wanted."""
        try:
            record = self.store.get(retry.interview_id)
        except NotFound:
            return None
        if not self.store.take_delivery(retry.interview_id, retry.number, retry.channel,
                                        self.owner, now, retry.previous_owner):
            return None
        interview = record.interview
        if interview.status is not Status.WAITING or record.followups_sent >= retry.number:
            why = ("the employer replied" if interview.status is Status.HEARD
                   else f"the interview is {interview.status}"
                   if interview.status is not Status.WAITING
                   else f"follow-up {retry.number} was already sent")
            self.store.record_delivery(retry.interview_id, retry.number, retry.channel,
                                       DeliveryStatus.FAILED, now, f"not sent: {why}",
                                       owner=self.owner)
            log.info("dropped the retry of nudge %d for interview %d by %s: %s",
                     retry.number, retry.interview_id, retry.channel, why)
            return None
        log.info("retrying nudge %d for interview %d by %s (attempt %d)", retry.number,
                 retry.interview_id, retry.channel, _attempts(record, retry.number,
                                                              retry.channel) + 1)
        return record

    # --- delivering -------------------------------------------------------------------------

    async def _deliver(self, name: str, items: list[tuple[Record, int]], now: datetime) -> None:
        channel = self.channels[name]
        of = self.policy.max_followups
        reminders = [content.reminder(record.interview, number, of, now, self.policy.zone)
                     for record, number in items]
        if channel.takes_digest and len(items) > DIGEST_OVER:
            batches = [(content.notice(reminders), items)]
        else:
            batches = [(content.notice([r]), [item]) for r, item in zip(reminders, items,
                                                                        strict=True)]
        for notice, covered in batches:
            result = await self._attempt(channel, notice)
            await asyncio.to_thread(self._record, name, covered, result)

    async def _attempt(self, channel: Channel, notice) -> Result:
        try:
            return await asyncio.wait_for(channel.deliver(notice), ATTEMPT_TIMEOUT)
        except TimeoutError:
            return transient(f"no answer within {ATTEMPT_TIMEOUT:.0f} s")
        except Exception as error:  # a channel should not raise; never let it stop the rest
            log.exception("%s channel raised while delivering", channel.name)
            return transient(f"{type(error).__name__}: {error}")

    def _record(self, name: str, covered: list[tuple[Record, int]], result: Result) -> None:
        now = self.now()
        for record, number in covered:
            interview_id = record.interview.id
            if result.ok:
                if self.store.record_delivery(interview_id, number, name,
                                              DeliveryStatus.DELIVERED, now, owner=self.owner):
                    log.info("delivered nudge %d for interview %d (%s) by %s", number,
                             interview_id, record.interview.company, name)
                else:
                    log.warning("delivered nudge %d for interview %d by %s after another "
                                "daemon took it over (our lease lapsed)", number,
                                interview_id, name)
                continue
            attempts = _attempts(record, number, name) + 1
            retry_at = self._next_attempt(now, attempts, result.outcome)
            if not self.store.record_delivery(interview_id, number, name,
                                              DeliveryStatus.FAILED, now,
                                              f"{result.outcome}: {result.reason}", retry_at,
                                              owner=self.owner):
                continue  # another daemon took it over: its attempt, its record
            log.warning("%s failed for nudge %d of interview %d (%s: %s); retry at %s",
                        name, number, interview_id, result.outcome, result.reason,
                        retry_at.isoformat(timespec="seconds") if retry_at else "never")
            if retry_at is not None:
                self.schedule_retry(interview_id, number, name, retry_at)

    def _next_attempt(self, now: datetime, attempts: int, outcome: Outcome) -> datetime | None:
        daemon = self.settings.daemon
        if outcome is Outcome.PERMANENT:
            wait = daemon.retry_max_seconds
        else:
            wait = min(daemon.retry_base_seconds * 2 ** min(attempts - 1, 30),
                       daemon.retry_max_seconds)
        return rules.first_working_instant(now + timedelta(seconds=wait), self.policy)


def _attempts(record: Record, number: int, channel: str) -> int:
    """How many attempts the record shows for one delivery (0 for a new claim)."""
    for nudge in record.nudges:
        if nudge.number == number:
            for delivery in nudge.deliveries:
                if delivery.channel == channel:
                    return delivery.attempts
    return 0
