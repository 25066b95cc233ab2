"""The database: the only module that imports SQLAlchemy.

The store keeps interviews, the follow-ups sent, the nudges the daemon claimed
and each channel's delivery of them. Every method is one transaction. Writes
that read first (claiming a nudge) start with BEGIN IMMEDIATE on SQLite, so
the check and the write are atomic between processes. The schema is created
and upgraded by the Alembic migrations in `migrations/`, applied on open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from followup.errors import NotFound, UserError
from followup.models import Delivery, DeliveryStatus, Interview, Record, Status
from followup.store import changes as change_log
from followup.store import daemons
from followup.store.dbtime import now_plus
from followup.store.engine import (
    SCHEMA_HEAD,
    Unreachable,
    alembic_config,
    current_revision,
    database_errors,
    error_reason,
    first_open_lock,
    postgresql_engine,
    require_utf8,
    sqlite_engine,
    upgrade,
)
from followup.store.records import load_by_status, load_records, nudge_id, touch
from followup.store.tables import (
    INTERVIEW_FIELDS,
    UTCDateTime,
    deliveries,
    followups,
    interview_values,
    interviews,
    meta,
    metadata,
    nudges,
)

__all__ = ["SCHEMA_HEAD", "PendingDelivery", "Store", "UTCDateTime", "Unreachable",
           "alembic_config", "metadata", "upgrade"]

LEASE_SECONDS = 30  # how long a delivery's owner holds it without renewing (database clock)


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


class Store:
    """The interview database. Build with `Store.open(url)`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lease_seconds: float = LEASE_SECONDS  # the daemon sets its configured lease

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
            engine = sqlite_engine(sa_url)
        elif sa_url.get_backend_name() == "postgresql":
            engine = postgresql_engine(sa_url)
        else:
            try:
                engine = sa.create_engine(sa_url, pool_pre_ping=True)
            except Exception as error:  # an unknown dialect or missing driver
                raise UserError(f"cannot use the database {sa_url!r}: {error}") from None
        store = cls(engine)
        if migrate:
            with first_open_lock(sa_url):
                store.migrate()
        return store

    def migrate(self) -> None:
        """Bring the schema to the newest migration; cheap when it already is."""
        try:
            with self.engine.connect() as conn:
                require_utf8(conn)
                if current_revision(conn) == SCHEMA_HEAD:
                    return
            upgrade(self.engine)
        except OperationalError as error:
            raise Unreachable(f"cannot open the database: {error_reason(error)}") from None

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

    # --- interviews ----------------------------------------------------------------------

    def add_interview(self, interview: Interview, now: datetime) -> Interview:
        values = interview_values({name: getattr(interview, name) for name in INTERVIEW_FIELDS})
        with self._write() as conn:
            result = conn.execute(
                interviews.insert().values(**values, created_at=now, updated_at=now)
            )
            new_id = result.inserted_primary_key[0]
            change_log.note(conn, new_id)
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
                .values(**interview_values(changes), updated_at=now)
            )
            if result.rowcount == 0:
                raise NotFound(interview_id)
            change_log.note(conn, interview_id)
            return load_records(conn, [interview_id])[0]

    def delete_interview(self, interview_id: int) -> None:
        with self._write() as conn:
            result = conn.execute(interviews.delete().where(interviews.c.id == interview_id))
            if result.rowcount == 0:
                raise NotFound(interview_id)
            change_log.note(conn, interview_id)

    def add_followup(self, interview_id: int, sent_at: datetime, note: str,
                     now: datetime) -> Record:
        """Record a follow-up as the next number for the interview. Raises NotFound."""
        with self._write() as conn:
            record = load_records(conn, [interview_id])
            if not record:
                raise NotFound(interview_id)
            number = record[0].followups_sent + 1
            conn.execute(followups.insert().values(
                interview_id=interview_id, number=number, sent_at=sent_at, note=note))
            touch(conn, interview_id, now)
            change_log.note(conn, interview_id)
            return load_records(conn, [interview_id])[0]

    def remove_last_followup(self, interview_id: int, now: datetime) -> Record:
        """Take back the interview's last recorded follow-up. Raises NotFound, and
        UserError when none is recorded."""
        with self._write() as conn:
            found = load_records(conn, [interview_id])
            if not found:
                raise NotFound(interview_id)
            if not found[0].followups:
                raise UserError(f"no follow-up is recorded for interview {interview_id}: "
                                "there is nothing to take back")
            conn.execute(followups.delete().where(
                followups.c.interview_id == interview_id,
                followups.c.number == found[0].followups[-1].number))
            touch(conn, interview_id, now)
            change_log.note(conn, interview_id)
            return load_records(conn, [interview_id])[0]

    def meta(self, key: str) -> str | None:
        """A fact about the database itself (see `tables.meta`), or None."""
        with self._read() as conn:
            return conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            updated = conn.execute(meta.update().where(meta.c.key == key).values(value=value))
            if updated.rowcount == 0:
                conn.execute(meta.insert().values(key=key, value=value))

    def installation_id(self) -> str:
        """A random id made once per database (in email Message-IDs, say)."""
        import secrets

        found = self.meta("installation_id")  # made once: reading it needs no write
        if found is not None:
            return found
        with self._write() as conn:
            found = conn.execute(sa.select(meta.c.value)
                                 .where(meta.c.key == "installation_id")).scalar()
            if found is None:
                found = secrets.token_hex(8)
                conn.execute(meta.insert().values(key="installation_id", value=found))
            return found

    def get(self, interview_id: int) -> Record:
        """One interview with its history. Raises NotFound."""
        with self._read() as conn:
            found = load_records(conn, [interview_id])
        if not found:
            raise NotFound(interview_id)
        return found[0]

    def records(self, statuses: Iterable[Status] | None = None,
                with_deliveries: bool = False, below: int | None = None) -> list[Record]:
        """Every interview (or those in the given statuses) with its follow-ups and
        nudges, by interview time; each nudge's deliveries only when asked. With
        `below`, only interviews with fewer follow-ups and fewer nudges than that."""
        chosen = None if statuses is None else list(statuses)
        with self._read() as conn:
            return load_by_status(conn, chosen, with_deliveries, below)

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
                found = load_records(conn, [interview_id])
                if not found or not still_due(found[0]):
                    return None
                nudge_id = conn.execute(nudges.insert().values(
                    interview_id=interview_id, number=number, opens_at=opens_at,
                    fired_at=now)).inserted_primary_key[0]
                self._insert_deliveries(conn, nudge_id, list(channels), now, owner)
                change_log.note(conn, interview_id)
                return found[0]
        except IntegrityError:
            return None

    def claim_again(self, interview_id: int, number: int, channels: Iterable[str],
                    now: datetime, owner: str, still_due: Callable[[Record], bool]
                    ) -> Record | None:
        """Claim nudge `number` once more, after the user snoozed it (see
        `rules.next_nudge`): a new delivery per channel, owned by `owner`.

        As safe as the first claim: in one write transaction, re-read the
        interview, ask `still_due`, and move the nudge's `fired_at` to `now` only
        where it still holds the value read (a compare-and-set, so two daemons
        never both succeed, and moving it ends the snooze's "once"). Refused while
        any delivery of the nudge is being attempted. Returns the record as it was
        before, or None.
        """
        with self._write() as conn:
            found = load_records(conn, [interview_id])
            if not found or not still_due(found[0]):
                return None
            nudge = next((n for n in found[0].nudges if n.number == number), None)
            if nudge is None:
                return None
            row = conn.execute(sa.select(nudges.c.id).where(
                nudges.c.interview_id == interview_id, nudges.c.number == number)).scalar()
            # Being attempted: held by a daemon whose lease has not lapsed (database clock).
            busy = conn.execute(sa.select(sa.func.count()).select_from(deliveries).where(
                deliveries.c.nudge_id == row, deliveries.c.owner.is_not(None),
                deliveries.c.lease_until >= now_plus(conn.dialect.name))).scalar()
            if busy:
                return None
            moved = conn.execute(nudges.update().where(
                nudges.c.id == row, nudges.c.fired_at == nudge.fired_at).values(fired_at=now))
            if moved.rowcount != 1:
                return None
            conn.execute(deliveries.delete().where(deliveries.c.nudge_id == row))
            self._insert_deliveries(conn, row, list(channels), now, owner)
            change_log.note(conn, interview_id)
            return found[0]

    def _insert_deliveries(self, conn: Connection, nudge_row: int, mine: list[str],
                           now: datetime, owner: str) -> None:
        """A claimed nudge's deliveries: the claimer's channels under its lease, and
        (several daemons) the channels only others have, waiting for them unowned."""
        rows = [{"nudge_id": nudge_row, "channel": name, "status": "pending",
                 "attempts": 0, "next_attempt_at": now, "owner": owner} for name in mine]
        if rows:
            conn.execute(deliveries.insert().values(lease_until=self._lease(conn)), rows)
        others = sorted(daemons.remembered_channels(conn) - set(mine))
        if others:
            conn.execute(deliveries.insert(), [
                {"nudge_id": nudge_row, "channel": name, "status": "pending",
                 "attempts": 0, "next_attempt_at": now, "owner": None}
                for name in others])

    def take_delivery(self, interview_id: int, number: int, channel: str, owner: str,
                      now: datetime, previous_owner: str | None = None) -> bool:
        """Take one unfinished delivery for another attempt, if it is still free.

        A compare-and-set: succeeds only while the delivery is pending or
        retrying, is held by `previous_owner` (None: by nobody; or a process that
        died), and its next attempt is due. So two daemons never attempt the same one.
        """
        # Taking over from another owner only once its lease lapsed (database clock).
        lapsed = sa.or_(deliveries.c.lease_until.is_(None),
                        deliveries.c.lease_until < now_plus(self.engine.dialect.name))
        owned = (deliveries.c.owner.is_(None) if previous_owner is None
                 else deliveries.c.owner == owner if previous_owner == owner  # stranded here
                 else sa.and_(deliveries.c.owner == previous_owner, lapsed))
        with self._write() as conn:
            result = conn.execute(
                deliveries.update()
                .where(deliveries.c.nudge_id == nudge_id(interview_id, number),
                       deliveries.c.channel == channel,
                       deliveries.c.status.in_(UNFINISHED),
                       owned,
                       sa.or_(deliveries.c.next_attempt_at.is_(None),
                              deliveries.c.next_attempt_at <= now))
                .values(owner=owner, lease_until=self._lease(conn)))
            return result.rowcount == 1

    def record_delivery(self, interview_id: int, number: int, channel: str,
                        status: DeliveryStatus, now: datetime, error: str | None = None,
                        next_attempt_at: datetime | None = None,
                        owner: str | None = None) -> bool:
        """Record one channel's attempt at one nudge, and let go of it. Cancelling
        (the delivery is no longer wanted) is not an attempt and is not counted.

        With `owner`, a fencing check: nothing is recorded, and False returned,
        when the delivery is no longer that owner's (its lease lapsed and another
        daemon took it over).
        """
        attempted = status is not DeliveryStatus.CANCELLED
        values: dict[str, Any] = {
            "status": str(status), "error": error, "next_attempt_at": next_attempt_at,
            "owner": None, "lease_until": None,
            "attempts": deliveries.c.attempts + (1 if attempted else 0),
        }
        fence = sa.true() if owner is None else deliveries.c.owner == owner
        if status is DeliveryStatus.DELIVERED:
            values["delivered_at"] = now
        with self._write() as conn:
            return conn.execute(deliveries.update()
                                .where(deliveries.c.nudge_id == nudge_id(interview_id, number),
                                       deliveries.c.channel == channel, fence)
                                .values(**values)).rowcount == 1

    def undelivered(self, interview_ids: Iterable[int] | None = None,
                    lapsed_only: bool = False) -> list[PendingDelivery]:
        """Every delivery not finished (pending or retrying), with its interview's
        record; only those of some interviews, or only those whose owner's lease lapsed."""
        query = (
            sa.select(nudges.c.interview_id, nudges.c.number, deliveries.c.channel,
                      deliveries.c.attempts, deliveries.c.next_attempt_at, deliveries.c.owner)
            .join(deliveries, deliveries.c.nudge_id == nudges.c.id)
            .where(deliveries.c.status.in_(UNFINISHED))
        )
        if interview_ids is not None:
            query = query.where(nudges.c.interview_id.in_(list(interview_ids)))
        if lapsed_only:
            query = query.where(deliveries.c.owner.is_not(None),
                                deliveries.c.lease_until < now_plus(self.engine.dialect.name))
        with self._read() as conn:
            rows = conn.execute(query).all()
            records = {r.interview.id: r for r in load_records(conn, {row[0] for row in rows})}
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

    # --- several daemons: the change log, leases, who delivers what -------------------

    def _lease(self, conn: Connection) -> sa.ColumnElement:
        return now_plus(conn.dialect.name, self.lease_seconds)

    def newest_change(self) -> int:
        """The id of the newest change: read it before a full scan."""
        with self._read() as conn:
            return change_log.newest(conn)

    def changed_since(self, last: int) -> tuple[change_log.Changes, list[Record],
                                                list[PendingDelivery]]:
        """What changed after change `last`: the changes, the changed interviews that
        still exist (with deliveries), and their undelivered deliveries."""
        with self._read() as conn:
            found = change_log.since(conn, last)
            if found.everything or not found.interview_ids:
                return found, [], []
            records = load_records(conn, sorted(found.interview_ids))
        return found, records, self.undelivered(found.interview_ids)

    def prune_changes(self) -> int:
        with self._write() as conn:
            return change_log.prune(conn)

    def renew_leases(self, owner: str) -> int:
        """Extend the lease of every delivery `owner` holds; returns how many."""
        with self._write() as conn:
            return conn.execute(deliveries.update()
                                .where(deliveries.c.owner == owner,
                                       deliveries.c.status.in_(UNFINISHED))
                                .values(lease_until=self._lease(conn))).rowcount

    def end_leases(self, owner: str) -> None:
        """The owner is known to be dead (a process on this machine): its leases end now."""
        with self._write() as conn:
            conn.execute(deliveries.update().where(deliveries.c.owner == owner)
                         .values(lease_until=None))

    def register_daemon(self, owner: str, host: str, pid: int, place: str,
                        channels: Iterable[str], since: datetime,
                        alive: Callable[[str], bool] = lambda owner: False) -> None:
        with self._write() as conn:
            daemons.register(conn, owner, host, pid, place, tuple(channels), since, alive)

    def heartbeat(self, owner: str) -> bool:
        with self._write() as conn:
            return daemons.heartbeat(conn, owner)

    def daemon_stopped(self, owner: str) -> None:
        with self._write() as conn:
            daemons.stopped(conn, owner)

    def known_daemons(self) -> tuple[datetime, list[daemons.DaemonInfo]]:
        """The database's time now, and the daemons using it."""
        with self._read() as conn:
            return daemons.listing(conn)
