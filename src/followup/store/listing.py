"""What `list` and `due` print, read in one pass at any size.

`list --json` pages whole interviews with their counts (follow-ups and nudges,
counted in SQL: the history is not read) and their row of the stored plan.
The tables read less: `list_columns` and `due_rows` return the database's own
values (timestamps as stored), no model per row, since a table of 75,000 lines
must cost about a microsecond a line; the few distinct timestamps and plans
among them are read once each by the caller (see `App.list_table`). `list`'s
table is read a page at a time into columns: the rows of each page are gone
before the next is read, so 75,000 of them never live at once (measured: 0.03-0.06 s
of `list`'s 0.5 s at 100,000 interviews). While a daemon keeps the plan under
other settings, the next nudges come from the rules over the records instead
(see `store.plan`), in the same shapes.

A `list` row: (id, company, role, interview_at, status, follow-ups sent, and
the plan's number, opens_at, not_before, fire_at, stale_after: all None when
no nudge comes). A `due` row: (id, company, role, and the same five of the plan).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from followup import rules
from followup.models import Counted, PlannedNudge, Policy, Status, columns_of
from followup.store.plan import (
    PAGE,
    PLAN_COLUMNS,
    Plans,
    falling_due,
    fingerprint_matches,
    planned,
    raw,
)
from followup.store.records import count_of, counted_columns, load_by_status, load_records
from followup.store.tables import followups, interviews, plan

Listed = tuple[Counted, PlannedNudge | None]


def _where(statuses: list[Status] | None) -> Any:
    return (sa.true() if statuses is None
            else interviews.c.status.in_([str(s) for s in statuses]))


def listed(conn: Connection, statuses: list[Status] | None,
           page: int = PAGE) -> Iterator[list[Listed]]:
    """Pages of (interview with its counts, its planned nudge or None) by interview
    time, from the stored plan (the caller checked it is under its settings)."""
    columns, counted = counted_columns()
    width = len(columns)
    query = (sa.select(*columns, *PLAN_COLUMNS)
             .select_from(interviews.outerjoin(plan, plan.c.interview_id == interviews.c.id))
             .where(_where(statuses)).order_by(interviews.c.interview_at, interviews.c.id))
    rows = conn.execution_options(stream_results=True, yield_per=page).execute(query)
    for chunk in rows.partitions():
        yield [(counted(row[:width]), None if row[width] is None else planned(row[width:]))
               for row in chunk]


def _from_rules(conn: Connection, policy: Policy, statuses: list[Status] | None,
                page: int) -> Iterator[list[Listed]]:
    """The same pages, each next nudge from the rules over the records."""
    ids = conn.execute(sa.select(interviews.c.id).where(_where(statuses)).order_by(
        interviews.c.interview_at, interviews.c.id)).scalars().all()
    for start in range(0, len(ids), page):
        records = load_records(conn, ids[start:start + page], with_deliveries=False)
        yield [(Counted(r.interview, r.followups_sent, r.nudges_fired),
                rules.planned_nudge(r, policy)) for r in records]


# The plan's columns a table needs (see the module's docstring), as stored.
TABLE_PLAN = (plan.c.number, raw(plan.c.opens_at), raw(plan.c.not_before),
              raw(plan.c.fire_at), raw(plan.c.stale_after))


def _plan_cells(planned_nudge: PlannedNudge | None) -> tuple:
    """TABLE_PLAN's values of a nudge the rules planned (all None for none)."""
    if planned_nudge is None:
        return (None,) * len(TABLE_PLAN)
    p = planned_nudge
    return p.number, p.opens_at, p.not_before, p.fire_at, p.stale_after


class Listings(Plans):
    """`list`'s and `due`'s reads."""

    def planned_records(self, policy: Policy, statuses: list[Status] | None,
                        page: int = PAGE) -> Iterator[list[Listed]]:
        """Every interview (or those in `statuses`) by interview time, with its counts
        and planned nudge (None: none will come), `page` at a time, in one read
        transaction: from the stored plan when it is under `policy` (made so when no
        daemon keeps it under other settings), else from the rules."""
        self.adopt_plan(policy)
        with self._read() as conn:
            if fingerprint_matches(conn, policy):
                yield from listed(conn, statuses, page)
            else:  # a running daemon keeps the plan under other settings
                yield from _from_rules(conn, policy, statuses, page)

    def list_columns(self, policy: Policy, statuses: list[Status] | None,
                     page: int = PAGE) -> list[list]:
        """`list`'s table as columns (see `columns_of`): a row (see the module's
        docstring) for every interview, or those in `statuses`, by interview time."""
        self.adopt_plan(policy)
        with self._read() as conn:
            if not fingerprint_matches(conn, policy):  # a daemon with other settings runs
                return columns_of([[
                    (r.interview.id, r.interview.company, r.interview.role,
                     r.interview.interview_at, str(r.interview.status), r.followups_sent,
                     *_plan_cells(rules.planned_nudge(r, policy)))
                    for r in load_by_status(conn, statuses)]])
            query = (sa.select(interviews.c.id, interviews.c.company, interviews.c.role,
                               raw(interviews.c.interview_at), interviews.c.status,
                               count_of(followups), *TABLE_PLAN)
                     .select_from(interviews.outerjoin(
                         plan, plan.c.interview_id == interviews.c.id))
                     .where(_where(statuses))
                     .order_by(interviews.c.interview_at, interviews.c.id))
            rows = conn.execution_options(stream_results=True, yield_per=page).execute(query)
            return columns_of(rows.partitions())

    def due_rows(self, policy: Policy, until: datetime, now: datetime) -> list[tuple]:
        """`due`'s table: a row (see the module's docstring) for every interview whose
        nudge fires by `until` (overdue ones too) or is stale at `now`: one range read
        on the plan's indexes, in no order (the caller reads each row at `now` and
        orders what falls due)."""
        self.adopt_plan(policy)
        with self._read() as conn:
            if not fingerprint_matches(conn, policy):  # `falling_due`, from the rules
                found = [(r, rules.planned_nudge(r, policy)) for r in load_by_status(
                    conn, [Status.WAITING], below=policy.max_followups)]
                return [(r.interview.id, r.interview.company, r.interview.role,
                         *_plan_cells(p)) for r, p in found
                        if p is not None and (p.fire_at is None or p.fire_at <= until
                                              or (p.stale_after or now) < now)]
            query = (sa.select(interviews.c.id, interviews.c.company, interviews.c.role,
                               *TABLE_PLAN)
                     .select_from(plan.join(interviews, interviews.c.id == plan.c.interview_id))
                     .where(falling_due(until, now)))
            return conn.execute(query).all()
