"""Loading interviews with their history: a few ids, or every one in some statuses.

This is the hot path of `list`, `due` and the daemon's scans, so it reads
timestamps raw and parses them with `datetime.fromisoformat` (about five times
faster than the generic type processing), loads a whole status selection in
three queries rather than id by id, and leaves out the deliveries unless asked.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from followup.models import (
    Counted,
    Delivery,
    DeliveryStatus,
    FollowUp,
    HeardVia,
    Interview,
    Nudge,
    Record,
    Source,
    Status,
)
from followup.store.tables import deliveries, followups, interviews, nudges

CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit


def nudge_id(interview_id: int, number: int) -> sa.ScalarSelect:
    return (sa.select(nudges.c.id)
            .where(nudges.c.interview_id == interview_id, nudges.c.number == number)
            .scalar_subquery())


def load_records(conn: Connection, ids: Iterable[int], with_deliveries: bool = True
                 ) -> list[Record]:
    """The records of these interviews, in this order (missing ones left out)."""
    ids = list(ids)
    found: dict[int, Record] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        found.update((r.interview.id, r) for r in _load(
            conn, interviews.c.id.in_(chunk), with_deliveries))
    return [found[i] for i in ids if i in found]


def load_by_status(conn: Connection, statuses: Collection[Status] | None,
                   with_deliveries: bool = False, below: int | None = None) -> list[Record]:
    """Every record in these statuses (all when None), by interview time; with
    `below`, only those with fewer than that many follow-ups sent and nudges fired,
    or snoozed (the others can have no next nudge: the rules' cap, applied in SQL)."""
    where = (sa.true() if statuses is None
             else interviews.c.status.in_([str(s) for s in statuses]))
    if below is not None:
        # A snoozed interview can have its last nudge come again (see rules.next_nudge).
        room = sa.and_(count_of(followups) < below, count_of(nudges) < below)
        where = sa.and_(where, sa.or_(room, interviews.c.snoozed_until.is_not(None)))
    records = _load(conn, where, with_deliveries)
    return sorted(records, key=lambda r: (r.interview.interview_at, r.interview.id))


def count_of(table: sa.Table) -> Any:
    """How many rows of `table` (follow-ups, nudges) the interview has."""
    rows = table.alias()
    return (sa.select(sa.func.count()).select_from(rows)
            .where(rows.c.interview_id == interviews.c.id)
            .correlate(interviews).scalar_subquery())


def _load(conn: Connection, where: Any, with_deliveries: bool) -> list[Record]:
    rows = conn.execute(sa.select(*INTERVIEW_COLUMNS).where(where)).all()
    sent: dict[int, list[FollowUp]] = {}
    query = (sa.select(followups.c.interview_id, followups.c.number, _raw(followups.c.sent_at),
                       followups.c.note)
             .join(interviews, interviews.c.id == followups.c.interview_id).where(where)
             .order_by(followups.c.number))
    for interview_id, number, sent_at, note in conn.execute(query):
        sent.setdefault(interview_id, []).append(FollowUp(number, parse_utc(sent_at), note))
    fired = _load_nudges(conn, where, with_deliveries)
    return [Record(interview=interview_of(row), followups=tuple(sent.get(row.id, ())),
                   nudges=tuple(fired.get(row.id, ()))) for row in rows]


def _load_nudges(conn: Connection, where: Any, with_deliveries: bool
                 ) -> dict[int, list[Nudge]]:
    query = (sa.select(nudges.c.id, nudges.c.interview_id, nudges.c.number,
                       _raw(nudges.c.fired_at))
             .join(interviews, interviews.c.id == nudges.c.interview_id).where(where)
             .order_by(nudges.c.number))
    found = {row.id: (row.interview_id, row.number, parse_utc(row.fired_at), [], None, True)
             for row in conn.execute(query)}
    if found:
        for nudge, reached_at, unsettled in conn.execute(_reach_query(where)):
            interview_id, number, fired_at, done, _, _ = found[nudge]
            found[nudge] = (interview_id, number, fired_at, done, parse_utc(reached_at),
                            not unsettled)
    if with_deliveries and found:
        query = (sa.select(deliveries.c.nudge_id, deliveries.c.channel, deliveries.c.status,
                           deliveries.c.attempts, _raw(deliveries.c.delivered_at),
                           deliveries.c.error, _raw(deliveries.c.next_attempt_at))
                 .join(nudges, nudges.c.id == deliveries.c.nudge_id)
                 .join(interviews, interviews.c.id == nudges.c.interview_id)
                 .where(where).order_by(deliveries.c.channel))
        for row in conn.execute(query):
            found[row.nudge_id][3].append(Delivery(
                row.channel, DeliveryStatus(row.status), row.attempts,
                parse_utc(row.delivered_at), row.error, parse_utc(row.next_attempt_at)))
    out: dict[int, list[Nudge]] = {}
    for interview_id, number, fired_at, done, reached_at, settled in found.values():
        out.setdefault(interview_id, []).append(
            Nudge(number, fired_at, tuple(done), reached_at, settled))
    return out


def _reach_query(where: Any) -> sa.Select:
    """Per nudge with deliveries: when it first reached the user (its earliest delivered
    delivery, raw), and how many of its deliveries are still under way. One grouped
    pass over the deliveries by nudge (no filter on their status, which would lead the
    planner to the status index and a scan per nudge)."""
    delivered = deliveries.c.status == str(DeliveryStatus.DELIVERED)
    under_way = deliveries.c.status.in_([str(s) for s in DeliveryStatus if not s.final])
    reached = sa.func.min(sa.case((delivered, deliveries.c.delivered_at)))
    return (sa.select(deliveries.c.nudge_id, sa.type_coerce(reached, sa.String()),
                      sa.func.sum(sa.case((under_way, 1), else_=0)))
            .join(nudges, nudges.c.id == deliveries.c.nudge_id)
            .join(interviews, interviews.c.id == nudges.c.interview_id)
            .where(where).group_by(deliveries.c.nudge_id))


# --- rows to models ----------------------------------------------------------------------


def _raw(column: sa.Column) -> Any:
    """The column as the driver gives it (text on SQLite), parsed by `parse_utc`/`_date`."""
    return sa.type_coerce(column, sa.String()).label(column.name)


INTERVIEW_COLUMNS = (
    interviews.c.id, interviews.c.company, interviews.c.role, interviews.c.interviewer,
    interviews.c.email, interviews.c.notes, _raw(interviews.c.interview_at),
    _raw(interviews.c.reply_by), interviews.c.status, interviews.c.outcome,
    _raw(interviews.c.snoozed_until), interviews.c.topics, interviews.c.domains,
    interviews.c.source, interviews.c.heard_via, interviews.c.heard_message,
    interviews.c.event_uid, interviews.c.event_recurrence_id, interviews.c.zone,
    interviews.c.language,
)


# The enums by stored value: a dict lookup is a tenth of an Enum call, and a scan of
# 100,000 interviews makes two per row.
_STATUS = {str(s): s for s in Status}
_SOURCE = {str(s): s for s in Source}
_HEARD_VIA = {str(h): h for h in HeardVia}


def interview_of(row: Any) -> Interview:
    # By position (in INTERVIEW_COLUMNS' order): a Row's attributes cost a lookup each.
    (id_, company, role, interviewer, email, notes, interview_at, reply_by, status, outcome,
     snoozed_until, topics, domains, source, heard_via, heard_message, event_uid,
     event_recurrence_id, zone, language) = row
    return Interview(
        id=id_, company=company, role=role, interview_at=parse_utc(interview_at),
        interviewer=interviewer, email=email, notes=notes, reply_by=_date(reply_by),
        status=_STATUS[status], outcome=outcome, snoozed_until=parse_utc(snoozed_until),
        topics=topics, domains=tuple(domains.split()), source=_SOURCE[source],
        heard_via=_HEARD_VIA[heard_via] if heard_via else None,
        heard_message=heard_message, event_uid=event_uid,
        event_recurrence_id=event_recurrence_id, zone=zone, language=language,
    )


def counted_columns() -> tuple[tuple, Callable[[Any], Counted]]:
    """The columns of an interview and its follow-up and nudge counts, and how to make
    a Counted of a row of them."""
    def counted(row: Any) -> Counted:
        return Counted(interview_of(row[:-2]), row[-2], row[-1])

    return (*INTERVIEW_COLUMNS, count_of(followups), count_of(nudges)), counted


def parse_utc(value: str | datetime | None) -> datetime | None:
    """A stored timestamp (naive UTC, as text or a datetime) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) in NAIVE_LENGTHS:
        return datetime.fromisoformat(value + "+00:00")  # 7 times faster than .replace
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# "YYYY-MM-DD HH:MM:SS" and with ".ffffff": how SQLite's DateTime stores a naive
# timestamp (a text with an offset never has these lengths).
NAIVE_LENGTHS = (19, 26)


def _date(value: str | date | None) -> date | None:
    if value is None or type(value) is date:
        return value
    if isinstance(value, datetime):  # some drivers give datetimes for DATE
        return value.date()
    return date.fromisoformat(value)


def touch(conn: Connection, interview_id: int, now: datetime) -> None:
    conn.execute(interviews.update().where(interviews.c.id == interview_id)
                 .values(updated_at=now))
