"""Loading interviews with their whole history, a chunk of ids at a time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from followup.models import Delivery, DeliveryStatus, FollowUp, Interview, Nudge, Record, Status
from followup.store.tables import (
    INTERVIEW_FIELDS,
    deliveries,
    followups,
    interviews,
    nudges,
)


def nudge_id(interview_id: int, number: int) -> sa.ScalarSelect:
    return (sa.select(nudges.c.id)
            .where(nudges.c.interview_id == interview_id, nudges.c.number == number)
            .scalar_subquery())


# --- loading records -------------------------------------------------------------------

CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit


def load_records(conn: Connection, ids: Iterable[int]) -> list[Record]:
    ids = list(ids)
    out: list[Record] = []
    for start in range(0, len(ids), CHUNK):
        out.extend(load_chunk(conn, ids[start:start + CHUNK]))
    return out


def load_chunk(conn: Connection, ids: list[int]) -> list[Record]:
    rows = conn.execute(sa.select(interviews).where(interviews.c.id.in_(ids))).mappings().all()
    sent: dict[int, list[FollowUp]] = {}
    for row in conn.execute(sa.select(followups).where(followups.c.interview_id.in_(ids))):
        sent.setdefault(row.interview_id, []).append(FollowUp(row.number, row.sent_at, row.note))
    fired = load_nudges(conn, ids)
    order = {interview_id: i for i, interview_id in enumerate(ids)}
    records = [
        Record(
            interview=interview_from_row(row),
            followups=tuple(sorted(sent.get(row["id"], []), key=lambda f: f.number)),
            nudges=tuple(sorted(fired.get(row["id"], []), key=lambda n: n.number)),
        )
        for row in rows
    ]
    return sorted(records, key=lambda r: order[r.interview.id])


def load_nudges(conn: Connection, ids: list[int]) -> dict[int, list[Nudge]]:
    query = (
        sa.select(nudges.c.id, nudges.c.interview_id, nudges.c.number, nudges.c.fired_at,
                  deliveries.c.channel, deliveries.c.status, deliveries.c.attempts,
                  deliveries.c.delivered_at, deliveries.c.error, deliveries.c.next_attempt_at)
        .outerjoin(deliveries, deliveries.c.nudge_id == nudges.c.id)
        .where(nudges.c.interview_id.in_(ids))
        .order_by(nudges.c.id, deliveries.c.channel)
    )
    grouped: dict[int, tuple[int, int, datetime, list[Delivery]]] = {}
    for row in conn.execute(query):
        entry = grouped.setdefault(row.id, (row.interview_id, row.number, row.fired_at, []))
        if row.channel is not None:
            entry[3].append(Delivery(row.channel, DeliveryStatus(row.status), row.attempts,
                                     row.delivered_at, row.error, row.next_attempt_at))
    out: dict[int, list[Nudge]] = {}
    for interview_id, number, fired_at, found in grouped.values():
        out.setdefault(interview_id, []).append(Nudge(number, fired_at, tuple(found)))
    return out


def interview_from_row(row: Any) -> Interview:
    values = {name: row[name] for name in INTERVIEW_FIELDS}
    values["status"] = Status(values["status"])
    if isinstance(values["reply_by"], datetime):  # some drivers give datetimes for DATE
        values["reply_by"] = values["reply_by"].date()
    return Interview(id=row["id"], **values)


def touch(conn: Connection, interview_id: int, now: datetime) -> None:
    conn.execute(interviews.update().where(interviews.c.id == interview_id)
                 .values(updated_at=now))
