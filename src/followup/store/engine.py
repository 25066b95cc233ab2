"""Opening a database: SQLite made private and safe for two processes, and migrations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from followup.errors import UserError

SCHEMA_HEAD = "0010"  # the newest migration in migrations/versions
BUSY_TIMEOUT_MS = 10_000
MIGRATION_LOCK = 0x666F6C6C6F776D  # PostgreSQL advisory lock held while migrating


@contextmanager
def database_errors() -> Iterator[None]:
    """The database could not be used (locked past the busy timeout, unreadable)."""
    try:
        yield
    except OperationalError as error:
        raise UserError(f"database error: {error_reason(error)}") from None


class Unreachable(UserError):
    """The database server could not be reached or refused the login (a daemon waits)."""


def error_reason(error: Exception) -> str:
    return str(getattr(error, "orig", error)).splitlines()[0]


# --- PostgreSQL --------------------------------------------------------------------------


def postgresql_engine(url: sa.URL) -> Engine:
    """An engine for PostgreSQL through psycopg 3.

    The password comes from ~/.pgpass or the service file (libpq reads them);
    a connection attempt gives up after CONNECT_TIMEOUT seconds, and TCP
    keepalives notice a server that vanished (a machine switched off).
    """
    if url.drivername == "postgresql":  # no driver named: ours, not SQLAlchemy's default
        url = url.set(drivername="postgresql+psycopg")
    given = set(url.query)
    options = {key: value for key, value in POSTGRESQL_OPTIONS.items() if key not in given}
    try:
        return sa.create_engine(url, pool_pre_ping=True, connect_args=options)
    except ImportError:
        raise UserError("PostgreSQL needs psycopg 3: pip install 'followup[postgres]'") from None


POSTGRESQL_OPTIONS = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30,
                      "keepalives_interval": 10, "keepalives_count": 3,
                      "application_name": "followup"}


# --- SQLite ------------------------------------------------------------------------------


def sqlite_engine(url: sa.URL) -> Engine:
    """An engine for a SQLite file made private to the user, in WAL mode.

    The folder is created 0700 and the file 0600 before SQLite opens it (SQLite
    gives its -wal and -shm files the same permissions). The driver's own
    transaction handling is turned off so that `_write` can say BEGIN IMMEDIATE.
    """
    if url.database and url.database != ":memory:":
        private_file(Path(url.database))
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def private_file(path: Path) -> None:
    path = path.expanduser()
    folder = path.parent
    if not folder.exists():
        try:
            folder.mkdir(mode=0o700, parents=True)
        except OSError as error:
            raise UserError(f"cannot create the database folder {folder}: "
                            f"{error.strerror}") from None
    if not path.exists():
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as error:
            raise UserError(f"cannot create the database {path}: {error.strerror}") from None


@contextmanager
def first_open_lock(url: sa.URL) -> Iterator[None]:
    """Hold an exclusive lock on `<database>-lock` while opening and migrating a SQLite
    file, so that processes opening a fresh database at once (the daemon starting
    while the CLI adds) take turns: the first creates the tables and switches to
    WAL, the others find it done. The lock file sits beside the -wal and -shm
    files; a separate file, because closing a descriptor of the database itself
    would drop SQLite's own locks."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield
        return
    import fcntl

    path = Path(url.database).expanduser()
    lock = path.with_name(path.name + "-lock")
    try:
        descriptor = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError:  # a read-only folder, say: go on without it
        yield
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


# --- migrations ---------------------------------------------------------------------------


def current_revision(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def alembic_config(connection: Connection | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "followup.store:migrations")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision` (all of them by default)."""
    from alembic import command

    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            # Recreating a table must not cascade into its children; the pragma only
            # takes effect outside a transaction, so on the raw connection, first.
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")
        try:
            conn.execution_options(write=True)
            if engine.dialect.name == "postgresql":
                # Two daemons starting together on a new database take turns (SQLite's
                # BEGIN IMMEDIATE does this there); the second then finds nothing to do.
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
            command.upgrade(alembic_config(conn), revision)
            conn.commit()
        finally:
            if sqlite:
                conn.rollback()
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")
