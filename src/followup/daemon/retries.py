"""After a delivery fails: when to try it again, or give up; taking it up again
when its time comes; and telling the log once per change of a channel's state.

The next attempt comes after a capped backoff (`followup.backoff`: doubling
from `retry_base_seconds` up to `retry_max_seconds`), and only inside working
hours. A delivery gives up (final: no scan takes it up again) when:
- a failure that needs the user (a refused password, a missing program) has
  happened NEEDS_FIX_ATTEMPTS times, `retry_max_seconds` apart: time enough to
  fix it, after which the nudge is old news;
- or the next attempt would come more than GIVE_UP_AFTER after the nudge
  fired (a week: a retry across a weekend or a holiday still happens).
A delivery no longer wanted (the employer replied, the interview was closed,
the follow-up was sent) is cancelled when its retry comes, also final.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from followup import rules
from followup.backoff import backoff_delay
from followup.channels.base import DeliveryResult, Result
from followup.config import Settings
from followup.daemon.work import Job, Retry, RetryScheduler, new_attempt
from followup.errors import NotFound
from followup.models import DeliveryStatus, Policy, Record, Status

log = logging.getLogger("followup")

NEEDS_FIX_ATTEMPTS = 5
GIVE_UP_AFTER = timedelta(days=7)


class Retries:
    """The failed side of delivering. `in_flight` and `failing` are shared with the
    dispatcher (see `Dispatcher`); `schedule_retry` plans an attempt (the planner's)."""

    def __init__(self, store, settings: Settings, policy: Policy, owner: str,
                 now: Callable[[], datetime], schedule_retry: RetryScheduler,
                 in_flight: set[str], failing: dict[str, str]) -> None:
        self.store = store
        self.settings = settings
        self.policy = policy
        self.owner = owner
        self.now = now
        self.schedule_retry = schedule_retry
        self.in_flight = in_flight
        self.failing = failing  # channel -> last reason

    def take(self, retry: Retry, now: datetime) -> Job | None:
        """Take a delivery for another attempt, unless it is no longer wanted, or
        this is outside working hours (a retry firing late, after a resume)."""
        if not rules.is_working_time(now, self.policy):
            later = rules.first_working_instant(now, self.policy)
            if later is not None:
                self.schedule_retry(retry.interview_id, retry.number, retry.channel, later)
            return None
        try:
            record = self.store.get(retry.interview_id)
        except NotFound:
            return None
        attempt = new_attempt()
        self.in_flight.add(attempt)  # before the take commits (see `Dispatcher._claim`)
        taken = False
        try:
            taken = self.store.take_delivery(retry.interview_id, retry.number, retry.channel,
                                             self.owner, now, attempt)
        finally:
            if not taken:
                self.in_flight.discard(attempt)
        if not taken:
            return None
        interview = record.interview
        if interview.status is not Status.WAITING or record.followups_sent >= retry.number:
            why = ("the employer replied" if interview.status is Status.HEARD
                   else f"the interview is {interview.status}"
                   if interview.status is not Status.WAITING
                   else f"follow-up {retry.number} was already sent")
            self.in_flight.discard(attempt)
            self.store.record_delivery(retry.interview_id, retry.number, retry.channel,
                                       DeliveryStatus.CANCELLED, now, f"not sent: {why}",
                                       attempt=attempt)
            log.info("cancelled the %s delivery of nudge %d for interview %d: %s",
                     retry.channel, retry.number, retry.interview_id, why)
            return None
        attempts = _attempts(record, retry.number, retry.channel)
        log.info("retrying nudge %d for interview %d by %s (attempt %d)", retry.number,
                 retry.interview_id, retry.channel, attempts + 1)
        return Job(record, retry.number, attempts, _fired_at(record, retry.number) or now,
                   attempt)

    def next_attempt(self, job: Job, result: Result, now: datetime
                     ) -> tuple[datetime | None, str]:
        """When to try again after this failure; (None, why) to give up."""
        daemon = self.settings.daemon
        attempts = job.attempts + 1
        if result.outcome is DeliveryResult.NEEDS_FIX:
            if attempts >= NEEDS_FIX_ATTEMPTS:
                return None, f"after {attempts} attempts"
            wait = daemon.retry_max_seconds
        else:
            wait = backoff_delay(daemon.retry_base_seconds, attempts, daemon.retry_max_seconds)
        retry_at = rules.first_working_instant(now + timedelta(seconds=wait), self.policy)
        if retry_at is None or retry_at - job.fired_at > GIVE_UP_AFTER:
            return None, f"{GIVE_UP_AFTER.days} days after the nudge"
        return retry_at, ""

    # --- telling the log, once per change ---------------------------------------------------

    def failed(self, name: str, job: Job, result: Result, retry_at: datetime) -> None:
        """A failure is news when the channel was working or failed differently."""
        news = self.failing.get(name) != result.reason
        self.failing[name] = result.reason
        log.log(logging.WARNING if news else logging.DEBUG,
                "%s failed for nudge %d of interview %d (%s): %s; will retry at %s", name,
                job.number, job.record.interview.id, job.record.interview.company,
                result.reason, self.local(retry_at))

    def works(self, name: str) -> None:
        if self.failing.pop(name, None) is not None:
            log.info("%s works again", name)

    def local(self, moment: datetime) -> str:
        """A time as the user reads it: "10:05" today, "Mon 09:00" on another day."""
        shown, today = moment.astimezone(self.policy.zone), self.now().astimezone(
            self.policy.zone)
        return shown.strftime("%H:%M" if shown.date() == today.date() else "%a %d %b %H:%M")


def _attempts(record: Record, number: int, channel: str) -> int:
    """How many attempts the record shows for one delivery (0 for a new claim)."""
    for nudge in record.nudges:
        if nudge.number == number:
            for delivery in nudge.deliveries:
                if delivery.channel == channel:
                    return delivery.attempts
    return 0


def _fired_at(record: Record, number: int) -> datetime | None:
    return next((nudge.fired_at for nudge in record.nudges if nudge.number == number), None)
