"""Running the sources (mailbox, calendar) inside the daemon.

Each source runs as its own task, with what it may call back: a notice for
the user, its state for `service status`, and "this interview changed", which
pokes the planner as the CLI does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Protocol

from followup.channels.base import Channel
from followup.config import Settings
from followup.sources.base import Source, SourceContext, SourceStatus

log = logging.getLogger("followup")

SourceBuilder = Callable[[Settings], list[Source]]


class UseCases(Protocol):
    """What the daemon needs of the use-case layer: built anew, as one whole, for each
    settings and database (at start and at each reload), so that nothing keeps using
    the old ones."""

    def on_action(self, action: str, interview_id: int, number: int) -> Awaitable[None]:
        """A notification's button was pressed."""

    def source_uses(self, name: str) -> object:
        """What source `name` applies its findings through."""


UsesBuilder = Callable[[Settings, object], UseCases | None]


class SourceHost:
    """Starts the sources for one set of settings, one store and channels, and stops
    them (before a reload changes any of these)."""

    def __init__(self, build_sources: SourceBuilder, now: Callable[[], datetime],
                 changed: Callable[[int | None], None]) -> None:
        self.build_sources = build_sources
        self.now = now
        self.changed = changed  # a source changed an interview (None: several)
        self.store = None
        self.channels: Mapping[str, Channel] = {}
        self.tasks: list[asyncio.Task] = []
        self.pokes: list[asyncio.Event] = []

    def start(self, settings: Settings, store, channels: Mapping[str, Channel],
              uses: UseCases | None) -> None:
        """Start the sources of `settings`, applying their findings through `uses`
        (built for these settings and this store)."""
        self.store, self.channels = store, channels
        for source in self.build_sources(settings):
            poked = asyncio.Event()
            self.pokes.append(poked)
            context = SourceContext(uses=uses.source_uses(source.name) if uses else None,
                                    notice=self.notice, report=self.report,
                                    changed=self.changed, now=self.now, poked=poked)
            task = asyncio.get_running_loop().create_task(source.run(context),
                                                          name=f"source-{source.name}")
            self.tasks.append(task)

    def poked(self) -> None:
        """The daemon was asked to look again: tell the sources that listen."""
        for event in self.pokes:
            event.set()

    async def stop(self) -> None:
        tasks, self.tasks, self.pokes = self.tasks, [], []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def notice(self, title: str, body: str) -> None:
        """Tell the user something that is not a nudge: the log always, the desktop when on."""
        log.info("notice: %s: %s", title, body.replace("\n", " "))
        desktop = self.channels.get("desktop")
        if desktop is not None:
            result = await desktop.tell(title, body)
            if not result.ok:
                log.debug("the notice did not reach the desktop: %s", result.reason)

    async def report(self, name: str, status: SourceStatus) -> None:
        """Keep a source's state where `service status` reads it: the database."""
        value = json.dumps({"state": str(status.state), "since": status.since.isoformat(),
                            "detail": status.detail})
        await asyncio.to_thread(self.store.set_meta, f"source:{name}", value)
