"""Claim, deliver, record: what happens when nudges fall due.

A nudge is claimed in the database (the unique constraint on interview and
number decides between racing daemons; a snoozed nudge coming back is claimed
again by a compare-and-set on its `fired_at`) before any channel sees it. Each
channel's delivery is claimed under an attempt's own token (DESIGN "Exactly
once"), marked in flight here before the claim commits, so that a rescan
reading the fresh claim never takes it for a stranded one. Each enabled
channel then delivers on its own, and its result is recorded at once, against
the token (a fence: a late attempt records nothing): delivered; retrying, with
a time for the next attempt; or gave up. The only window in which a nudge can
reach a channel twice is between the channel accepting it and that result
being written, one statement later.

What happens after a failure (when to try again, when to give up, taking a
delivery up again) is `retries`'s job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import partial

from followup import content, rules
from followup.channels.base import Channel, Result, try_again
from followup.config import Settings
from followup.daemon.recording import Outcomes, until_written
from followup.daemon.retries import Retries
from followup.daemon.work import Due, Job, Retry, RetryScheduler, new_attempt
from followup.errors import UserError
from followup.models import DeliveryStatus, Policy, Record

log = logging.getLogger("followup")

DIGEST_OVER = 3  # more nudges than this at once go to desktop and email as one digest
SLOW_ATTEMPT = 90.0  # each channel keeps its own, shorter deadline; past this, say so (and wait)
IN_DOUBT = "the daemon stopped while the channel was sending: it may have arrived"


class Dispatcher:
    """Carries nudges from "due" to "recorded". `in_flight` holds the tokens of the
    attempts under way in this process (shared with the daemon's planner, which
    never takes one of them up again, and with the lease renewal)."""

    def __init__(self, store, channels: Mapping[str, Channel], settings: Settings,
                 policy: Policy, owner: str, now: Callable[[], datetime],
                 schedule_retry: RetryScheduler, in_flight: set[str] | None = None,
                 failing: dict[str, str] | None = None, installation: str = "",
                 sending: dict[str, tuple[int, int, str]] | None = None,
                 stopping: Callable[[], bool] = lambda: False) -> None:
        self.store = store
        self.channels = dict(channels)
        self.settings = settings
        self.owner = owner
        self.now = now
        self.in_flight = in_flight if in_flight is not None else set()
        self.installation = installation  # the database's random id (Store.installation_id)
        # token -> the delivery it sends (shared, like `in_flight`, by the dispatchers
        # of one daemon: an attempt begun before a reload is still this daemon's)
        self.sending = sending if sending is not None else {}
        self.stopping = stopping  # from then on no send begins (see `_deliver`)
        self.retries = Retries(store, settings, policy, owner, now, schedule_retry,
                               self.in_flight, failing if failing is not None else {})
        self.outcomes = Outcomes(store, self.retries, stopping)

    @property
    def policy(self) -> Policy:
        return self.retries.policy

    @policy.setter
    def policy(self, policy: Policy) -> None:  # a new year's holidays (see the daemon)
        self.retries.policy = policy

    async def dispatch(self, due: Iterable[Due], retries: Iterable[Retry]) -> None:
        """Claim the new nudges, take the retries, and deliver all of it, channel by
        channel, each channel on its own so that a slow one delays no other. A
        database error skips one item (a later scan finds it), never the rest."""
        now = self.now()
        work: dict[str, list[Job]] = {name: [] for name in self.channels}
        for item in due:
            claimed = await self._guarded(self._claim, item, now)
            if claimed is not None:
                record, tokens = claimed
                for name, jobs in work.items():
                    jobs.append(Job(record, item.number, 0, now, tokens[name]))
        for retry in retries:
            if retry.channel not in work:  # disabled by a reload since it was planned:
                continue  # not taken, so free for a daemon that has the channel
            job = await self._guarded(self.retries.take, retry, now)
            if job is not None:
                work[retry.channel].append(job)
        # Every channel to its end (a database error in one must not leave the others'
        # attempts behind, unwatched at a stop, their leases unrenewed); then the error.
        ended = await asyncio.gather(*(self._deliver(name, jobs, now)
                                       for name, jobs in work.items() if jobs),
                                     return_exceptions=True)
        for outcome in ended:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _guarded(self, step, item, now: datetime):
        try:
            return await asyncio.to_thread(step, item, now)
        except UserError as error:  # the database was locked past its timeout, say
            log.error("nudge %d for interview %d postponed: %s", item.number,
                      item.interview_id, error.message)
            return None

    # --- claiming ------------------------------------------------------------------------

    def _claim(self, item: Due, now: datetime) -> tuple[Record, dict[str, str]] | None:
        def still_due(record: Record) -> bool:
            upcoming = rules.next_nudge(record, self.policy, now)
            return (upcoming is not None and upcoming.number == item.number
                    and upcoming.again == item.again
                    and not upcoming.stale and upcoming.fire_at <= now)

        # In flight before the claim commits, each channel's attempt by its own token:
        # a rescan reading the claim meanwhile sees attempts under way, and a claim
        # that fails takes out only its own tokens.
        tokens = {name: new_attempt() for name in self.channels}
        self.in_flight.update(tokens.values())
        record = None
        try:
            claim = self.store.claim_again if item.again else self._claim_first(item)
            record = claim(item.interview_id, item.number, self.channels, now, self.owner,
                           still_due, attempts=tokens)
        finally:
            if record is None:
                self.in_flight.difference_update(tokens.values())
        if record is None:
            return None
        log.info("claimed nudge %d for interview %d (%s)%s", item.number,
                 item.interview_id, record.interview.company,
                 " again, after its snooze" if item.again else "")
        return record, tokens

    def _claim_first(self, item: Due):
        def claim(interview_id, number, channels, now, owner, still_due, attempts):
            return self.store.claim_nudge(interview_id, number, item.opens_at, channels, now,
                                          owner, still_due, attempts)
        return claim

    # --- delivering -------------------------------------------------------------------------

    async def _deliver(self, name: str, jobs: list[Job], now: datetime) -> None:
        channel = self.channels[name]
        of = self.policy.max_followups
        try:
            reminders = [content.reminder(
                job.record.interview, job.number, of, now, self.policy.zone,
                sent=job.record.followups_sent, signature=self.settings.me.name,
                language=self.settings.me.language,
                opens_at=rules.window_opens(job.record, job.number, self.policy),
                in_drafts="drafts" in self.channels)
                for job in jobs]
            if channel.takes_digest and len(jobs) > DIGEST_OVER:
                batches = [(content.notice(reminders), jobs)]
            else:
                batches = [(content.notice([r]), [job])
                           for r, job in zip(reminders, jobs, strict=True)]
            for done_batches, (notice, covered) in enumerate(batches):
                if self.stopping():
                    # A stop waits for the sends under way, never for one begun after it
                    # (it could be cut between its send and its record): the rest is
                    # the next daemon's, at once (the finally below ends their leases).
                    left = sum(len(jobs) for _, jobs in batches[done_batches:])
                    log.info("stopping: %d nudge(s) left unsent by %s for the next start",
                             left, name)
                    break
                sending = {job.attempt: (job.record.interview.id, job.number, name)
                           for job in covered if job.attempt is not None}
                self.sending.update(sending)
                try:
                    done = (await asyncio.to_thread(self._reached, name, covered)
                            if channel.several_destinations else frozenset())
                    result = await self._attempt(channel, replace(
                        notice, key=self._key(notice, covered), done=done))
                finally:
                    for token in sending:
                        self.sending.pop(token, None)
                # The channel acted: its outcome is written, however long the database
                # is away (the attempt stays in flight meanwhile, its lease renewed).
                await until_written(partial(self.outcomes.record, name, list(covered),
                                            result, self.now()),
                                    f"the outcome of {name}'s attempt")
        finally:
            # Whatever happened, these are no longer being attempted; what was not
            # recorded (a database error) has its lease ended, for the next rescan.
            tokens = {job.attempt for job in jobs if job.attempt is not None}
            self.in_flight.difference_update(tokens)
            with contextlib.suppress(UserError):  # else the leases lapse on their own
                await asyncio.to_thread(self.store.end_attempts, tokens)

    def _reached(self, name: str, covered: list[Job]) -> frozenset[str]:
        """The destinations every covered delivery already reached: not again."""
        reached = [self.store.reached(job.record.interview.id, job.number, name)
                   for job in covered]
        return frozenset.intersection(*reached) if reached else frozenset()

    def _key(self, notice, covered: list[Job]) -> str:
        """The notice's identity (an email's Message-ID): the same for every attempt at
        the same nudges, new when a snoozed nudge comes again, and never the same
        in two databases."""
        fired = max(job.fired_at for job in covered)
        return f"{notice.key}.{fired:%Y%m%d%H%M%S}.{self.installation}".rstrip(".")

    async def _attempt(self, channel: Channel, notice) -> Result:
        """The attempt's real outcome: never a failure recorded while the channel may
        still send (each channel is bounded by its own network timeouts)."""
        attempt = asyncio.ensure_future(channel.deliver(notice))
        try:
            done, _ = await asyncio.wait({attempt}, timeout=SLOW_ATTEMPT)
            if not done:
                log.warning("%s is still sending after %.0f s; waiting for its outcome",
                            channel.name, SLOW_ATTEMPT)
            return await attempt
        except asyncio.CancelledError:
            attempt.cancel()
            raise
        except Exception as error:  # a channel should not raise; never let it stop the rest
            log.exception("%s channel raised while delivering", channel.name)
            return try_again(f"{type(error).__name__}: {error}")


def record_in_doubt(dispatcher: Dispatcher) -> int:
    """Stopping with attempts still sending: record each "in doubt" (final, against
    its token: an outcome recorded meanwhile stays). In a worker thread."""
    now, recorded = dispatcher.now(), 0
    for token, (interview_id, number, name) in list(dispatcher.sending.items()):
        if dispatcher.store.record_delivery(interview_id, number, name,
                                            DeliveryStatus.IN_DOUBT, now, IN_DOUBT,
                                            attempt=token):
            recorded += 1
            log.warning("nudge %d for interview %d by %s is in doubt: %s", number,
                        interview_id, name, IN_DOUBT)
    return recorded
