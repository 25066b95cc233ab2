"""The stored plan: each waiting interview's next nudge as far as it does not
depend on `now` (`rules.planned_nudge`), so that `due`, `list` and the
daemon's scans read an index by fire time instead of running the rules over
every interview. The rules stay the one source of the answer; this is their
cache, and `rules.nudge_at` applies `now` to a row at read time.

Kept in step: `changes.note`, which every write to an interview, its
follow-ups or its nudges calls in its own transaction, calls `replan` for
that interview (the command line's add, edit, sent, heard and snooze, the
daemon's claims, the mailbox's and the calendar's writes all go through it).
A delivery's attempts and end do not move the plan: the rules do not read
deliveries.

Which settings. The plan is computed under one policy, kept in `meta` as JSON
(POLICY_KEY) with its fingerprint (FINGERPRINT_KEY). Every writer computes an
interview's row under that stored policy, never its own, so the rows always
agree with the fingerprint whoever writes them. The plan is recomputed as a
whole (`rebuild`) only when a process wants it under its own settings and the
fingerprint differs:

- a daemon does so at start and after a reload: it is the one that acts on
  the plan, so its settings win;
- a command does so only when no daemon is running (none has a heartbeat
  within RUNNING_SECONDS and not stopped); while one runs, a command with
  other settings answers from the rules over the records (slower, but right
  for its settings) and leaves the plan alone.

So a daemon and a command never fight, and two daemons with different
settings on one database rebuild once per start each, not in a loop; either
one that finds the fingerprint not its own reads through the rules instead
(`fingerprint_matches`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from followup import rules
from followup.models import Counted, PlannedNudge, Policy, Status
from followup.store.dbtime import now_plus
from followup.store.records import (
    counted_columns,
    load_by_status,
    load_records,
    parse_utc,
)
from followup.store.tables import daemons, interviews, meta, plan
from followup.store.transactions import Transactions
from followup.store.turns import take_turn

POLICY_KEY = "plan_policy"  # meta: the policy the plan is computed under, as JSON
FINGERPRINT_KEY = "plan_fingerprint"  # meta: its hash
RUNNING_SECONDS = 15 * 60  # a daemon heard from within this (database clock) is running
BATCH = 1000  # rows per INSERT when rebuilding
PAGE = 1000  # interviews per page when listing


# --- the policy in meta ------------------------------------------------------------------


def policy_text(policy: Policy) -> str:
    """The policy as canonical JSON: what its fingerprint is taken of."""
    return json.dumps({
        "zone": policy.zone.key, "first_after_days": policy.first_after_days,
        "second_after_days": policy.second_after_days,
        "business_days": policy.business_days, "max_followups": policy.max_followups,
        "stale_after_days": policy.stale_after_days,
        "work_days": sorted(policy.work_days), "start": policy.start.isoformat(),
        "end": None if policy.end is None else policy.end.isoformat(),
        "holidays": sorted(day.isoformat() for day in policy.holidays),
    }, sort_keys=True)


def fingerprint(policy: Policy) -> str:
    return hashlib.sha256(policy_text(policy).encode()).hexdigest()[:32]


@lru_cache(maxsize=8)
def policy_of(text: str) -> Policy:
    """The policy stored as JSON (remembered: its memo makes the rules fast)."""
    found = json.loads(text)
    return Policy(
        zone=ZoneInfo(found["zone"]), first_after_days=found["first_after_days"],
        second_after_days=found["second_after_days"], business_days=found["business_days"],
        max_followups=found["max_followups"], stale_after_days=found["stale_after_days"],
        work_days=frozenset(found["work_days"]), start=time.fromisoformat(found["start"]),
        end=None if found["end"] is None else time.fromisoformat(found["end"]),
        holidays=frozenset(date.fromisoformat(day) for day in found["holidays"]))


def _meta(conn: Connection, key: str) -> str | None:
    return conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()


def _set_meta(conn: Connection, key: str, value: str) -> None:
    if conn.execute(meta.update().where(meta.c.key == key).values(value=value)).rowcount == 0:
        conn.execute(meta.insert().values(key=key, value=value))


def stored_policy(conn: Connection) -> Policy | None:
    """The policy the plan is computed under; None when there is no plan yet."""
    text = _meta(conn, POLICY_KEY)
    return None if text is None else policy_of(text)


def fingerprint_matches(conn: Connection, policy: Policy) -> bool:
    return _meta(conn, FINGERPRINT_KEY) == fingerprint(policy)


def daemon_running(conn: Connection) -> bool:
    recent = daemons.c.heartbeat >= now_plus(conn.dialect.name, -RUNNING_SECONDS)
    return conn.execute(sa.select(sa.func.count()).select_from(daemons).where(
        recent, daemons.c.stopped_at.is_(None))).scalar() > 0


# --- writing -------------------------------------------------------------------------------


def row_of(planned: PlannedNudge) -> dict[str, Any]:
    return {"interview_id": planned.interview_id, "number": planned.number,
            "opens_at": planned.opens_at, "not_before": planned.not_before,
            "fire_at": planned.fire_at, "stale_after": planned.stale_after,
            "again": planned.again}


def replan(conn: Connection, interview_ids: Iterable[int] | None) -> None:
    """Bring these interviews' rows (None: every row) in line with the rules under the
    stored policy, in the caller's transaction. Nothing when there is no plan yet."""
    policy = stored_policy(conn)
    if policy is None:
        return
    if interview_ids is None:
        rebuild(conn, policy)
        return
    ids = list(interview_ids)
    conn.execute(plan.delete().where(plan.c.interview_id.in_(ids)))
    rows = [row_of(planned) for planned in (
        rules.planned_nudge(record, policy) for record in load_records(conn, ids, False))
        if planned is not None]
    if rows:
        conn.execute(plan.insert(), rows)


