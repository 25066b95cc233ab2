"""What every part of the Store shares: the engine, the two kinds of transaction,
and the end of a delivery's lease on the database's clock.

The Store's parts (interviews.py, meta.py, claims.py, deliveries.py,
sharing.py) each subclass `Transactions`; `Store` in __init__.py combines them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from followup.store.dbtime import now_plus
from followup.store.engine import database_errors

LEASE_SECONDS = 30  # how long a delivery's owner holds it without renewing (database clock)


class Transactions:
    """A database engine, and transactions on it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lease_seconds: float = LEASE_SECONDS  # the daemon sets its configured lease

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction that takes the write lock at once (BEGIN IMMEDIATE on SQLite)."""
        with database_errors(), self.engine.connect() as conn:
            conn.execution_options(write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with database_errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _standalone(self, write: bool) -> Iterator[Connection]:
        """Statements that each stand alone: on PostgreSQL in autocommit, so no BEGIN
        and no COMMIT (a round trip each, on which the caller sleeps); on SQLite, where
        they cost nothing, a transaction as `_write` or `_read`."""
        if self.engine.dialect.name != "postgresql":
            with self._write() if write else self._read() as conn:
                yield conn
            return
        with database_errors(), self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            with conn.begin():
                yield conn

    def _lease(self, conn: Connection) -> sa.ColumnElement:
        """When a lease taken or renewed now ends (claims, takes and renewals set it)."""
        return now_plus(conn.dialect.name, self.lease_seconds)
