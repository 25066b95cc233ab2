"""The schedule's bookkeeping: one one-shot APScheduler job per moment at which
nudges fall due within the horizon (many share one: the first working instant
after a night or a weekend), one per delivery to try again, and what is planned.

The planner (`planner`) decides when to look at what; this module turns what
it finds into jobs, replacing or removing them as interviews change. A nudge
outside working hours, stale, or beyond the horizon has no job.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from followup import rules
from followup.daemon.owners import process_alive
from followup.daemon.work import Due, Retry
from followup.models import NextNudge, Policy, Record

log = logging.getLogger("followup")

HORIZON = timedelta(hours=12)  # jobs are kept for nudges due within this


class Schedule:
    """The scheduler's jobs for one set of settings (see `use`).

    `fire` and `fire_retry` are called when a job runs. `in_flight` holds the tokens
    of the attempts under way in this process (see `Dispatcher`).
    """

    def __init__(self, scheduler: AsyncIOScheduler, owner: str, in_flight: set[str],
                 fire: Callable[[Due], object], fire_retry: Callable[[Retry], object]) -> None:
        self.scheduler = scheduler
        self.owner = owner
        self.in_flight = in_flight
        self.fire = fire
        self.fire_retry = fire_retry
        self.planned: dict[int, tuple[datetime, Due]] = {}  # interview -> its moment, nudge
        self.at: dict[datetime, set[int]] = {}  # a moment -> the interviews its job fires
        self.channels: set[str] = set()

    def use(self, store, policy: Policy, channels: Collection[str]) -> None:
        """Plan with these settings from now on: an empty schedule to begin with."""
        self.store, self.policy, self.channels = store, policy, set(channels)
        for interview_id in list(self.planned):
            self.unplan(interview_id)
        for job in self.scheduler.get_jobs():
            if job.id.startswith("retry-"):
                job.remove()

    @property
    def next_fire_at(self) -> datetime | None:
        return min(self.at, default=None)

    # --- nudges --------------------------------------------------------------------------

    def plan(self, record: Record, now: datetime) -> None:
        upcoming = rules.next_nudge(record, self.policy, now)
        self.plan_next(record.interview.id, record.interview.company, upcoming, now)

    def plan_next(self, interview_id: int, company: str, upcoming: NextNudge | None,
                  now: datetime) -> None:
        """Keep a job for this interview's next nudge when it falls due within the
        horizon (and is not stale), and none otherwise."""
        if (upcoming is None or upcoming.stale or not self.channels
                or upcoming.fire_at > now + HORIZON):
            self.unplan(interview_id)
            return
        due = Due(interview_id, upcoming.number, upcoming.opens_at, upcoming.again)
        if self.planned.get(interview_id) == (upcoming.fire_at, due):
            return
        self.unplan(interview_id)  # from the moment it had
        self.planned[interview_id] = (upcoming.fire_at, due)
        together = self.at.setdefault(upcoming.fire_at, set())
        if not together:  # the first nudge at this moment: its job
            self.scheduler.add_job(self._fired, "date", run_date=upcoming.fire_at,
                                   args=[upcoming.fire_at], id=_job_id(upcoming.fire_at),
                                   replace_existing=True)
        together.add(interview_id)
        if upcoming.fire_at > now:
            log.info("scheduled nudge %d for interview %d (%s)%s at %s", upcoming.number,
                     interview_id, company, " again" if upcoming.again else "",
                     upcoming.fire_at.astimezone(self.policy.zone).isoformat(timespec="minutes"))

    async def _fired(self, fire_at: datetime) -> None:
        for interview_id in sorted(self.at.pop(fire_at, ())):  # unplanned since: not here
            _, due = self.planned.pop(interview_id)
            self.fire(due)

    def unplan(self, interview_id: int) -> None:
        planned = self.planned.pop(interview_id, None)
        if planned is None:
            return
        fire_at = planned[0]
        together = self.at.get(fire_at, set())
        together.discard(interview_id)
        if not together and self.at.pop(fire_at, None) is not None:
            with contextlib.suppress(JobLookupError):  # it already ran
                self.scheduler.remove_job(_job_id(fire_at))

    # --- retries -------------------------------------------------------------------------

    def plan_retry(self, pending, now: datetime) -> None:
        """Plan the next attempt of an unfinished delivery, unless it is being attempted
        right now: here (its attempt's token in flight), or under a lease that has not
        lapsed (this process's too: a stranded attempt's lease ends or lapses, and the
        take waits for that). The lease of a process on this machine that died ends now."""
        owner = pending.owner
        key = (pending.record.interview.id, pending.number, pending.channel)
        if pending.attempt is not None and pending.attempt in self.in_flight:
            return
        if owner is not None and not pending.lapsed:
            if owner == self.owner or process_alive(
                    owner, self.store.engine.dialect.name == "sqlite"):
                return  # being delivered (its lease says until when)
            self.store.end_leases(owner)  # a process that died: no need to wait for its lease
        when = max(pending.next_attempt_at or now, now)
        self.schedule_retry(*key, when)

    def schedule_retry(self, interview_id: int, number: int, channel: str,
                       when: datetime) -> None:
        if channel not in self.channels:
            return
        when = rules.first_working_instant(when, self.policy) or when
        retry = Retry(interview_id, number, channel)
        self.scheduler.add_job(self._fired_retry, "date", run_date=when, args=[retry],
                               id=f"retry-{interview_id}-{number}-{channel}",
                               replace_existing=True)

    async def _fired_retry(self, retry: Retry) -> None:
        self.fire_retry(retry)


def _job_id(fire_at: datetime) -> str:
    return f"nudges-at-{fire_at.timestamp():.6f}"
