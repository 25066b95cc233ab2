"""Running the daemon: wiring the use cases to the loop (the notification buttons, the
sources' ledgers), and what the sources last reported for `service status`.

The daemon package never imports the App: what it needs of the use cases is handed in
here, as callables and the ledgers each source defines."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from followup.app.actions import Actions

if TYPE_CHECKING:
    from followup.config import Settings

# What `service status` shows the last reported state of: the sources, and whether the
# enabled channels can work where the daemon runs (said once, at its start).
SOURCE_NAMES = ("channels", "mailbox", "calendar")


class Background(Actions):
    def sources(self) -> dict[str, dict[str, Any] | None]:
        """What the daemon last reported of each source (None: never reported)."""
        found = {}
        for name in SOURCE_NAMES:
            value = self.store.meta(f"source:{name}")
            try:
                found[name] = json.loads(value) if value else None
            except ValueError:
                found[name] = None
        return found

    def source_uses(self, name: str) -> object:
        """What source `name` applies its findings through: the mailbox's ledger; for the
        calendar, a maker of the calendar use cases for the daemon's current settings."""
        if name == "mailbox":
            from followup.app.mailbox_ledger import MailboxLedger

            return MailboxLedger(self)
        if name == "drafts":
            from followup.app.drafts import DraftsLedger

            return DraftsLedger(self)
        from followup.app.calendar_sync import CalendarSync

        return lambda settings: CalendarSync(self, settings)

    def for_daemon(self, settings: Settings, store) -> Background:
        """The use cases on `settings` and the daemon's `store`, built anew for each
        (re)load: the buttons and the sources never reach an older database or
        older settings."""
        uses = type(self)(settings, self.now)
        uses.__dict__["store"] = store  # cached_property: the daemon's, closed by it
        return uses

    def _say_what_cannot_work(self, problems: list[str]) -> None:
        """Once, at start: in the log, and for `service status`, which enabled channels
        cannot work on this machine (as `config check` says)."""
        import logging
        import socket

        for problem in problems:
            logging.getLogger("followup").warning("%s", problem)
        report = {"state": "cannot all work here" if problems else "ok",
                  "since": self.now().isoformat(),
                  "detail": f"on {socket.gethostname()}: {'; '.join(problems)}" if problems
                  else ""}
        self.store.set_meta("source:channels", json.dumps(report))

    def run_daemon(self, load_settings: Callable[[], Settings], verbose: bool = False) -> int:
        """Run the daemon until SIGTERM or SIGINT; returns the exit code."""
        from followup import channels, sources
        from followup.daemon.loop import Daemon, setup_logging
        from followup.daemon.pickup import open_patiently

        setup_logging(self.settings.daemon.log_level, verbose)
        # A database server that is not up yet (or another machine that is away) is
        # waited for, with backoff, rather than an exit; the CLI's commands fail at once.
        self.__dict__["store"] = open_patiently(self.settings.database_url)  # cached_property
        self._say_what_cannot_work(channels.readiness(self.settings))

        def build(settings: Settings, uses: Background) -> dict:
            drafts = None
            if settings.mailbox.drafts:  # its modules are imported only when it is on
                from followup.app.drafts import DraftsLedger

                drafts = DraftsLedger(uses)
            return {c.name: c for c in channels.build(settings, uses.on_action, drafts)}

        async def serve() -> int:
            daemon = Daemon(self.settings, self.store, build, load_settings, self.now,
                            verbose=verbose, build_sources=sources.build,
                            build_uses=self.for_daemon)
            return await daemon.run()

        # Every thread ends with the daemon: the channels are bounded by their own
        # timeouts, and the sources' long waits run on threads of their own, aborted
        # and joined when the sources stop (see followup.threads).
        import asyncio  # only the daemon needs the event loop: off the commands' start

        return asyncio.run(serve())
