"""The interface every source implements, and what the daemon hands it."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class SourceState(StrEnum):
    """How a source is doing, for `service status` and the log."""

    STARTING = "starting"
    OK = "ok"  # connected / read, and watching
    RETRYING = "retrying"  # the server is down or refused us; trying again with backoff
    FAILED = "failed"  # cannot work until the user changes something (bad password, ...)


@dataclass(frozen=True, slots=True)
class SourceStatus:
    state: SourceState
    since: datetime
    detail: str = ""  # one line for the user: "login refused", "next try at 10:05"


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What the daemon gives a source.

    `uses` is what the source applies its findings through: the use cases of the
    same layer the command line calls, in the shape the source defines
    (`sources.mailbox.watch.Ledger`, a maker of `sources.calendar.watch.Calendars`);
    `notice(title, body)` tells the user something that is not a nudge (to the
    desktop when it is enabled, and always to the log); `report(status)`
    records the source's state where `service status` finds it (the
    database); `changed(interview_id)` asks the daemon to look again at an
    interview the source changed. `now` is the one clock. `poked` is set each
    time the daemon is asked to look again (the source clears it).
    """

    uses: object
    notice: Callable[[str, str], Awaitable[None]]
    report: Callable[[str, SourceStatus], Awaitable[None]]
    changed: Callable[[int | None], None]
    now: Callable[[], datetime]
    # Set whenever the daemon is poked (a change by the CLI or a source); None: never.
    poked: asyncio.Event | None = None


class Source(ABC):
    """One watched thing. `run` works until cancelled and never raises: it retries
    with backoff (capped) and reports each change of state once."""

    name: str

    @abstractmethod
    async def run(self, context: SourceContext) -> None: ...
