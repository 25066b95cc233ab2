"""Writers that must take turns on PostgreSQL: those appending to the change log
(see `changes`) and those computing the stored plan (see `plan`). An advisory lock,
held to the end of the transaction; SQLite has one writer at a time already."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

LOCK_KEY = 0x666F6C6C6F7770  # the advisory lock that orders appends ("followp")


def take_turn(conn: Connection) -> None:
    """Wait for the writers ahead, in the caller's write transaction (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_KEY)))
