"""Changes made anywhere reach the daemon: the change log, read incrementally.

The daemon reads the change log (see `store.changes`) from the last id it saw
whenever something says it moved: on PostgreSQL a NOTIFY, received on a
dedicated autocommit connection that waits without polling; on both engines
the CLI's poke on this machine and the periodic rescan, a cheap read of the
log's tail. Catch-ups never overlap: a signal during one makes one more.

A notification sent while the listener is disconnected is lost, so after
reconnecting (with backoff) and LISTENing again, the listener asks for a
catch-up, which reads everything after the last id seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from followup.errors import UserError

log = logging.getLogger("followup")

RETRY_FIRST = 0.5  # seconds before the first reconnection attempt; doubles
RETRY_MAX = 30.0


class Pickup:
    """Runs `catch_up` when asked (`poke`), one at a time; on PostgreSQL, also listens."""

    def __init__(self, database_url: str, catch_up: Callable[[], Awaitable[None]]) -> None:
        self.database_url = database_url
        self.catch_up = catch_up
        self.wanted = asyncio.Event()
        self.tasks: list[asyncio.Task] = []
        self.listening = False

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.tasks.append(loop.create_task(self._apply(), name="pickup"))
        if self.database_url.startswith("postgresql"):
            self.tasks.append(loop.create_task(self._listen(), name="pickup-listen"))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []

    def poke(self) -> None:
        """Something changed (or may have): catch up soon."""
        self.wanted.set()

    async def _apply(self) -> None:
        while True:
            await self.wanted.wait()
            self.wanted.clear()
            try:
                await self.catch_up()
            except UserError as error:
                log.warning("could not read the changes: %s (trying again at the next "
                            "rescan)", error.message)
            except Exception:
                log.exception("applying changes failed unexpectedly; the next rescan "
                              "tries again")

    # --- PostgreSQL: LISTEN ------------------------------------------------------------

    async def _listen(self) -> None:
        delay = RETRY_FIRST
        while True:
            started = time.monotonic()
            try:
                await self._listen_once()
            except Exception as error:  # psycopg.OperationalError and kin: any loss
                self.listening = False
                log.warning("not listening for changes: %s; trying again in %g s",
                            _reason(error), delay)
            if time.monotonic() - started > RETRY_MAX:
                delay = RETRY_FIRST  # it was up for a while: a fresh loss, retry soon
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _listen_once(self) -> None:
        """Listen on a connection of its own until it is lost. The socket is watched by
        the event loop (psycopg's own `notifies()` wakes up ten times a second)."""
        import psycopg

        from followup.store.changes import CHANNEL
        from followup.store.engine import connection_arguments

        conninfo, options = connection_arguments(self.database_url)
        conn = await asyncio.to_thread(psycopg.connect, conninfo, autocommit=True, **options)
        loop = asyncio.get_running_loop()
        lost: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            try:
                conn.pgconn.consume_input()  # raises once the connection is gone
                while conn.pgconn.notifies() is not None:
                    self.poke()
            except Exception as error:
                if not lost.done():
                    lost.set_exception(error)

        try:
            await asyncio.to_thread(conn.execute, f"LISTEN {CHANNEL}")
            socket = conn.fileno()  # asked once: it raises after the connection is lost
            loop.add_reader(socket, readable)
            try:
                if not self.listening:
                    log.info("listening for changes made on other machines")
                self.listening = True
                self.poke()  # what was written while nobody listened
                await lost
            finally:
                loop.remove_reader(socket)
        finally:
            conn.close()


def _reason(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def open_patiently(database_url: str, wait: Callable[[float], object] = time.sleep):
    """Open the store, waiting (with backoff, logging each attempt) while the database
    server cannot be reached: a daemon started before the network or the server."""
    from followup.store import Store, Unreachable

    delay = 1.0
    while True:
        try:
            return Store.open(database_url)
        except Unreachable as error:
            log.warning("%s; trying again in %.0f s", error.message, delay)
        wait(delay)
        delay = min(delay * 2, 60.0)


@contextlib.asynccontextmanager
async def leases_renewed(store, owner: str, every: float, attempts: set[str]):
    """While the block runs (deliveries in flight), renew every `every` seconds the
    leases of `owner`'s attempts under way (`attempts`: their tokens, as they come
    and go), so that nobody takes them over."""
    task = asyncio.get_running_loop().create_task(_renew(store, owner, every, attempts))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _renew(store, owner: str, every: float, attempts: set[str]) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(store.renew_leases, owner, set(attempts))
        except UserError as error:
            log.warning("could not renew the delivery leases: %s", error.message)
