"""The daemon's periodic look at the database: idle, one statement and the heartbeat.

Every `rescan_seconds` a daemon says it is alive (the heartbeat, when due),
and asks what changed after the last change it applied and which deliveries
another daemon took and let lapse. Idle, nothing changed and nothing lapsed:
so one statement asks both questions, and the reads that answer them run
only when it says yes. On PostgreSQL each statement, and each BEGIN and
COMMIT, is a round trip on which the daemon sleeps: an idle rescan used to
cost fourteen (three transactions, each with the pool's ping); now the ping,
the heartbeat and the question, each standing alone (autocommit: no BEGIN, no
COMMIT). When the question says yes, the answers are read in a transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from followup.models import Record
from followup.store import changes as change_log
from followup.store import daemons
from followup.store.deliveries import (
    UNFINISHED,
    PendingDelivery,
    held_and_lapsed,
    undelivered,
)
from followup.store.sharing import Sharing, changed_since
from followup.store.tables import deliveries


@dataclass(frozen=True, slots=True)
class Look:
    """What a rescan found."""

    changes: tuple[change_log.Changes, list[Record], list[PendingDelivery]]
    lapsed: list[PendingDelivery]  # deliveries another daemon took and let lapse
    known: bool  # False when the heartbeat found no row of ours: register again


class Rescans(Sharing):
    """The rescan's look."""

    def look_around(self, last: int, owner: str | None = None) -> Look:
        """The heartbeat of `owner` (None: not due), the changes after change `last`
        (as `changed_since`), and the deliveries whose lease lapsed (as
        `undelivered(lapsed_only=True)`)."""
        with self._standalone(write=owner is not None) as conn:
            known = daemons.heartbeat(conn, owner) if owner else True
            moved, lapsed = conn.execute(sa.select(
                change_log.moved_since(last),
                sa.exists().where(deliveries.c.status.in_(UNFINISHED),
                                  held_and_lapsed(conn.dialect.name)))).one()
        nothing = (change_log.Changes(last, frozenset(), False), [], [])
        if not (moved or lapsed):
            return Look(nothing, [], known)
        with self._read() as conn:  # the answers, in one snapshot
            found = changed_since(conn, last) if moved else nothing
            taken = undelivered(conn, None, lapsed_only=True) if lapsed else []
        return Look(found, taken, known)
