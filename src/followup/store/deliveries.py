"""Each channel's delivery of a claimed nudge: taking one for an attempt,
recording the attempt, the leases that say which daemon holds which, and what
is still undelivered."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from followup.models import Delivery, DeliveryStatus, Record
from followup.store import changes as change_log
from followup.store.dbtime import lapsed
from followup.store.records import load_records, nudge_id
from followup.store.tables import deliveries, interviews, nudges
from followup.store.transactions import Transactions

UNFINISHED = [str(s) for s in DeliveryStatus if not s.final]


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """A channel's delivery of a claimed nudge that has not succeeded yet."""

    record: Record
    number: int
    channel: str
    attempts: int
    next_attempt_at: datetime | None
    owner: str | None
    attempt: str | None = None  # the token of the attempt holding it
    lapsed: bool = True  # nobody holds it, or its holder's lease lapsed (database clock)


class Deliveries(Transactions):
    """The deliveries table: attempts, leases, what is undelivered."""

    def take_delivery(self, interview_id: int, number: int, channel: str, owner: str,
                      now: datetime, attempt: str | None = None) -> bool:
        """Take one unfinished delivery for another attempt (token `attempt`), if free.

        A compare-and-set: succeeds only while the delivery is pending or
        retrying, is held by nobody or by an owner whose lease lapsed (on the
        database's clock; whoever the owner is, this process too), and its next
        attempt is due. So two attempts never hold the same delivery at once.
        """
        with self._write() as conn:
            result = conn.execute(
                deliveries.update()
                .where(deliveries.c.nudge_id == nudge_id(interview_id, number),
                       deliveries.c.channel == channel,
                       deliveries.c.status.in_(UNFINISHED),
                       lapsed(conn.dialect.name),
                       sa.or_(deliveries.c.next_attempt_at.is_(None),
                              deliveries.c.next_attempt_at <= now))
                .values(owner=owner, attempt=attempt, lease_until=self._lease(conn)))
            return result.rowcount == 1

    def record_delivery(self, interview_id: int, number: int, channel: str,
                        status: DeliveryStatus, now: datetime, error: str | None = None,
                        next_attempt_at: datetime | None = None,
                        attempt: str | None = None,
                        destinations: Collection[str] = ()) -> bool:
        """Record one channel's attempt at one nudge, and let go of it. Cancelling
        (the delivery is no longer wanted) is not an attempt and is not counted.

        With `attempt` (its token), a fence: nothing is recorded, and False returned,
        when the delivery no longer holds that token (its lease lapsed and another
        attempt took it over, here or in another daemon). `destinations` (a channel
        with several) are added to those the delivery already reached.
        """
        attempted = status is not DeliveryStatus.CANCELLED
        values: dict[str, Any] = {
            "status": str(status), "error": error, "next_attempt_at": next_attempt_at,
            "owner": None, "lease_until": None, "attempt": None,
            "attempts": deliveries.c.attempts + (1 if attempted else 0),
        }
        fence = sa.true() if attempt is None else deliveries.c.attempt == attempt
        if status is DeliveryStatus.DELIVERED:
            values["delivered_at"] = now
        which = sa.and_(deliveries.c.nudge_id == nudge_id(interview_id, number),
                        deliveries.c.channel == channel)
        with self._write() as conn:
            if destinations:
                before = conn.execute(sa.select(deliveries.c.destinations).where(
                    which, fence)).scalar()
                values["destinations"] = json.dumps(
                    sorted(set(json.loads(before or "[]")) | set(destinations)))
            done = conn.execute(deliveries.update().where(which, fence)
                                .values(**values)).rowcount == 1
            if done and status.final:
                # When the nudge reached the user decides the next window (rules): the
                # plan of this interview moves with it.
                change_log.note(conn, interview_id)
            return done

    def reached(self, interview_id: int, number: int, channel: str) -> frozenset[str]:
        """The destinations a delivery already reached (a channel with several)."""
        with self._read() as conn:
            found = conn.execute(sa.select(deliveries.c.destinations).where(
                deliveries.c.nudge_id == nudge_id(interview_id, number),
                deliveries.c.channel == channel)).scalar()
        return frozenset(json.loads(found or "[]"))

    def undelivered(self, interview_ids: Iterable[int] | None = None,
                    lapsed_only: bool = False) -> list[PendingDelivery]:
        """Every delivery not finished (pending or retrying), with its interview's
        record; only those of some interviews, or only those whose owner's lease lapsed."""
        with self._read() as conn:
            return undelivered(conn, interview_ids, lapsed_only)

    def last_deliveries(self) -> list[tuple[str, Delivery, int, int, str]]:
        """Each channel's most recent delivery: (channel, delivery, interview id,
        nudge number, company), newest claim first."""
        latest = (sa.select(sa.func.max(deliveries.c.id))
                  .group_by(deliveries.c.channel).scalar_subquery())
        query = (
            sa.select(deliveries, nudges.c.interview_id, nudges.c.number, interviews.c.company)
            .join(nudges, deliveries.c.nudge_id == nudges.c.id)
            .join(interviews, nudges.c.interview_id == interviews.c.id)
            .where(deliveries.c.id.in_(latest))
            .order_by(deliveries.c.id.desc())
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [(row.channel,
                 Delivery(row.channel, DeliveryStatus(row.status), row.attempts,
                          row.delivered_at, row.error, row.next_attempt_at),
                 row.interview_id, row.number, row.company) for row in rows]

    def renew_leases(self, owner: str, attempts: Collection[str]) -> int:
        """Extend the lease of the deliveries `owner` holds under these attempts'
        tokens (the attempts under way); returns how many."""
        if not attempts:
            return 0
        with self._write() as conn:
            return conn.execute(deliveries.update()
                                .where(deliveries.c.owner == owner,
                                       deliveries.c.attempt.in_(list(attempts)),
                                       deliveries.c.status.in_(UNFINISHED))
                                .values(lease_until=self._lease(conn))).rowcount

    def end_attempts(self, attempts: Collection[str]) -> None:
        """These attempts ended without a record (a database error): their leases end
        now, so that the next rescan takes the deliveries up again."""
        if not attempts:
            return
        with self._write() as conn:
            conn.execute(deliveries.update().where(deliveries.c.attempt.in_(list(attempts)))
                         .values(lease_until=None))

    def end_leases(self, owner: str) -> None:
        """The owner is known to be dead (a process on this machine): its leases end now."""
        with self._write() as conn:
            conn.execute(deliveries.update().where(deliveries.c.owner == owner)
                         .values(lease_until=None))



def undelivered(conn: Connection, interview_ids: Iterable[int] | None = None,
                lapsed_only: bool = False) -> list[PendingDelivery]:
    """`Deliveries.undelivered`, inside the caller's transaction."""
    dialect = conn.dialect.name
    query = (
        sa.select(nudges.c.interview_id, nudges.c.number, deliveries.c.channel,
                  deliveries.c.attempts, deliveries.c.next_attempt_at, deliveries.c.owner,
                  deliveries.c.attempt,
                  sa.case((lapsed(dialect), True), else_=False))
        .join(deliveries, deliveries.c.nudge_id == nudges.c.id)
        .where(deliveries.c.status.in_(UNFINISHED))
    )
    if interview_ids is not None:
        query = query.where(nudges.c.interview_id.in_(list(interview_ids)))
    if lapsed_only:
        query = query.where(held_and_lapsed(dialect))
    rows = conn.execute(query).all()
    records = {r.interview.id: r for r in load_records(conn, {row[0] for row in rows})}
    return [PendingDelivery(records[row[0]], *row[1:7], bool(row[7]))
            for row in rows if row[0] in records]


def held_and_lapsed(dialect: str) -> sa.ColumnElement:
    """A delivery some daemon took whose lease lapsed: another may take it over."""
    return sa.and_(deliveries.c.owner.is_not(None), lapsed(dialect))