def rebuild(conn: Connection, policy: Policy) -> int:
    """Compute every row again under `policy` and store it as the plan's policy, in the
    caller's (write) transaction; returns how many interviews have a next nudge."""
    conn.execute(plan.delete())
    records = load_by_status(conn, [Status.WAITING], False, below=policy.max_followups)
    rows = [row_of(planned) for planned in (
        rules.planned_nudge(record, policy) for record in records) if planned is not None]
    for start in range(0, len(rows), BATCH):
        conn.execute(plan.insert(), rows[start:start + BATCH])
    text = policy_text(policy)
    _set_meta(conn, POLICY_KEY, text)
    _set_meta(conn, FINGERPRINT_KEY, fingerprint(policy))
    return len(rows)


# --- reading -------------------------------------------------------------------------------


def raw(column: sa.Column) -> Any:
    """The column's stored value, as the driver gives it (no result processing)."""
    return sa.type_coerce(column, sa.String()).label(column.name)


PLAN_COLUMNS = (plan.c.interview_id, plan.c.number, raw(plan.c.opens_at),
                raw(plan.c.not_before), raw(plan.c.fire_at), raw(plan.c.stale_after),
                plan.c.again)


def planned(row: Any) -> PlannedNudge:
    interview_id, number, opens_at, not_before, fire_at, stale_after, again = row[:7]
    return PlannedNudge(interview_id, number, parse_utc(opens_at), parse_utc(not_before),
                        parse_utc(fire_at), parse_utc(stale_after), bool(again))


def falling_due(until: datetime, now: datetime) -> Any:
    """The rows whose nudge fires by `until` (overdue ones too) or is stale at `now`:
    an index range on fire time, and one on staleness."""
    return sa.or_(plan.c.fire_at <= until, plan.c.fire_at.is_(None),
                  plan.c.stale_after < now)


def read(conn: Connection, where: Any, *extra: Any) -> Iterator[tuple]:
    """(PlannedNudge, *extra columns) for the plan's rows that match `where`, by
    interview time."""
    query = (sa.select(*PLAN_COLUMNS, *extra)
             .join(interviews, interviews.c.id == plan.c.interview_id).where(where)
             .order_by(interviews.c.interview_at, interviews.c.id))
    for row in conn.execute(query):
        yield (planned(row), *row[7:])


# --- the Store's transactions --------------------------------------------------------------


class Plans(Transactions):
    """Reading the stored plan, computed under a given policy. Each read returns None
    when the plan is under other settings and may not be rebuilt now (a daemon with
    other settings runs): the caller then asks the rules over the records."""

    def adopt_plan(self, policy: Policy, force: bool = False) -> bool:
        """Make the plan the one of `policy` when it is not: always with `force` (a
        daemon starting), else only when no daemon runs. Whether it now is."""
        with self._read() as conn:
            if fingerprint_matches(conn, policy):
                return True
            if not force and daemon_running(conn):
                return False
        with self._write() as conn:
            take_turn(conn)  # no writer's row computed meanwhile from what this replaces
            if not fingerprint_matches(conn, policy):
                rebuild(conn, policy)
        return True

    def planned_due(self, policy: Policy, until: datetime, now: datetime
                    ) -> list[tuple[Counted, PlannedNudge]] | None:
        """The interviews whose nudge fires by `until` (overdue ones too) or is stale
        at `now`, with their counts and planned nudge: one range read on the plan's
        indexes."""
        where = falling_due(until, now)
        columns, counted = counted_columns()
        return self._from_plan(policy, lambda conn: [
            (counted(row[1:]), row[0]) for row in read(conn, where, *columns)])

    def planned_within(self, policy: Policy, until: datetime, now: datetime,
                       force: bool = False) -> list[tuple[PlannedNudge, str]] | None:
        """The nudges that fire by `until` (overdue ones too) and are not stale at
        `now`, with their interview's company: what a daemon schedules."""
        where = sa.and_(sa.or_(plan.c.fire_at <= until, plan.c.fire_at.is_(None)),
                        sa.or_(plan.c.stale_after.is_(None), plan.c.stale_after >= now))
        return self._from_plan(policy, lambda conn: list(read(conn, where, interviews.c.company)),
                               force)

    def count_waiting(self) -> int:
        with self._read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(interviews).where(
                interviews.c.status == str(Status.WAITING))).scalar()

    def _from_plan(self, policy: Policy, reading: Callable[[Connection], Any],
                   force: bool = False) -> Any:
        for _ in range(2):  # once more after adopting the plan
            with self._read() as conn:
                if fingerprint_matches(conn, policy):
                    return reading(conn)
            if not self.adopt_plan(policy, force):
                return None
        return None
