"""What jobs should exist: the daemon's schedule, derived from the database.

A scan computes each waiting interview's next nudge with the rules and keeps
one one-shot APScheduler job per nudge falling due within the horizon, plus
one job per delivery to retry. The schedule can be thrown away and rebuilt
at any time: the database is the truth.

Changes are read from the change log (see `store.changes`) after the last id
applied: a NOTIFY on PostgreSQL (see `pickup`) and the periodic rescan read
its tail, so a rescan costs one small read when nothing changed. The rescan
also takes over the deliveries of other daemons whose lease lapsed.

Time is judged by the wall clock, never by the monotonic one, which stops
while the machine sleeps: the periodic rescan looks at everything again when
the wall clock says the last full scan is older than half the horizon, or
when the wall clock moved differently from the monotonic one since the last
rescan (a suspend, or a clock step).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from followup import rules
from followup.daemon.dispatch import Due, Key, Retry
from followup.daemon.owners import process_alive
from followup.errors import NotFound
from followup.models import Policy, Record, Status

log = logging.getLogger("followup")

HORIZON = timedelta(hours=12)  # jobs are kept for nudges due within this
CLOCK_SLACK = timedelta(seconds=30)  # wall and monotonic time may drift this much


class Planner:
    """Keeps the scheduler's jobs in step with the database.

    `fire` and `fire_retry` are called when a job runs. `in_flight` is the set of
    deliveries this process is attempting right now (see `Dispatcher`).
    """

    def __init__(self, scheduler: AsyncIOScheduler, owner: str, in_flight: set[Key],
                 now: Callable[[], datetime], fire: Callable[[Due], object],
                 fire_retry: Callable[[Retry], object]) -> None:
        self.scheduler = scheduler
        self.owner = owner
        self.in_flight = in_flight
        self.now = now
        self.fire = fire
        self.fire_retry = fire_retry
        self.planned: dict[int, tuple[int, datetime]] = {}  # interview -> (number, fire_at)
        self.cursor = 0  # the newest change (store.changes) applied
        self.full_scan_wanted = True
        self.recheck: set[int] = set()  # interviews to look at again at the next rescan
        self.look_around: Callable[[], object] = lambda: None  # the rescan's heartbeat
        self.waiting = 0
        self.last_full_scan: datetime | None = None
        self.last_prune: datetime | None = None
        self.last_look: tuple[datetime, float] | None = None  # (wall, monotonic)

    def use(self, store, policy: Policy, channels: Collection[str]) -> None:
        """Plan for these settings from now on (after start or a reload): an empty
        schedule until the next full scan."""
        self.store, self.policy, self.channels = store, policy, set(channels)
        self.clear()

    def clear(self) -> None:
        for interview_id in list(self.planned):
            self._unplan(interview_id)
        for job in self.scheduler.get_jobs():
            if job.id.startswith("retry-"):
                job.remove()
        self.full_scan_wanted = True

    # --- looking -----------------------------------------------------------------------

    async def rescan(self) -> None:
        """The periodic look: what changed (the change log's tail) and the leases of
        other daemons; a full scan when work failed, the last full scan is old by the
        wall clock, or the wall clock jumped (a resume, a clock step)."""
        if self.clock_says_look() or self.full_scan_wanted:
            await self.full_scan()
        now = self.now()
        if self.last_prune is None:
            self.last_prune = now
        elif not self.last_prune <= now < self.last_prune + HORIZON / 2:
            self.last_prune = now  # every 6 hours: the change log keeps a week
            await asyncio.to_thread(self.store.prune_changes)
        if self.recheck:
            again, self.recheck = self.recheck, set()
            await self.look_at(sorted(again))
        # One trip to the database's thread: each one wakes the process twice.
        changes, lapsed = await asyncio.to_thread(self._look_around)
        await self.apply(changes)
        self.take_over(lapsed)
        self.scheduler.wakeup()  # due jobs are found by wall time, after a suspend too

    def _look_around(self) -> tuple:
        """The rescan's reads (in a worker thread): the heartbeat, what changed, and the
        deliveries whose owner's lease lapsed (it died, or its machine is off)."""
        self.look_around()
        return self.store.changed_since(self.cursor), self.store.undelivered(None, True)

    async def catch_up(self) -> None:
        """Apply what changed since the last look, whoever wrote it (see `pickup`)."""
        await self.apply(await asyncio.to_thread(self.store.changed_since, self.cursor))

    async def apply(self, changes: tuple) -> None:
        found, records, pending = changes
        if found.everything:
            await self.full_scan()
            return
        now, present = self.now(), set()
        for record in records:
            present.add(record.interview.id)
            self.plan(record, now)
        for interview_id in found.interview_ids - present:
            self._unplan(interview_id)
        for delivery in pending:
            self.plan_retry(delivery, now)
        self.cursor = max(self.cursor, found.newest)
        if found.interview_ids:
            log.debug("applied changes to %d interview(s)", len(found.interview_ids))
            self.scheduler.wakeup()

    def take_over(self, lapsed: list) -> None:
        """Take over the lapsed deliveries of other daemons, on channels we have."""
        for delivery in lapsed:
            if delivery.channel in self.channels and delivery.owner != self.owner:
                interview_id = delivery.record.interview.id
                log.info("taking over nudge %d for interview %d by %s from %s (its lease "
                         "lapsed)", delivery.number, interview_id, delivery.channel,
                         delivery.owner)
                self.schedule_retry(interview_id, delivery.number, delivery.channel,
                                    self.now(), previous_owner=delivery.owner)

    def clock_says_look(self) -> bool:
        now, ticks = self.now(), time.monotonic()
        last, self.last_look = self.last_look, (now, ticks)
        if self.last_full_scan is None or not (
                self.last_full_scan <= now < self.last_full_scan + HORIZON / 2):
            return True
        if last is None:
            return False
        drift = (now - last[0]) - timedelta(seconds=ticks - last[1])
        if abs(drift) > CLOCK_SLACK:
            log.info("the wall clock moved %s more than the monotonic clock (a suspend, "
                     "or a clock step): looking at everything again", _span(drift))
            return True
        return False

    async def full_scan(self) -> None:
        self.full_scan_wanted = True  # until this one is done
        cursor = await asyncio.to_thread(self.store.newest_change)
        records = await asyncio.to_thread(self.store.records, [Status.WAITING], False,
                                          self.policy.max_followups)
        undelivered = await asyncio.to_thread(self.store.undelivered)
        now = self.now()
        seen = set()
        for record in records:
            seen.add(record.interview.id)
            self.plan(record, now)
        for pending in undelivered:
            self.plan_retry(pending, now)
        for interview_id in set(self.planned) - seen:
            self._unplan(interview_id)
        self.cursor, self.last_full_scan = cursor, now
        self.full_scan_wanted = False
        self.last_look = (now, time.monotonic())
        self.waiting = len(records)
        log.debug("scanned %d waiting interview(s); %d nudge(s) scheduled",
                  len(records), len(self.planned))

    async def look_at(self, interview_ids: Collection[int]) -> None:
        """Look again at some interviews after the CLI (or a source) changed them."""
        for interview_id in interview_ids:
            try:
                record = await asyncio.to_thread(self.store.get, interview_id)
            except NotFound:
                self._unplan(interview_id)
                continue
            self.plan(record, self.now())
        self.scheduler.wakeup()

    # --- nudges --------------------------------------------------------------------------

    def plan(self, record: Record, now: datetime) -> None:
        interview_id = record.interview.id
        upcoming = rules.next_nudge(record, self.policy, now)
        if (upcoming is None or upcoming.stale or not self.channels
                or upcoming.fire_at > now + HORIZON):
            self._unplan(interview_id)
            return
        if self.planned.get(interview_id) == (upcoming.number, upcoming.fire_at):
            return
        self.planned[interview_id] = (upcoming.number, upcoming.fire_at)
        due = Due(interview_id, upcoming.number, upcoming.opens_at, upcoming.again)
        self.scheduler.add_job(self._fired, "date", run_date=upcoming.fire_at, args=[due],
                               id=f"nudge-{interview_id}", replace_existing=True)
        if upcoming.fire_at > now:
            log.info("scheduled nudge %d for interview %d (%s)%s at %s", upcoming.number,
                     interview_id, record.interview.company,
                     " again" if upcoming.again else "",
                     upcoming.fire_at.astimezone(self.policy.zone).isoformat(timespec="minutes"))

    async def _fired(self, due: Due) -> None:
        self.planned.pop(due.interview_id, None)
        self.fire(due)

    def forget(self, due: Due) -> None:
        """A due nudge was handed over, claimed or not (a database error, say): the
        next rescan plans its interview again (`_fired` already let go of its job)."""
        self.recheck.add(due.interview_id)

    def _unplan(self, interview_id: int) -> None:
        if self.planned.pop(interview_id, None) is not None:
            with contextlib.suppress(JobLookupError):  # it already ran
                self.scheduler.remove_job(f"nudge-{interview_id}")

    @property
    def next_fire_at(self) -> datetime | None:
        return min((fire_at for _, fire_at in self.planned.values()), default=None)

    # --- retries -------------------------------------------------------------------------

    def plan_retry(self, pending, now: datetime) -> None:
        """Plan the next attempt of an unfinished delivery, unless it is being attempted
        right now: here (in flight), or by another live process. A delivery this
        process owns but is not attempting was stranded by an error: take it back."""
        owner = pending.owner
        key = (pending.record.interview.id, pending.number, pending.channel)
        if owner == self.owner and key in self.in_flight:
            return
        if owner is not None and owner != self.owner:
            if process_alive(owner, self.store.engine.dialect.name == "sqlite"):
                return  # being delivered by another daemon (its lease says until when)
            self.store.end_leases(owner)  # a process that died: no need to wait for its lease
        when = max(pending.next_attempt_at or now, now)
        self.schedule_retry(*key, when, previous_owner=owner)

    def schedule_retry(self, interview_id: int, number: int, channel: str, when: datetime,
                       previous_owner: str | None = None) -> None:
        if channel not in self.channels:
            return
        when = rules.first_working_instant(when, self.policy) or when
        retry = Retry(interview_id, number, channel, previous_owner)
        self.scheduler.add_job(self._fired_retry, "date", run_date=when, args=[retry],
                               id=f"retry-{interview_id}-{number}-{channel}",
                               replace_existing=True)

    async def _fired_retry(self, retry: Retry) -> None:
        self.fire_retry(retry)


def _span(delta: timedelta) -> str:
    seconds = abs(delta.total_seconds())
    sign = "-" if delta < timedelta(0) else ""
    if seconds >= 3600:
        return f"{sign}{seconds / 3600:.1f} h"
    return f"{sign}{seconds:.0f} s"
