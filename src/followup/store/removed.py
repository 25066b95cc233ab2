"""The calendar events whose interview the user removed (`followup rm`): an import
skips them ("removed by you") instead of bringing the interview back."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from followup.models import Source
from followup.sources.calendar.events import EventKey
from followup.store.tables import interviews, removed_events
from followup.store.transactions import Transactions


def remember_removed_event(conn: Connection, interview_id: int) -> None:
    """In the delete's transaction: remember the event of an imported interview."""
    row = conn.execute(sa.select(interviews.c.source, interviews.c.event_uid,
                                 interviews.c.event_recurrence_id)
                       .where(interviews.c.id == interview_id)).first()
    if row is None or row[0] != str(Source.CALENDAR) or not row[1]:
        return
    key = {"event_uid": row[1], "event_recurrence_id": row[2] or ""}
    known = conn.execute(sa.select(sa.func.count()).select_from(removed_events).where(
        removed_events.c.event_uid == key["event_uid"],
        removed_events.c.event_recurrence_id == key["event_recurrence_id"])).scalar()
    if not known:
        conn.execute(removed_events.insert().values(**key))


def removed_keys(store: Transactions) -> set[EventKey]:
    """Every event whose interview the user removed."""
    with store._read() as conn:
        rows = conn.execute(sa.select(removed_events.c.event_uid,
                                      removed_events.c.event_recurrence_id)).all()
    return {EventKey(uid, rid or None) for uid, rid in rows}
