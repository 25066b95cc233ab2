"""The daemon's periodic look at the database, as one transaction.

Every `rescan_seconds` a daemon says it is alive (the heartbeat, when due),
and asks what changed after the last change it applied and which deliveries
another daemon took and let lapse. Idle, nothing changed and nothing lapsed:
so one statement asks both questions, and the reads that answer them run
only when it says yes. On PostgreSQL each statement, and each BEGIN and
COMMIT, is a round trip on which the daemon sleeps: an idle rescan used to
cost fourteen (three transactions, each with the pool's ping), it now costs
the ping and four (BEGIN, the heartbeat, the question, COMMIT), or three.
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
    """The rescan's transaction."""

    def look_around(self, last: int, owner: str | None = None) -> Look:
        """The heartbeat of `owner` (None: not due), the changes after change `last`
        (as `changed_since`), and the deliveries whose lease lapsed (as
        `undelivered(lapsed_only=True)`), in one transaction."""
        with self._write() if owner else self._read() as conn:
            known = daemons.heartbeat(conn, owner) if owner else True
            dialect = conn.dialect.name
            moved, lapsed = conn.execute(sa.select(
                change_log.moved_since(last),
                sa.exists().where(deliveries.c.status.in_(UNFINISHED),
                                  held_and_lapsed(dialect)))).one()
            found = (changed_since(conn, last) if moved
                     else (change_log.Changes(last, frozenset(), False), [], []))
            taken = undelivered(conn, None, lapsed_only=True) if lapsed else []
        return Look(found, taken, known)
