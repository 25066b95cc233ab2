"""The database: the package that holds the SQLAlchemy code.

The store keeps interviews, the follow-ups sent, the nudges the daemon claimed
and each channel's delivery of them. Every method is one transaction. Writes
that read first (claiming a nudge) start with BEGIN IMMEDIATE on SQLite, so
the check and the write are atomic between processes. The schema is created
and upgraded by the Alembic migrations in `migrations/`, applied on open.

`Store` (here: opening and migrating) is made of one class per job, each in
its module on the shared `transactions.Transactions`:

- interviews.py: interviews and the follow-ups sent for them;
- meta.py: facts about the database itself (the installation id);
- claims.py: claiming a nudge with its deliveries;
- deliveries.py: attempts at a delivery, leases, what is undelivered;
- sharing.py: several daemons: the change log and the daemons' register;
- rescan.py: the daemon's periodic look (heartbeat, changes, lapsed leases) in one;
- plan.py: the stored plan, each interview's next nudge (the rules' cache);
- listing.py: what `list` prints, in one streamed pass (on the plan).

Beside them: the tables (tables.py), loading records (records.py), the
engines and migrations (engine.py, migrations/), the database clock
(dbtime.py), the change log's and the daemons' tables (changes.py,
daemons.py), the mailbox watch's tables (mailbox.py, on a Store), the drafts put
into the Drafts folder (drafts.py, on a Store) and the stored plan (plan.py).
It imports `models`, `rules` (plan.py), `errors` and the standard library, and mailbox.py the
mailbox's findings (`sources.mailbox.replies`); nothing above it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from followup.errors import UserError
from followup.store.claims import Claims
from followup.store.deliveries import Deliveries, PendingDelivery
from followup.store.engine import (
    SCHEMA_HEAD,
    Unreachable,
    alembic_config,
    current_revision,
    error_reason,
    first_open_lock,
    postgresql_engine,
    require_utf8,
    sqlite_engine,
    upgrade,
)
from followup.store.interviews import Interviews
from followup.store.listing import Listings
from followup.store.meta import Meta
from followup.store.rescan import Rescans
from followup.store.sharing import Sharing
from followup.store.tables import UTCDateTime, metadata

__all__ = ["SCHEMA_HEAD", "PendingDelivery", "Store", "UTCDateTime", "Unreachable",
           "alembic_config", "metadata", "upgrade"]


class Store(Interviews, Meta, Claims, Rescans, Sharing, Deliveries, Listings):
    """The interview database. Build with `Store.open(url)`."""

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
