"""Who delivers what: the daemons using one database, for `service status` and
for the claim (which leaves a delivery waiting for each channel that another
daemon has enabled: the laptop's desktop waits for the laptop).

One row per daemon process, named by its identity (`host/pid/start`). A
daemon's `place` is its machine and configuration: a restart replaces the
rows of earlier runs at the same place, so a channel disabled there stops
being waited for. Heartbeats are on the database's clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from followup.store.dbtime import as_utc, database_now, now_plus
from followup.store.tables import daemons

REMEMBERED_SECONDS = 30 * 86400  # channels of a daemon silent longer than this are not waited for


@dataclass(frozen=True, slots=True)
class DaemonInfo:
    """One daemon as the database knows it; times are aware UTC."""

    owner: str
    host: str
    pid: int
    channels: tuple[str, ...]
    since: datetime
    heartbeat: datetime
    stopped_at: datetime | None


def register(conn: Connection, owner: str, host: str, pid: int, place: str,
             channels: tuple[str, ...], since: datetime,
             alive: Callable[[str], bool] = lambda owner: False) -> None:
    """Record a daemon that starts (or reloads), replacing earlier runs at its place: the
    rows there whose process is gone (`alive` says). A second daemon running at the same
    place (another $XDG_RUNTIME_DIR, say) keeps its row: both show."""
    at_place = conn.execute(sa.select(daemons.c.owner).where(daemons.c.place == place))
    gone = [other for (other,) in at_place if other != owner and not alive(other)]
    conn.execute(daemons.delete().where(sa.or_(daemons.c.owner == owner,
                                               daemons.c.owner.in_(gone))))
    conn.execute(daemons.insert().values(
        owner=owner, host=host, pid=pid, place=place, channels=" ".join(channels),
        since=since, heartbeat=now_plus(conn.dialect.name), stopped_at=None))


def heartbeat(conn: Connection, owner: str) -> bool:
    """Say this daemon is alive; False when its row is gone (then register again)."""
    return conn.execute(daemons.update().where(daemons.c.owner == owner)
                        .values(heartbeat=now_plus(conn.dialect.name),
                                stopped_at=None)).rowcount == 1


def stopped(conn: Connection, owner: str) -> None:
    """A daemon that stops cleanly keeps its row (its channels are still waited for)."""
    conn.execute(daemons.update().where(daemons.c.owner == owner)
                 .values(stopped_at=now_plus(conn.dialect.name)))


def remembered_channels(conn: Connection) -> set[str]:
    """The channels of every daemon heard from within REMEMBERED_SECONDS."""
    recent = daemons.c.heartbeat >= now_plus(conn.dialect.name, -REMEMBERED_SECONDS)
    found: set[str] = set()
    for (names,) in conn.execute(sa.select(daemons.c.channels).where(recent)):
        found.update(names.split())
    return found


def listing(conn: Connection) -> tuple[datetime, list[DaemonInfo]]:
    """The database's time now, and every daemon, the most recently heard first."""
    rows = conn.execute(sa.select(daemons).order_by(daemons.c.heartbeat.desc())).all()
    return database_now(conn), [
        DaemonInfo(row.owner, row.host, row.pid, tuple(row.channels.split()), row.since,
                   as_utc(row.heartbeat), as_utc(row.stopped_at)) for row in rows]
