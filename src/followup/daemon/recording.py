"""Writing an attempt's outcome, however long the database is away.

Once a channel has acted, its outcome must reach the database: an attempt
dropped unrecorded is taken up again once its lease ends, and sends the
nudge a second time (DESIGN "Exactly once": a repeat only for a crash
between the send and its record). So a record the database refused (a
PostgreSQL restart, a SQLite lock held past its timeout) is tried again,
with capped backoff, while the attempt stays in flight and its lease is
renewed; only a stop gives up on it (its lease then lapses).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from followup.backoff import backoff_delay
from followup.errors import UserError

log = logging.getLogger("followup")

RETRY_FIRST = 0.5  # seconds before writing again; doubles
RETRY_MAX = 5.0


async def until_written(write: Callable[[], None], what: str) -> None:
    """Run `write` in a worker thread until the database takes it (it must be safe
    to run again: it writes only what is still unwritten)."""
    failures = 0
    while True:
        try:
            await asyncio.to_thread(write)
            return
        except UserError as error:
            failures += 1
            delay = backoff_delay(RETRY_FIRST, failures, RETRY_MAX)
            log.warning("could not record %s: %s; trying again in %g s", what,
                        error.message, delay)
            await asyncio.sleep(delay)  # the database's return, not a race: nothing to wake us
