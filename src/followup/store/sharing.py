"""Several daemons on one database: the change log they follow (instead of
rescanning everything) and the register of who runs, where, with which channels.
The functions on the tables are in changes.py and daemons.py; these are the
Store's transactions around them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy.engine import Connection

from followup.models import Record
from followup.store import changes as change_log
from followup.store import daemons
from followup.store.deliveries import Deliveries, PendingDelivery, undelivered
from followup.store.records import load_records


class Sharing(Deliveries):
    """The change log and the daemons' register. A subclass of `Deliveries`
    because what changed comes with its undelivered deliveries."""

    def newest_change(self) -> int:
        """The id of the newest change: read it before a full scan."""
        with self._read() as conn:
            return change_log.newest(conn)

    def changed_since(self, last: int) -> tuple[change_log.Changes, list[Record],
                                                list[PendingDelivery]]:
        """What changed after change `last`: the changes, the changed interviews that
        still exist (with deliveries), and their undelivered deliveries."""
        with self._read() as conn:
            return changed_since(conn, last)

    def prune_changes(self) -> int:
        with self._write() as conn:
            return change_log.prune(conn)

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


def changed_since(conn: Connection, last: int) -> tuple[change_log.Changes, list[Record],
                                                       list[PendingDelivery]]:
    """`Sharing.changed_since`, inside the caller's transaction."""
    found = change_log.since(conn, last)
    if found.everything or not found.interview_ids:
        return found, [], []
    records = load_records(conn, sorted(found.interview_ids))
    return found, records, undelivered(conn, found.interview_ids)
