"""The daemon's life as the shell and systemd see it: signals, and sd_notify.

Signal handlers only set flags and wake the loop, which acts on them: SIGTERM
and SIGINT ask for a stop (which wins over anything else), SIGHUP for a
reload. systemd hears READY, STATUS and STOPPING, and the watchdog's pings,
which run on the event loop's monotonic clock: a wall-clock step must not
stop them (an APScheduler interval job would wait it out).
"""

from __future__ import annotations

import asyncio
import signal

from followup.daemon.sdnotify import SystemdNotifier

STOP_GRACE = 8.0  # seconds to let deliveries in flight finish after SIGTERM
# The watchdog's own ping comes this many intervals after the last one (systemd's
# interval is half its timeout): a rescan due at the same moment pings first.
WATCHDOG_SLACK = 1.1


class Lifecycle:
    """The flags the signals set, and what systemd is told."""

    def __init__(self, notifier: SystemdNotifier) -> None:
        self.notifier = notifier
        self.wakeup = asyncio.Event()
        self.stopping = False
        self.reload_requested = False
        self.watchdog_handle: asyncio.TimerHandle | None = None

    def catch_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum, handler in ((signal.SIGTERM, self.on_stop), (signal.SIGINT, self.on_stop),
                                (signal.SIGHUP, self.on_reload)):
            loop.add_signal_handler(signum, handler)

    def on_stop(self) -> None:
        self.stopping = True
        self.wakeup.set()

    def on_reload(self) -> None:
        self.reload_requested = True
        self.wakeup.set()

    async def reload_wanted(self) -> bool:
        """Wait for a signal's request: True for a reload, False for a stop."""
        while not self.stopping:
            if self.reload_requested:
                self.reload_requested = False
                return True
            await self.wakeup.wait()
            self.wakeup.clear()
        return False

    # --- systemd ------------------------------------------------------------------------------

    def ready(self, status: str) -> None:
        self.notifier.send("READY=1", status)

    def status(self, status: str) -> None:
        self.notifier.send(status)

    def watchdog(self) -> None:
        """Ping systemd's watchdog now (if it asked for pings), and again a little over
        the interval it asked for after the last ping. The rescan pings too, when the
        loop is awake anyway: while rescans come at least as often, the watchdog's own
        timer never wakes the process (an idle daemon's wakeups, issue 21)."""
        interval = self.notifier.watchdog_interval
        if interval:
            self.notifier.send("WATCHDOG=1")
            if self.watchdog_handle is not None:
                self.watchdog_handle.cancel()
            self.watchdog_handle = asyncio.get_running_loop().call_later(
                interval * WATCHDOG_SLACK, self.watchdog)

    def stopping_now(self) -> None:
        """Tell systemd the stop has begun; the watchdog falls silent."""
        self.notifier.send("STOPPING=1")
        if self.watchdog_handle is not None:
            self.watchdog_handle.cancel()
