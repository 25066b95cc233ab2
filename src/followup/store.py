"""The database: the only module that imports SQLAlchemy.

The store keeps interviews, the follow-ups sent, the nudges the daemon claimed
and each channel's delivery of them. Every method is one transaction. Writes
that read first (claiming a nudge) start with BEGIN IMMEDIATE on SQLite, so
the check and the write are atomic between processes. The schema is created
and upgraded by the Alembic migrations in `migrations/`, applied on open.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.types import TypeDecorator

from followup.errors import NotFound, UserError
from followup.models import (
    Delivery,
    DeliveryStatus,
    FollowUp,
    Interview,
    Nudge,
    Record,
    Status,
)

SCHEMA_HEAD = "0002"  # the newest migration in migrations/versions
BUSY_TIMEOUT_MS = 10_000


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = sa.MetaData()

interviews = sa.Table(
    "interviews", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("company", sa.String(1000), nullable=False),
    sa.Column("role", sa.String(1000), nullable=False),
    sa.Column("interviewer", sa.String(1000), nullable=False, server_default=""),
    sa.Column("email", sa.String(1000), nullable=False, server_default=""),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("interview_at", UTCDateTime, nullable=False),
    sa.Column("reply_by", sa.Date, nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="waiting", index=True),
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("snoozed_until", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

followups = sa.Table(
    "followups", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("interview_id", sa.Integer, sa.ForeignKey("interviews.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("note", sa.String(1000), nullable=False, server_default=""),
    sa.UniqueConstraint("interview_id", "number", name="uq_followup_number"),
)

nudges = sa.Table(
    "nudges", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("interview_id", sa.Integer, sa.ForeignKey("interviews.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("opens_at", UTCDateTime, nullable=False),
    sa.Column("fired_at", UTCDateTime, nullable=False, index=True),
    # The claim: one nudge per interview and number, whichever daemon gets there first.
    sa.UniqueConstraint("interview_id", "number", name="uq_nudge_number"),
)

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("nudge_id", sa.Integer, sa.ForeignKey("nudges.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    # The daemon process delivering it right now; NULL between attempts.
    sa.Column("owner", sa.String(200), nullable=True),
    sa.UniqueConstraint("nudge_id", "channel", name="uq_delivery_channel"),
    sa.Index("ix_deliveries_status", "status", "next_attempt_at"),
)

INTERVIEW_FIELDS = tuple(f.name for f in fields(Interview) if f.name != "id")


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """A channel's delivery of a claimed nudge that has not succeeded yet."""

    record: Record
    number: int
    channel: str
    attempts: int
    next_attempt_at: datetime | None
    owner: str | None


