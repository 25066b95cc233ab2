"""Writing an attempt's outcome, however long the database is away.

Once a channel has acted, its outcome must reach the database: an attempt
dropped unrecorded is taken up again once its lease ends, and sends the
nudge a second time (DESIGN "Exactly once": a repeat only for a crash
between the send and its record). So a record the database refused (a
PostgreSQL restart, a SQLite lock held past its timeout) is tried again,
with capped backoff, while the attempt stays in flight and its lease is
renewed; only a stop gives up on it (its lease then lapses). `Outcomes`
is what is written: delivered, retrying (and when), or gave up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from followup.backoff import backoff_delay
from followup.channels.base import Result
from followup.daemon.retries import Retries
from followup.daemon.work import Job
from followup.errors import UserError
from followup.models import DeliveryStatus

log = logging.getLogger("followup")

RETRY_FIRST = 0.5  # seconds before writing again; doubles
RETRY_MAX = 5.0


async def until_written(write: Callable[[], None], what: str) -> None:
    """Run `write` in a worker thread until the database takes it (it must be safe
    to run again: it writes only what is still unwritten)."""
    failures = 0
    while True:
        try:
            await asyncio.to_thread(write)
            return
        except UserError as error:
            failures += 1
            delay = backoff_delay(RETRY_FIRST, failures, RETRY_MAX)
            log.warning("could not record %s: %s; trying again in %g s", what,
                        error.message, delay)
            await asyncio.sleep(delay)  # the database's return, not a race: nothing to wake us


class Outcomes:
    """Writes what a channel's attempt came to, against the attempt's token (a fence:
    an attempt taken over, or recorded "in doubt" by a stop, records nothing)."""

    def __init__(self, store, retries: Retries, stopping: Callable[[], bool]) -> None:
        self.store = store
        self.retries = retries
        self.stopping = stopping

    def record(self, name: str, left: list[Job], result: Result, now: datetime) -> None:
        """Record the attempt's outcome (of `now`) for each job in `left`, taking each
        out once written: after a database error, `left` is what is still to write."""
        if result.ok:
            self.retries.works(name)
        while left:
            self._record_one(name, left[0], result, now)
            left.pop(0)

    def _record_one(self, name: str, job: Job, result: Result, now: datetime) -> None:
        interview_id = job.record.interview.id
        company = job.record.interview.company
        if result.ok:
            if self.store.record_delivery(interview_id, job.number, name,
                                          DeliveryStatus.DELIVERED, now,
                                          attempt=job.attempt,
                                          destinations=result.delivered_to):
                log.info("delivered nudge %d for interview %d (%s) by %s", job.number,
                         interview_id, company, name)
            elif self.stopping():
                log.warning("delivered nudge %d for interview %d by %s after the stop "
                            "recorded it in doubt", job.number, interview_id, name)
            else:
                log.warning("delivered nudge %d for interview %d by %s after another "
                            "attempt took it over (our lease lapsed)", job.number,
                            interview_id, name)
            return
        retry_at, why = self.retries.next_attempt(job, result, now)
        if retry_at is None:
            if self.store.record_delivery(interview_id, job.number, name,
                                          DeliveryStatus.GAVE_UP, now,
                                          f"{why}: {result.reason}", attempt=job.attempt,
                                          destinations=result.delivered_to):
                log.warning("%s gave up on nudge %d for interview %d (%s) %s: %s", name,
                            job.number, interview_id, company, why, result.reason)
            return  # else another daemon took it over: its attempt, its record
        if not self.store.record_delivery(interview_id, job.number, name,
                                          DeliveryStatus.RETRYING, now, result.reason,
                                          retry_at, attempt=job.attempt,
                                          destinations=result.delivered_to):
            return  # another daemon took it over: its attempt, its record
        self.retries.failed(name, job, result, retry_at)
        self.retries.schedule_retry(interview_id, job.number, name, retry_at)

