"""Several daemons on one database: who this one is, and that it is alive.

A daemon registers (which machine, process and configuration, which channels
it delivers) for `service status` and for the claims of other daemons, which
leave its channels' deliveries to it; its heartbeat says it is still there.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Collection
from datetime import datetime

from followup.daemon.owners import process_alive

HEARTBEAT_SECONDS = 30  # how often a daemon tells the database it is alive (service status)


class Presence:
    """This daemon's row among the daemons of the database (`store`, passed in each
    time: the daemon may move to another database)."""

    def __init__(self, owner: str, started_at: datetime) -> None:
        self.owner = owner
        self.started_at = started_at
        self.last_heartbeat = time.monotonic()  # registering is the first heartbeat

    def register(self, store, config_path, channels: Collection[str]) -> None:
        """Tell the database who we are and which channels we deliver."""
        host, pid = socket.gethostname(), os.getpid()
        where = f"{host}\0{config_path or ''}\0{os.getuid()}"
        place = hashlib.sha256(where.encode()).hexdigest()[:16]
        one_machine = store.engine.dialect.name == "sqlite"
        store.register_daemon(self.owner, host, pid, place, tuple(channels), self.started_at,
                              lambda other: process_alive(other, one_machine))

    def beat_due(self) -> str | None:
        """This daemon's owner when a heartbeat is due (a write, so at most every
        HEARTBEAT_SECONDS however often the rescan asks), else None. The rescan writes
        it in its own transaction (see store.rescan)."""
        beat = time.monotonic()
        if beat - self.last_heartbeat < HEARTBEAT_SECONDS:
            return None
        self.last_heartbeat = beat
        return self.owner
