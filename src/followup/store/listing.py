"""What `list` prints, read in one pass at any size.

One query, by interview time: each interview, how many follow-ups and nudges it
has (counted in SQL, the history itself is not read) and its row of the stored
plan; streamed, so a page of rows is in Python at a time. `brief` reads only the
columns the table prints (`--json` reads the whole interview). While a daemon
keeps the plan under other settings, the next nudges come from the rules over
the records instead, a page at a time (see `store.plan`).

The table's widths come from SQL too (`list_widths`, `wide_texts`), so the
first line can be printed before the last row is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from followup import rules
from followup.models import Counted, PlannedNudge, Policy, Status
from followup.store.plan import PAGE, PLAN_COLUMNS, Plans, fingerprint_matches, planned
from followup.store.records import counted_columns, load_records
from followup.store.tables import followups, interviews, plan

Listed = tuple[Counted, PlannedNudge | None]


def _where(statuses: list[Status] | None) -> Any:
    return (sa.true() if statuses is None
            else interviews.c.status.in_([str(s) for s in statuses]))


def listed(conn: Connection, statuses: list[Status] | None, brief: bool,
           page: int = PAGE) -> Iterator[list[Listed]]:
    """Pages of (interview with its counts, its planned nudge or None) by interview
    time, from the stored plan (the caller checked it is under its settings)."""
    columns, counted = counted_columns(brief)
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


class Listings(Plans):
    """`list`'s reads."""

    def planned_records(self, policy: Policy, statuses: list[Status] | None,
                        page: int = PAGE, brief: bool = False) -> Iterator[list[Listed]]:
        """Every interview (or those in `statuses`) by interview time, with its counts
        and planned nudge (None: none will come), `page` at a time, in one read
        transaction: from the stored plan when it is under `policy` (made so when no
        daemon keeps it under other settings), else from the rules. With `brief`, each
        interview is a `Brief`: id, company, role, interview time and status."""
        self.adopt_plan(policy)
        with self._read() as conn:
            if fingerprint_matches(conn, policy):
                yield from listed(conn, statuses, brief, page)
            else:  # a running daemon keeps the plan under other settings
                yield from _from_rules(conn, policy, statuses, page)

    def list_widths(self, statuses: list[Status] | None) -> dict[str, int]:
        """The longest company, role, status, id and follow-up count among these
        interviews, in characters: a table's columns without reading its rows."""
        where = _where(statuses)
        longest = sa.select(
            sa.func.max(sa.func.length(interviews.c.company)),
            sa.func.max(sa.func.length(interviews.c.role)),
            sa.func.max(sa.func.length(interviews.c.status)),
            sa.func.max(interviews.c.id)).where(where)
        sent = (sa.select(sa.func.max(followups.c.number))
                .join(interviews, interviews.c.id == followups.c.interview_id).where(where))
        with self._read() as conn:
            company, role, status, top = conn.execute(longest).one()
            most = conn.execute(sent).scalar()
        return {"company": company or 0, "role": role or 0, "status": status or 0,
                "id": len(str(top or 0)), "sent": len(str(most or 0))}

    def wide_texts(self, statuses: list[Status] | None) -> dict[str, set[str]]:
        """The companies and roles among these interviews whose characters may take more
        than one terminal column each (any that is not ASCII), to measure them."""
        found: dict[str, set[str]] = {}
        with self._read() as conn:
            for column in (interviews.c.company, interviews.c.role):
                query = sa.select(column).distinct().where(
                    _where(statuses), _not_ascii(conn, column))
                found[column.name] = set(conn.execute(query).scalars())
        return found


def _not_ascii(conn: Connection, column: sa.Column) -> Any:
    """The column holds a character outside printable ASCII (space to tilde)."""
    if conn.dialect.name == "sqlite":
        return column.op("GLOB")("*[^ -~]*")
    return column.regexp_match("[^ -~]")
