"""The database's clock, as SQL: leases and heartbeats are compared with it, never
with a machine's clock, so that clock skew between machines cannot double a
delivery. Values are naive UTC timestamps in the same text form SQLAlchemy
stores on SQLite, so they compare correctly with each other there too.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from followup.store.tables import deliveries


def now_plus(dialect: str, seconds: float = 0) -> sa.ColumnElement:
    """The database's current time plus `seconds`, as a naive UTC timestamp."""
    shift = f"{float(seconds):+.3f}"
    if dialect == "postgresql":
        return sa.literal_column(
            f"((now() AT TIME ZONE 'utc') + interval '{shift} seconds')", sa.DateTime)
    # SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff', as SQLAlchemy writes datetimes there.
    return sa.literal_column(
        f"(strftime('%Y-%m-%d %H:%M:%S', 'now', '{shift} seconds') || "
        f"substr(strftime('%f', 'now', '{shift} seconds'), 3) || '000')", sa.DateTime)


def lapsed(dialect: str) -> sa.ColumnElement:
    """A delivery's lease has lapsed, or was never held, or was ended (NULL: also
    the deliveries owned before leases existed, migration 0008), or nobody owns it."""
    return sa.or_(deliveries.c.owner.is_(None), deliveries.c.lease_until.is_(None),
                  deliveries.c.lease_until < now_plus(dialect))


def database_now(conn: Connection) -> datetime:
    """The database's current time, aware UTC (to say how long ago a heartbeat was)."""
    return as_utc(conn.execute(sa.select(now_plus(conn.dialect.name))).scalar())


def as_utc(value: str | datetime | None) -> datetime | None:
    """A stored naive-UTC timestamp (text on SQLite) as an aware UTC datetime."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC)