class Store:
    """The interview database. Build with `Store.open(url)`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._watch: Any = None

    # --- opening ---------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, migrate: bool = True) -> Store:
        """Open (creating and upgrading as needed) the database at a SQLAlchemy URL.

        Raises UserError when it cannot be opened.
        """
        try:
            sa_url = sa.engine.make_url(url)
        except sa.exc.ArgumentError:
            raise UserError(f"the database URL {url!r} is not valid") from None
        if sa_url.get_backend_name() == "sqlite":
            engine = _sqlite_engine(sa_url)
        else:
            try:
                engine = sa.create_engine(sa_url, pool_pre_ping=True)
            except Exception as error:  # an unknown dialect or missing driver
                raise UserError(f"cannot use the database {sa_url!r}: {error}") from None
        store = cls(engine)
        if migrate:
            store.migrate()
        return store

    def migrate(self) -> None:
        """Bring the schema to the newest migration; cheap when it already is."""
        try:
            with self.engine.connect() as conn:
                if _current_revision(conn) == SCHEMA_HEAD:
                    return
            upgrade(self.engine)
        except OperationalError as error:
            raise UserError(f"cannot open the database: {_reason(error)}") from None

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction that takes the write lock at once (BEGIN IMMEDIATE on SQLite)."""
        with _database_errors(), self.engine.connect() as conn:
            conn.execution_options(write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with _database_errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    # --- interviews ----------------------------------------------------------------------

    def add_interview(self, interview: Interview, now: datetime) -> Interview:
        values = {name: getattr(interview, name) for name in INTERVIEW_FIELDS}
        with self._write() as conn:
            result = conn.execute(
                interviews.insert().values(**values, created_at=now, updated_at=now)
            )
            new_id = result.inserted_primary_key[0]
        return replace(interview, id=new_id)

    def update_interview(self, interview_id: int, changes: dict[str, Any],
                         now: datetime) -> Record:
        """Change the named fields of one interview. Raises NotFound."""
        unknown = set(changes) - set(INTERVIEW_FIELDS)
        if unknown:
            raise ValueError(f"not interview fields: {sorted(unknown)}")
        with self._write() as conn:
            result = conn.execute(
                interviews.update()
                .where(interviews.c.id == interview_id)
                .values(**changes, updated_at=now)
            )
            if result.rowcount == 0:
                raise NotFound(interview_id)
            return _load_records(conn, [interview_id])[0]

    def delete_interview(self, interview_id: int) -> None:
        with self._write() as conn:
            result = conn.execute(interviews.delete().where(interviews.c.id == interview_id))
            if result.rowcount == 0:
                raise NotFound(interview_id)

    def add_followup(self, interview_id: int, sent_at: datetime, note: str,
                     now: datetime) -> Record:
        """Record a follow-up as the next number for the interview. Raises NotFound."""
        with self._write() as conn:
            record = _load_records(conn, [interview_id])
            if not record:
                raise NotFound(interview_id)
            number = record[0].followups_sent + 1
            conn.execute(followups.insert().values(
                interview_id=interview_id, number=number, sent_at=sent_at, note=note))
            _touch(conn, interview_id, now)
            return _load_records(conn, [interview_id])[0]

    def get(self, interview_id: int) -> Record:
        """One interview with its history. Raises NotFound."""
        with self._read() as conn:
            found = _load_records(conn, [interview_id])
        if not found:
            raise NotFound(interview_id)
        return found[0]

    def records(self, statuses: Iterable[Status] | None = None) -> list[Record]:
        """Every interview (or those in the given statuses) with its history, by time."""
        query = sa.select(interviews.c.id).order_by(interviews.c.interview_at, interviews.c.id)
        if statuses is not None:
            query = query.where(interviews.c.status.in_([str(s) for s in statuses]))
        with self._read() as conn:
            ids = list(conn.execute(query).scalars())
            return _load_records(conn, ids)

    # --- the daemon's side ---------------------------------------------------------------

    def claim_nudge(self, interview_id: int, number: int, opens_at: datetime,
                    channels: Iterable[str], now: datetime, owner: str,
                    still_due: Callable[[Record], bool]) -> Record | None:
        """Claim nudge `number` of an interview, with a pending delivery per channel.

        In one write transaction: re-read the interview, ask `still_due` whether
        the rules still want this nudge now, and insert it, its deliveries
        owned by `owner` (the claiming process). Returns the record as it was
        before the claim, or None when the nudge is no longer due or another
        process claimed it first (the unique constraint decides).
        """
        try:
            with self._write() as conn:
                found = _load_records(conn, [interview_id])
                if not found or not still_due(found[0]):
                    return None
                nudge_id = conn.execute(nudges.insert().values(
                    interview_id=interview_id, number=number, opens_at=opens_at,
                    fired_at=now)).inserted_primary_key[0]
                rows = [{"nudge_id": nudge_id, "channel": name, "status": "pending",
                         "attempts": 0, "next_attempt_at": now, "owner": owner}
                        for name in channels]
                if rows:
                    conn.execute(deliveries.insert(), rows)
                return found[0]
        except IntegrityError:
            return None

    def take_delivery(self, interview_id: int, number: int, channel: str, owner: str,
                      now: datetime, previous_owner: str | None = None) -> bool:
        """Take one undelivered delivery for another attempt, if it is still free.

        A compare-and-set: succeeds only while the delivery is not delivered, is
        held by `previous_owner` (None: by nobody; or a process that died), and
        its next attempt is due. So two daemons never attempt the same one.
        """
        owned = (deliveries.c.owner.is_(None) if previous_owner is None
                 else deliveries.c.owner == previous_owner)
        with self._write() as conn:
            result = conn.execute(
                deliveries.update()
                .where(deliveries.c.nudge_id == _nudge_id(interview_id, number),
                       deliveries.c.channel == channel,
                       deliveries.c.status != str(DeliveryStatus.DELIVERED),
                       owned,
                       sa.or_(deliveries.c.next_attempt_at.is_(None),
                              deliveries.c.next_attempt_at <= now))
                .values(owner=owner))
            return result.rowcount == 1

    def record_delivery(self, interview_id: int, number: int, channel: str,
                        status: DeliveryStatus, now: datetime, error: str | None = None,
                        next_attempt_at: datetime | None = None) -> None:
        """Record one channel's attempt at one nudge, and let go of it."""
        values: dict[str, Any] = {
            "status": str(status), "attempts": deliveries.c.attempts + 1,
            "error": error, "next_attempt_at": next_attempt_at, "owner": None,
        }
        if status is DeliveryStatus.DELIVERED:
            values["delivered_at"] = now
        with self._write() as conn:
            conn.execute(deliveries.update()
                         .where(deliveries.c.nudge_id == _nudge_id(interview_id, number),
                                deliveries.c.channel == channel)
                         .values(**values))

    def undelivered(self) -> list[PendingDelivery]:
        """Every delivery not yet done (pending or failed), with its interview's record."""
        query = (
            sa.select(nudges.c.interview_id, nudges.c.number, deliveries.c.channel,
                      deliveries.c.attempts, deliveries.c.next_attempt_at, deliveries.c.owner)
            .join(deliveries, deliveries.c.nudge_id == nudges.c.id)
            .where(deliveries.c.status != str(DeliveryStatus.DELIVERED))
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
            records = {r.interview.id: r for r in _load_records(conn, {row[0] for row in rows})}
        return [PendingDelivery(records[row[0]], *row[1:]) for row in rows if row[0] in records]

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

    def change_token(self) -> int | None:
        """A number that changes when another connection commits (SQLite only).

        Reading it costs microseconds, so a rescan can skip all work when
        nothing changed. None on other databases: rescan every time.
        """
        if self.engine.dialect.name != "sqlite":
            return None
        if self._watch is None:
            # A raw connection in autocommit: no transaction holds a snapshot open.
            self._watch = self.engine.raw_connection()
        cursor = self._watch.cursor()
        try:
            return cursor.execute("PRAGMA data_version").fetchone()[0]
        finally:
            cursor.close()


def _nudge_id(interview_id: int, number: int) -> sa.ScalarSelect:
    return (sa.select(nudges.c.id)
            .where(nudges.c.interview_id == interview_id, nudges.c.number == number)
            .scalar_subquery())


# --- loading records -------------------------------------------------------------------

CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit


def _load_records(conn: Connection, ids: Iterable[int]) -> list[Record]:
    ids = list(ids)
    out: list[Record] = []
    for start in range(0, len(ids), CHUNK):
        out.extend(_load_chunk(conn, ids[start:start + CHUNK]))
    return out


def _load_chunk(conn: Connection, ids: list[int]) -> list[Record]:
    rows = conn.execute(sa.select(interviews).where(interviews.c.id.in_(ids))).mappings().all()
    sent: dict[int, list[FollowUp]] = {}
    for row in conn.execute(sa.select(followups).where(followups.c.interview_id.in_(ids))):
        sent.setdefault(row.interview_id, []).append(FollowUp(row.number, row.sent_at, row.note))
    fired = _load_nudges(conn, ids)
    order = {interview_id: i for i, interview_id in enumerate(ids)}
    records = [
        Record(
            interview=_interview(row),
            followups=tuple(sorted(sent.get(row["id"], []), key=lambda f: f.number)),
            nudges=tuple(sorted(fired.get(row["id"], []), key=lambda n: n.number)),
        )
        for row in rows
    ]
    return sorted(records, key=lambda r: order[r.interview.id])


def _load_nudges(conn: Connection, ids: list[int]) -> dict[int, list[Nudge]]:
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


def _interview(row: Any) -> Interview:
    values = {name: row[name] for name in INTERVIEW_FIELDS}
    values["status"] = Status(values["status"])
    if isinstance(values["reply_by"], datetime):  # some drivers give datetimes for DATE
        values["reply_by"] = values["reply_by"].date()
    return Interview(id=row["id"], **values)


def _touch(conn: Connection, interview_id: int, now: datetime) -> None:
    conn.execute(interviews.update().where(interviews.c.id == interview_id)
                 .values(updated_at=now))


@contextmanager
def _database_errors() -> Iterator[None]:
    """The database could not be used (locked past the busy timeout, unreadable)."""
    try:
        yield
    except OperationalError as error:
        raise UserError(f"database error: {_reason(error)}") from None


def _reason(error: Exception) -> str:
    return str(getattr(error, "orig", error)).splitlines()[0]


# --- SQLite ------------------------------------------------------------------------------


def _sqlite_engine(url: sa.URL) -> Engine:
    """An engine for a SQLite file made private to the user, in WAL mode.

    The folder is created 0700 and the file 0600 before SQLite opens it (SQLite
    gives its -wal and -shm files the same permissions). The driver's own
    transaction handling is turned off so that `_write` can say BEGIN IMMEDIATE.
    """
    if url.database and url.database != ":memory:":
        _private_file(Path(url.database))
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


def _private_file(path: Path) -> None:
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


# --- migrations ---------------------------------------------------------------------------


def _current_revision(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def alembic_config(connection: Connection | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "followup:migrations")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision` (all of them by default)."""
    from alembic import command

    with engine.connect() as conn:
        conn.execution_options(write=True)
        command.upgrade(alembic_config(conn), revision)
        conn.commit()
