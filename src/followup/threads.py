"""Threads of their own for the sources' long waits (an IMAP IDLE, a login, a read
from a slow server) and for the channels' sends.

asyncio's default pool (min(32, CPUs + 4) threads: 6 on two cores) also claims
and records every delivery: a wait that holds one of its threads for minutes
holds up nudges. Each long wait here gets a new thread, owned by what it waits
on (an `Owner`: its `threads` are joined, with a timeout, when it closes).
A channel's send gets one too (`on_a_thread`), so it starts at once: queued
behind that pool, a send the daemon's stop found not yet started would be
recorded "in doubt" and never delivered. Threads are daemonic: one still
blocked on a server when the process ends (its owner could not abort it)
never holds the exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

T = TypeVar("T")


class Owner(Protocol):
    threads: list[threading.Thread]


async def on_own_thread(owner: Owner | None, function: Callable[..., T], *args) -> T:
    """`function(*args)` on a new thread owned by `owner` (None: by nobody, the caller
    awaits its outcome); its result, or its error.

    A cancelled await does not stop the thread (nothing can): the owner's abort
    does, and its close joins it."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()

    def settle(result, error) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            outcome = (function(*args), None)
        except BaseException as error:  # handed to the awaiting task
            outcome = (None, error)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(settle, *outcome)

    thread = threading.Thread(target=work, name=f"followup-{function.__name__}", daemon=True)
    if owner is not None:
        owner.threads[:] = [t for t in owner.threads if t.is_alive()]
        owner.threads.append(thread)
    thread.start()
    return await future


async def on_a_thread(function: Callable[..., T], *args) -> T:
    """`function(*args)` on a new thread of its own that nobody joins: a channel's send,
    whose outcome the caller awaits and whose own deadline bounds it."""
    return await on_own_thread(None, function, *args)


def join(threads: list[threading.Thread], timeout: float) -> list[threading.Thread]:
    """Join `threads` within `timeout` seconds in all; returns those still running."""
    ends = time.monotonic() + timeout
    for thread in threads:
        if thread is not threading.current_thread():
            thread.join(max(ends - time.monotonic(), 0))
    return [thread for thread in threads if thread.is_alive()]
