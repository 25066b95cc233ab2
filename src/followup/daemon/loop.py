"""`followup run`: the long-running process that delivers nudges when they fall due.

The pieces, each in its own module:
- the planner (`planner`) keeps one APScheduler job (`schedule`) per nudge
  falling due within the horizon, derived from the database, rebuilt at any
  time;
- the poke listener (`pokes`) hears the CLI (and the sources) say "look
  again", coalesced into one worker;
- the handover (`handover`) gives what falls due to the dispatcher
  (`dispatch`), which claims each nudge in the database before any channel
  sees it; what follows a failure is `retries`'s;
- around them: the signals and systemd (`lifecycle`), the periodic rescan's
  timer (`rescans`), the sources (`sourcing`), and who this daemon is among
  the daemons of its database (`presence`);
- this loop wires them, starts them, reloads the settings, and stops them.

Changes made anywhere reach the planner through the change log (see
`pickup`): at once on PostgreSQL's NOTIFY, whichever machine wrote it, and at
each periodic rescan, which costs one small read when nothing changed.
Deliveries in flight are leased in the database and renewed while they run;
the rescan takes over those of other daemons whose lease lapsed.

Signal handlers only set flags; the loop acts on them. Timers that must keep
going whatever the wall clock does (the watchdog, the rescan) run on the event
loop's monotonic clock; everything about when nudges are due is judged by the wall
clock (see `planner`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from followup.channels.base import Channel
from followup.config import Settings
from followup.daemon import pickup
from followup.daemon.dispatch import Dispatcher
from followup.daemon.handover import Handover
from followup.daemon.lifecycle import STOP_GRACE, Lifecycle
from followup.daemon.owners import process_identity
from followup.daemon.planner import Planner
from followup.daemon.pokes import PokeListener
from followup.daemon.presence import Presence
from followup.daemon.rescans import RescanTimer
from followup.daemon.resume import watch_resume
from followup.daemon.schedule import HORIZON
from followup.daemon.sdnotify import SystemdNotifier
from followup.daemon.sourcing import SourceBuilder, SourceHost, UseCases, UsesBuilder
from followup.errors import UserError

log = logging.getLogger("followup")

ChannelBuilder = Callable[[Settings, UseCases | None], dict[str, Channel]]
StoreOpener = Callable[[str], object]


class Daemon:
    """Wires the daemon's pieces for the settings in use, and runs them: start, the loop
    that waits for what the signals ask (a reload, a stop), and the stop."""

    def __init__(self, settings: Settings, store, build_channels: ChannelBuilder,
                 load_settings: Callable[[], Settings], now: Callable[[], datetime],
                 notifier: SystemdNotifier | None = None, verbose: bool = False,
                 build_sources: SourceBuilder | None = None,
                 build_uses: UsesBuilder | None = None,
                 open_store: StoreOpener | None = None) -> None:
        self.settings = settings
        self.verbose = verbose
        self.store = store
        self.build_channels = build_channels  # with the buttons of the use cases given
        self.build_uses = build_uses or (lambda settings, store: None)
        self.uses: UseCases | None = None
        self.load_settings = load_settings
        self.open_store = open_store or _open_store
        self.now = now
        self.lifecycle = Lifecycle(notifier or SystemdNotifier.from_environment())
        self.owner = process_identity(os.getpid())
        self.presence = Presence(self.owner, now())
        self.scheduler = AsyncIOScheduler(
            timezone="UTC",
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1})
        self.in_flight: set[str] = set()
        self.failing: dict[str, str] = {}
        # The attempts still sending, whichever dispatcher (before or after a reload)
        # began them: a stop records those past its grace in doubt.
        self.sending: dict[str, tuple[int, int, str]] = {}
        self.planner = Planner(self.scheduler, self.owner, self.in_flight, now,
                               lambda due: self.handover.due(due),
                               lambda retry: self.handover.retry(retry))
        self.handover = Handover(self.planner, self.owner, lambda: self.stopping)
        self.pokes = PokeListener(_then(self.planner.look_at, lambda: self.sources.poked()),
                                  _then(self.planner.look_at_everything,
                                        lambda: self.sources.poked()))
        self.planner.look_around = self._look_around
        self.pickup = pickup.Pickup(settings.database_url, self.planner.catch_up)
        self.rescan_timer = RescanTimer(self._rescan, lambda: self.settings.daemon.rescan_seconds,
                                   lambda: self.stopping)
        self.sources = SourceHost(build_sources or (lambda settings: []), now,
                                  self.pokes.poke)
        self.resume_watch: asyncio.Task | None = None
        self.watching_resume = False
        self.channels: dict[str, Channel] = {}
        self.installation = ""
        self.dispatcher: Dispatcher | None = None
        self.registered = True  # False when registering (at a reload) failed: again

    @property
    def stopping(self) -> bool:
        return self.lifecycle.stopping

    # --- the main loop ------------------------------------------------------------------------

    async def run(self) -> int:
        self.lifecycle.catch_signals()
        self.installation = await asyncio.to_thread(self.store.installation_id)
        self._use_settings(self.settings)
        self.lifecycle.watchdog()
        await self.pokes.listen(self.settings.database_url)
        self.scheduler.start()
        self.rescan_timer.schedule()
        await self.planner.full_scan()
        await asyncio.to_thread(self._register)
        self.pickup.start()
        self.sources.start(self.settings, self.store, self.channels, self.uses)
        self.resume_watch = asyncio.get_running_loop().create_task(watch_resume(
            lambda: self.pokes.poke(None), lambda: setattr(self, "watching_resume", True)))
        self.lifecycle.ready(self._status_line())
        log.info("started: %d channel(s) (%s), database %s", len(self.channels),
                 ", ".join(self.channels) or "none", self.settings.database_shown)
        while await self.lifecycle.reload_wanted():
            await self.reload()
        await self._shutdown()
        return 0

    def _on_stop(self) -> None:
        """What SIGTERM does."""
        self.lifecycle.on_stop()

    async def _shutdown(self) -> None:
        self.lifecycle.stopping_now()
        log.info("stopping")
        self.scheduler.pause()  # no nudge fires from here on
        self.handover.cancel()
        self.rescan_timer.cancel()
        await self.rescan_timer.finish(STOP_GRACE)
        self.scheduler.shutdown(wait=False)
        await self.pickup.stop()
        await self.sources.stop()
        if self.resume_watch is not None:
            self.resume_watch.cancel()
            await asyncio.gather(self.resume_watch, return_exceptions=True)
        await self.pokes.close()
        await self.handover.finish(STOP_GRACE)
        await _close_channels(self.channels)
        with contextlib.suppress(UserError):
            await asyncio.to_thread(self.store.daemon_stopped, self.owner)
        await asyncio.to_thread(self.store.close)
        log.info("stopped")

    # --- settings -------------------------------------------------------------------------------

    def _use_settings(self, settings: Settings, reloaded: bool = False) -> None:
        self.settings = settings
        self.uses = self.build_uses(settings, self.store)  # one whole: settings and store
        self._use_policy_of(self.now().year)
        self.channels = self.build_channels(settings, self.uses)
        if reloaded and not self.channels:  # at start, the readiness report says so
            log.warning("no channel is enabled: nudges will wait until one is "
                        "(see [notify.*] in %s)", settings.path or "the configuration")
        self.dispatcher = Dispatcher(self.store, self.channels, settings, self.policy,
                                     self.owner, self.now, self.planner.schedule.schedule_retry,
                                     self.in_flight, self.failing, self.installation,
                                     self.sending, lambda: self.stopping)
        self.handover.use(self.dispatcher, settings.daemon.lease_seconds)
        self.planner.use(self.store, self.policy, self.channels)
        self.store.lease_seconds = settings.daemon.lease_seconds
        _use_log_settings(settings, self.verbose)

    def _use_policy_of(self, year: int) -> None:
        """The settings' policy with the holidays of `year`, for everyone who plans."""
        self.policy_year, self.policy = year, self.settings.policy(year)
        for user in (self.dispatcher, self.planner):
            if user is not None:
                user.policy = self.policy

    async def reload(self) -> None:
        read = await _read_again(self.load_settings, self.open_store,
                                 self.settings.database_url)
        if read is None:
            return
        settings, store = read
        moved = store is not None
        await self.sources.stop()
        await _close_channels(self.channels)
        if moved:
            await self._move_to(store, settings.database_url, settings.database_shown)
        self._use_settings(settings, reloaded=True)
        try:  # the database away (a server restarting) ends no daemon: rescans try again
            await asyncio.to_thread(self._register)  # the channels may have changed
        except UserError as error:
            self.registered = False
            log.error("could not register the new channels, trying again at the next "
                      "rescan: %s", error.message)
        self.sources.start(self.settings, self.store, self.channels, self.uses)
        self.rescan_timer.schedule()
        try:
            await self.planner.full_scan()
        except UserError as error:  # still wanted: the next rescan scans everything
            log.error("rescan failed, trying again at the next: %s", error.message)
        if moved:
            self.pickup.start()
        log.info("reloaded %s", settings.path or "the defaults")

    async def _move_to(self, store, database_url: str, shown: str) -> None:
        """Leave the old database for a new one: wait for deliveries in flight, then
        switch the store and the wake socket."""
        await self.handover.settle(STOP_GRACE)
        await self.rescan_timer.finish(STOP_GRACE)  # its results belong to the old database
        await self.pickup.stop()
        old, self.store = self.store, store
        with contextlib.suppress(UserError):
            await asyncio.to_thread(old.daemon_stopped, self.owner)
        await asyncio.to_thread(old.close)
        self.pickup = pickup.Pickup(database_url, self.planner.catch_up)
        self.installation = await asyncio.to_thread(store.installation_id)
        await self.pokes.close(stop_worker=False)
        await self.pokes.listen(database_url)
        log.warning("the database is now %s", shown)

    # --- rescans, and who we are --------------------------------------------------------------

    async def _rescan(self) -> None:
        self.lifecycle.watchdog()  # awake anyway: the watchdog's own timer waits longer
        if self.now().year != self.policy_year:  # the holidays are frozen by year
            self._use_policy_of(self.now().year)
        try:
            await self.planner.rescan()
        except UserError as error:
            log.error("rescan failed, trying again at the next: %s", error.message)
        self.lifecycle.status(self._status_line())

    def _register(self) -> None:
        """Tell the database who we are (see `presence`), in a worker thread."""
        self.presence.register(self.store, self.settings.path, self.channels)

    def _look_around(self, last: int):
        """The rescan's transaction with the heartbeat when due (in the worker thread):
        register again when the database no longer knows us, or when a reload's
        registration failed (the database was away)."""
        look = self.store.look_around(last, self.presence.beat_due())
        if not self.registered or not look.known:
            self._register()
            self.registered = True
        return look

    def _status_line(self) -> str:
        upcoming = self.planner.next_fire_at
        hours = int(HORIZON.total_seconds() // 3600)
        when = (upcoming.astimezone(self.policy.zone).strftime("%a %d %b %H:%M")
                if upcoming else f"none within {hours} hours")
        return f"STATUS={self.planner.waiting} waiting interview(s); next nudge: {when}"


# --- helpers ----------------------------------------------------------------------------------


def _then(look, also: Callable[[], None]):
    """`look`, then `also` (the sources hear of each poke after the planner)."""
    async def both(*args) -> None:
        try:
            await look(*args)
        finally:
            also()
    return both


def _open_store(database_url: str):
    from followup.store import Store

    return Store.open(database_url)


async def _read_again(load_settings: Callable[[], Settings], open_store: StoreOpener,
                      database_url: str) -> tuple[Settings, object | None] | None:
    """The settings read again, and a store on their database when they move to
    another; None (said in the log) when either fails: keep the old ones."""
    try:
        settings = await asyncio.to_thread(load_settings)
    except UserError as error:
        log.error("reload failed, keeping the old settings: %s",
                  error.message.replace("\n", "; "))
        return None
    if settings.database_url == database_url:
        return settings, None
    try:
        return settings, await asyncio.to_thread(open_store, settings.database_url)
    except UserError as error:
        log.error("reload failed, keeping the old settings and database: cannot "
                  "open the new database: %s", error.message)
        return None


async def _close_channels(channels: Mapping[str, Channel]) -> None:
    for channel in channels.values():
        try:
            await asyncio.wait_for(channel.close(), 5)
        except Exception:  # closing is best effort
            log.debug("closing the %s channel failed", channel.name, exc_info=True)


def _use_log_settings(settings: Settings, verbose: bool) -> None:
    """The configured log level (unless -v asked for everything), times in its zone."""
    if not verbose:
        logging.getLogger("followup").setLevel(_level(settings.daemon.log_level))
    for handler in logging.getLogger("followup").handlers:
        if isinstance(handler.formatter, ZonedFormatter):
            handler.formatter.zone = settings.zone


def _level(name: str) -> int:
    return getattr(logging, name.upper(), logging.INFO)


class ZonedFormatter(logging.Formatter):
    """Log times in the configured zone (set by the daemon once settings are read)."""

    zone: ZoneInfo | None = None

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, self.zone)
        return moment.strftime(datefmt or "%Y-%m-%d %H:%M:%S")


def setup_logging(level: str, verbose: bool) -> None:
    """One line per event on stderr; no timestamps when journald adds its own."""
    handler = logging.StreamHandler()
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(ZonedFormatter("%(levelname)s %(message)s"))
    else:
        handler.setFormatter(ZonedFormatter("%(asctime)s %(levelname)s %(message)s",
                                            "%Y-%m-%d %H:%M:%S"))
    logger = logging.getLogger("followup")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose else _level(level))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


