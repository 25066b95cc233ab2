"""The schedule's jobs: one per moment at which nudges fall due (at 100k interviews,
a start plans thousands of nudges, most of them at a few moments), each nudge fired
once by its moment's job, and none once it is unplanned."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from followup.daemon.schedule import Schedule
from followup.models import NextNudge, Policy

NOW = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
NINE = NOW + timedelta(hours=1)
TEN = NOW + timedelta(hours=2)


def schedule_and_fired() -> tuple[Schedule, AsyncIOScheduler, list]:
    fired: list = []
    scheduler = AsyncIOScheduler(timezone=UTC)
    schedule = Schedule(scheduler, "test/1/1", set(), fired.append, lambda retry: None)
    schedule.use(None, Policy(zone=UTC), ["email"])
    return schedule, scheduler, fired


def plan(schedule: Schedule, interview_id: int, at: datetime, number: int = 1) -> None:
    schedule.plan_next(interview_id, "Acme", NextNudge(interview_id, number, at, at), NOW)


def test_nudges_at_one_moment_share_one_job_and_each_fires_once():
    schedule, scheduler, fired = schedule_and_fired()
    for interview_id in (3, 1, 2):
        plan(schedule, interview_id, NINE)
    plan(schedule, 4, TEN)
    assert sorted(job.trigger.run_date for job in scheduler.get_jobs()) == [NINE, TEN]
    [nine] = [job for job in scheduler.get_jobs() if job.trigger.run_date == NINE]
    asyncio.run(nine.func(*nine.args))
    assert [(due.interview_id, due.number) for due in fired] == [(1, 1), (2, 1), (3, 1)]
    assert set(schedule.planned) == {4}


def test_a_moment_s_job_goes_with_its_last_nudge_and_a_moved_nudge_moves():
    schedule, scheduler, fired = schedule_and_fired()
    plan(schedule, 1, NINE)
    plan(schedule, 2, NINE)
    schedule.unplan(1)
    assert [job.trigger.run_date for job in scheduler.get_jobs()] == [NINE]
    plan(schedule, 2, TEN, number=2)  # sent by hand: its next nudge, later
    assert [job.trigger.run_date for job in scheduler.get_jobs()] == [TEN]
    [ten] = scheduler.get_jobs()
    asyncio.run(ten.func(*ten.args))
    assert [(due.interview_id, due.number) for due in fired] == [(2, 2)]
    assert schedule.planned == {}
