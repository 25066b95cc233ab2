"""What jobs should exist: the daemon's schedule, derived from the database.

A scan computes each waiting interview's next nudge with the rules and hands
it to the schedule (`schedule`), which keeps one one-shot APScheduler job per
nudge falling due within the horizon, plus one job per delivery to retry. The
schedule can be thrown away and rebuilt at any time: the database is the truth.

Changes are read from the change log (see `store.changes`) after the last id
applied: a NOTIFY on PostgreSQL (see `pickup`) and the periodic rescan read
its tail, so a rescan costs one small read when nothing changed. The rescan
also takes over the deliveries of other daemons whose lease lapsed.

Every read of the database that plans (the log's tail, a full scan, a look at
some interviews) is applied before the next read begins (`reading`, a lock
held from the read to the end of its application): so reads are applied in
the order they were made, and an older snapshot never overwrites a newer plan.

Time is judged by the wall clock, never by the monotonic one, which stops
while the machine sleeps: the periodic rescan looks at everything again when
the wall clock says the last full scan is older than half the horizon, or
when the wall clock moved differently from the monotonic one since the last
rescan (a suspend, or a clock step).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from followup import rules
from followup.daemon.schedule import HORIZON, Schedule
from followup.daemon.work import Due, Retry
from followup.errors import NotFound
from followup.models import Policy, Status

if TYPE_CHECKING:
    from followup.store.rescan import Look

log = logging.getLogger("followup")

CLOCK_SLACK = timedelta(seconds=30)  # wall and monotonic time may drift this much


class Planner:
    """Keeps the scheduler's jobs (`schedule`) in step with the database.

    `fire` and `fire_retry` are called when a job runs. `in_flight` holds the tokens
    of the attempts under way in this process (see `Dispatcher`).
    """

    def __init__(self, scheduler: AsyncIOScheduler, owner: str, in_flight: set[str],
                 now: Callable[[], datetime], fire: Callable[[Due], object],
                 fire_retry: Callable[[Retry], object]) -> None:
        self.scheduler = scheduler
        self.schedule = Schedule(scheduler, owner, in_flight, fire, fire_retry)
        self.owner = owner
        self.now = now
        self.cursor = 0  # the newest change (store.changes) applied
        self.full_scan_wanted = True
        self.recheck: set[int] = set()  # interviews to look at again at the next rescan
        # The rescan's one transaction (see store.rescan), given the last change applied;
        # the daemon's adds the heartbeat.
        self.look_around: Callable[[int], Look] = lambda last: self.store.look_around(last)
        self.waiting = 0
        self.last_full_scan: datetime | None = None
        self.last_prune: datetime | None = None
        self.last_look: tuple[datetime, float] | None = None  # (wall, monotonic)
        self.adopt_plan = True
        self.reading = asyncio.Lock()  # one read-and-apply at a time, in order

    def use(self, store, policy: Policy, channels: Collection[str]) -> None:
        """Plan for these settings from now on (after start or a reload): an empty
        schedule until the next full scan."""
        self.store = store
        self.schedule.use(store, policy, channels)
        self.full_scan_wanted = True
        self.adopt_plan = True  # the stored plan follows a daemon's settings (store.plan)

    @property
    def policy(self) -> Policy:
        return self.schedule.policy

    @policy.setter
    def policy(self, policy: Policy) -> None:  # a new year's holidays (see the daemon)
        self.schedule.policy = policy
        self.adopt_plan = self.full_scan_wanted = True

    @property
    def planned(self) -> dict[int, tuple[int, datetime]]:
        """interview -> (number, fire_at) of each nudge with a job."""
        return self.schedule.planned

    @property
    def next_fire_at(self) -> datetime | None:
        return self.schedule.next_fire_at

    def forget(self, due: Due) -> None:
        """A due nudge was handed over, claimed or not (a database error, say): the
        next rescan plans its interview again (its job already ran)."""
        self.recheck.add(due.interview_id)

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
        async with self.reading:
            # One trip to the database's thread (each one wakes the process twice), one
            # transaction there: the heartbeat, what changed, and the deliveries whose
            # owner's lease lapsed (it died, or its machine is off).
            look = await asyncio.to_thread(self.look_around, self.cursor)
            everything = self._apply(look.changes)
        if everything:
            await self.full_scan()
        self.take_over(look.lapsed)
        self.scheduler.wakeup()  # due jobs are found by wall time, after a suspend too

    async def catch_up(self) -> None:
        """Apply what changed since the last look, whoever wrote it (see `pickup`)."""
        async with self.reading:
            changes = await asyncio.to_thread(self.store.changed_since, self.cursor)
            everything = self._apply(changes)
        if everything:
            await self.full_scan()

    def _apply(self, changes: tuple) -> bool:
        """Apply what a read of the log found; True when it says "look at everything"."""
        found, records, pending = changes
        if found.everything:
            return True
        now, present = self.now(), set()
        for record in records:
            present.add(record.interview.id)
            self.schedule.plan(record, now)
        for interview_id in found.interview_ids - present:
            self.schedule.unplan(interview_id)
        for delivery in pending:
            self.schedule.plan_retry(delivery, now)
        self.cursor = max(self.cursor, found.newest)
        if found.interview_ids:
            log.debug("applied changes to %d interview(s)", len(found.interview_ids))
            self.scheduler.wakeup()
        return False

    def take_over(self, lapsed: list) -> None:
        """Take over the deliveries whose lease lapsed (another daemon's, or one of this
        process's attempts that ended without a record), on channels we have."""
        for delivery in lapsed:
            if (delivery.channel in self.schedule.channels
                    and delivery.attempt not in self.schedule.in_flight):
                interview_id = delivery.record.interview.id
                log.info("taking over nudge %d for interview %d by %s from %s (its lease "
                         "lapsed)", delivery.number, interview_id, delivery.channel,
                         "this process" if delivery.owner == self.owner else delivery.owner)
                self.schedule.schedule_retry(interview_id, delivery.number, delivery.channel,
                                             self.now())

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
        """Plan again what falls due within the horizon, read by fire time from the
        stored plan (see `store.plan`), and every unfinished delivery. The first scan
        after `use` makes the plan ours when it is under other settings; a later one
        that finds it so (another daemon started with other settings) reads through
        the rules instead of rebuilding it back."""
        async with self.reading:
            await self._full_scan()

    async def _full_scan(self) -> None:
        self.full_scan_wanted = True  # until this one is done
        cursor = await asyncio.to_thread(self.store.newest_change)
        now = self.now()
        found = await asyncio.to_thread(self.store.planned_within, self.policy, now + HORIZON,
                                        now, self.adopt_plan)
        self.adopt_plan = False
        if found is None:
            records = await asyncio.to_thread(self.store.records, [Status.WAITING], False,
                                              self.policy.max_followups)
            found = [(rules.planned_nudge(r, self.policy), r.interview.company) for r in records]
        undelivered = await asyncio.to_thread(self.store.undelivered)
        now = self.now()
        seen = set()
        for planned, company in found:
            if planned is not None:
                seen.add(planned.interview_id)
                self.schedule.plan_next(planned.interview_id, company,
                                        rules.nudge_at(planned, self.policy, now), now)
        for pending in undelivered:
            self.schedule.plan_retry(pending, now)
        for interview_id in set(self.planned) - seen:
            self.schedule.unplan(interview_id)
        self.cursor, self.last_full_scan = cursor, now
        self.full_scan_wanted = False
        self.last_look = (now, time.monotonic())
        self.waiting = await asyncio.to_thread(self.store.count_waiting)
        log.debug("scanned %d waiting interview(s); %d nudge(s) scheduled",
                  self.waiting, len(self.planned))

    async def look_at_everything(self) -> None:
        """After a poke for everything, or a resume: plan again, and run what fell due."""
        await self.full_scan()
        self.scheduler.wakeup()

    async def look_at(self, interview_ids: Collection[int]) -> None:
        """Look again at some interviews after the CLI (or a source) changed them."""
        for interview_id in interview_ids:
            async with self.reading:
                try:
                    record = await asyncio.to_thread(self.store.get, interview_id)
                except NotFound:
                    self.schedule.unplan(interview_id)
                    continue
                self.schedule.plan(record, self.now())
        self.scheduler.wakeup()


def _span(delta: timedelta) -> str:
    seconds = abs(delta.total_seconds())
    sign = "-" if delta < timedelta(0) else ""
    if seconds >= 3600:
        return f"{sign}{seconds / 3600:.1f} h"
    return f"{sign}{seconds:.0f} s"
