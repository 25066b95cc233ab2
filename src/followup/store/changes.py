"""The change log: what changed since a daemon last looked, on both engines.

Every write to an interview, its follow-ups or its nudges appends one row to
`changes` in the same transaction, so a daemon catches up by reading the rows
after the last id it saw: the cost of a change no longer grows with the number
of interviews. On PostgreSQL the same transaction also sends a NOTIFY on
`CHANNEL`, which every listening daemon receives when (and only when) the
transaction commits.

Ids must grow in commit order, or a reader could see id 6 committed, move
past it, and miss id 5 committing a moment later. SQLite has one writer at a
time; on PostgreSQL an advisory lock (store.turns), taken just before the
append and held to the commit, makes the writers of the log take turns.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from followup.store import plan
from followup.store.dbtime import now_plus
from followup.store.tables import changes, meta
from followup.store.turns import take_turn

CHANNEL = "followup_changes"  # the PostgreSQL NOTIFY channel
MOST = 5000  # more changes than this at once: look at everything instead
KEEP_SECONDS = 7 * 86400  # rows older than this are pruned; a reader further behind rescans
PRUNED_BELOW = "changes_pruned_below"  # meta key: ids below this are gone


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed after a given change id."""

    newest: int  # the id to read after next time
    interview_ids: frozenset[int]  # the interviews that changed
    everything: bool  # a change that concerns every interview, or too many to list


def note(conn: Connection, interview_id: int | None) -> None:
    """Append one change (None: every interview) inside the caller's write transaction,
    after the write, and bring the stored plan in line with it (see store.plan): the
    writes that must be noted are exactly those that can move an interview's next nudge.

    On PostgreSQL the plan is computed after the lock: each statement then sees every
    write committed before it, and a writer committing later computes later, so the
    row left is the one computed from every write to the interview."""
    take_turn(conn)
    plan.replan(conn, None if interview_id is None else [interview_id])
    conn.execute(changes.insert().values(interview_id=interview_id,
                                         made_at=now_plus(conn.dialect.name)))
    if conn.dialect.name == "postgresql":
        payload = "*" if interview_id is None else str(interview_id)
        conn.execute(sa.select(sa.func.pg_notify(CHANNEL, payload)))


def newest(conn: Connection) -> int:
    """The id of the newest change (0 when none ever): read before a full scan."""
    found = conn.execute(sa.select(sa.func.max(changes.c.id))).scalar()
    if found is None:  # none left: everything was pruned, or nothing ever written
        pruned = conn.execute(sa.select(meta.c.value).where(meta.c.key == PRUNED_BELOW)).scalar()
        found = int(pruned) - 1 if pruned is not None else 0
    return found


def since(conn: Connection, last: int) -> Changes:
    """The changes after id `last`."""
    pruned = conn.execute(sa.select(meta.c.value).where(meta.c.key == PRUNED_BELOW)).scalar()
    if pruned is not None and last < int(pruned) - 1:
        return Changes(newest(conn), frozenset(), everything=True)
    rows = conn.execute(sa.select(changes.c.id, changes.c.interview_id)
                        .where(changes.c.id > last).order_by(changes.c.id)
                        .limit(MOST + 1)).all()
    if not rows:
        return Changes(last, frozenset(), everything=False)
    if len(rows) > MOST:
        return Changes(newest(conn), frozenset(), everything=True)
    ids = frozenset(row.interview_id for row in rows if row.interview_id is not None)
    everything = any(row.interview_id is None for row in rows)
    return Changes(rows[-1].id, ids, everything)


def moved_since(last: int) -> sa.ColumnElement:
    """Whether `since(conn, last)` could find anything: a change after `last`, or one
    pruned that `last` had not seen. A column, for a look that asks several things in
    one statement (the daemon's rescan, see store.rescan)."""
    pruned = sa.select(meta.c.value).where(meta.c.key == PRUNED_BELOW).scalar_subquery()
    return sa.or_(sa.exists().where(changes.c.id > last),
                  sa.cast(pruned, sa.BigInteger) - 1 > last)


def prune(conn: Connection) -> int:
    """Drop the rows older than KEEP_SECONDS; returns how many went."""
    old = changes.c.made_at < now_plus(conn.dialect.name, -KEEP_SECONDS)
    below = conn.execute(sa.select(sa.func.max(changes.c.id)).where(old)).scalar()
    if below is None:
        return 0
    gone = conn.execute(changes.delete().where(changes.c.id <= below)).rowcount
    updated = conn.execute(meta.update().where(meta.c.key == PRUNED_BELOW)
                           .values(value=str(below + 1)))
    if updated.rowcount == 0:
        conn.execute(meta.insert().values(key=PRUNED_BELOW, value=str(below + 1)))
    return gone
