"""`followup run`: the long-running process that delivers nudges when they fall due.

Three pieces, each in its own module:
- the planner (`planner`) keeps one APScheduler job per nudge falling due
  within the horizon, derived from the database, rebuilt at any time;
- the poke listener (`pokes`) hears the CLI (and the sources) say "look
  again", coalesced into one worker;
- this loop: signals, settings and reloads, the sources, the watchdog, and
  handing what falls due to the dispatcher (`dispatch`), which claims each
  nudge in the database before any channel sees it.

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
import hashlib
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from followup.channels.base import Channel
from followup.config import Settings
from followup.daemon import pickup
from followup.daemon.dispatch import Dispatcher, Due, Key, Retry
from followup.daemon.owners import process_alive, process_identity
from followup.daemon.planner import HORIZON, Planner
from followup.daemon.pokes import PokeListener
from followup.daemon.resume import watch_resume
from followup.daemon.sdnotify import SystemdNotifier
from followup.errors import UserError
from followup.sources.base import Source, SourceContext, SourceStatus

log = logging.getLogger("followup")

BATCH_WINDOW = 0.05  # seconds to gather nudges falling due together (for a digest)
STOP_GRACE = 8.0  # seconds to let deliveries in flight finish after SIGTERM
HEARTBEAT_SECONDS = 30  # how often a daemon tells the database it is alive (service status)

ChannelBuilder = Callable[[Settings], dict[str, Channel]]
SourceBuilder = Callable[[Settings], list[Source]]
StoreOpener = Callable[[str], object]


class Daemon:
    def __init__(self, settings: Settings, store, build_channels: ChannelBuilder,
                 load_settings: Callable[[], Settings], now: Callable[[], datetime],
                 notifier: SystemdNotifier | None = None, verbose: bool = False,
                 build_sources: SourceBuilder | None = None,
                 source_uses: Callable[[str], object] | None = None,
                 open_store: StoreOpener | None = None) -> None:
        self.settings = settings
        self.verbose = verbose
        self.store = store
        self.build_channels = build_channels
        self.load_settings = load_settings
        self.open_store = open_store or _open_store
        self.now = now
        self.notifier = notifier or SystemdNotifier.from_environment()
        self.owner = process_identity(os.getpid())
        self.scheduler = AsyncIOScheduler(
            timezone="UTC",
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1})
        self.in_flight: set[Key] = set()
        self.failing: dict[str, str] = {}
        self.planner = Planner(self.scheduler, self.owner, self.in_flight, now,
                               self._due, self._retry)
        self.pokes = PokeListener(self.planner.look_at, self._look_at_everything)
        self.planner.look_around = self._look_around
        self.pickup = pickup.Pickup(settings.database_url, self.planner.catch_up)
        self.started_at = now()
        self.last_heartbeat = time.monotonic()  # registering is the first heartbeat
        self.resume_watch: asyncio.Task | None = None
        self.watching_resume = False
        self.tasks: set[asyncio.Task] = set()
        self.batch: tuple[list[Due], list[Retry]] = ([], [])
        self.flush_handle: asyncio.TimerHandle | None = None
        self.watchdog_handle: asyncio.TimerHandle | None = None
        self.wakeup = asyncio.Event()
        self.stopping = False
        self.reload_requested = False
        self.channels: dict[str, Channel] = {}
        self.installation = ""
        self.dispatcher: Dispatcher | None = None
        self.build_sources = build_sources or (lambda settings: [])
        self.source_uses = source_uses or (lambda name: None)
        self.source_tasks: list[asyncio.Task] = []
        self.rescanning: asyncio.Task | None = None  # a rescan under way
        self.rescan_handle: asyncio.TimerHandle | None = None  # the next rescan

    # --- the main loop ------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum, handler in ((signal.SIGTERM, self._on_stop), (signal.SIGINT, self._on_stop),
                                (signal.SIGHUP, self._on_reload)):
            loop.add_signal_handler(signum, handler)
        self.installation = await asyncio.to_thread(self.store.installation_id)
        self._use_settings(self.settings)
        self._watchdog()
        await self.pokes.listen(self.settings.database_url)
        self.scheduler.start()
        self._schedule_rescan()
        await self.planner.full_scan()
        await asyncio.to_thread(self._register)
        self.pickup.start()
        self._start_sources()
        self.resume_watch = loop.create_task(watch_resume(
            lambda: self.pokes.poke(None), lambda: setattr(self, "watching_resume", True)))
        self.notifier.send("READY=1", self._status_line())
        log.info("started: %d channel(s) (%s), database %s", len(self.channels),
                 ", ".join(self.channels) or "none", self.settings.database_url)
        while not self.stopping:
            await self.wakeup.wait()
            self.wakeup.clear()
            if self.reload_requested and not self.stopping:
                self.reload_requested = False
                await self.reload()
        await self._shutdown()
        return 0

    def _on_stop(self) -> None:
        self.stopping = True
        self.wakeup.set()

    def _on_reload(self) -> None:
        self.reload_requested = True
        self.wakeup.set()

    async def _shutdown(self) -> None:
        self.notifier.send("STOPPING=1")
        log.info("stopping")
        self.scheduler.pause()  # no nudge fires from here on
        for handle in (self.watchdog_handle, self.flush_handle, self.rescan_handle):
            if handle is not None:
                handle.cancel()
        await self._finish_rescan()
        self.scheduler.shutdown(wait=False)
        await self.pickup.stop()
        await self._stop_sources()
        if self.resume_watch is not None:
            self.resume_watch.cancel()
            await asyncio.gather(self.resume_watch, return_exceptions=True)
        await self.pokes.close()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=STOP_GRACE)
            for task in pending:
                task.cancel()
        await self._close_channels()
        with contextlib.suppress(UserError):
            await asyncio.to_thread(self.store.daemon_stopped, self.owner)
        await asyncio.to_thread(self.store.close)
        log.info("stopped")

    async def _finish_rescan(self) -> None:
        """Let a rescan under way finish its reads (stopping, or leaving a database);
        past STOP_GRACE it is cancelled: the next full scan does its work again."""
        if self.rescanning is not None:
            done, _ = await asyncio.wait({self.rescanning}, timeout=STOP_GRACE)
            if not done:
                log.warning("gave up on a rescan that waited on the database")
                self.rescanning.cancel()
                await asyncio.gather(self.rescanning, return_exceptions=True)

    def _watchdog(self) -> None:
        """Ping systemd's watchdog on the loop's monotonic clock: a wall-clock step
        must not stop the pings (an APScheduler interval job would wait it out)."""
        interval = self.notifier.watchdog_interval
        if interval:
            self.notifier.send("WATCHDOG=1")
            self.watchdog_handle = asyncio.get_running_loop().call_later(interval,
                                                                         self._watchdog)

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- settings -------------------------------------------------------------------------------

    def _use_settings(self, settings: Settings) -> None:
        self.settings = settings
        self._use_policy_of(self.now().year)
        self.channels = self.build_channels(settings)
        if not self.channels:
            log.warning("no channel is enabled: nudges will wait until one is "
                        "(see [notify.*] in %s)", settings.path or "the configuration")
        self.dispatcher = Dispatcher(self.store, self.channels, settings, self.policy,
                                     self.owner, self.now, self.planner.schedule_retry,
                                     self.in_flight, self.failing, self.installation)
        self.planner.use(self.store, self.policy, self.channels)
        self.store.lease_seconds = settings.daemon.lease_seconds
        if not self.verbose:
            logging.getLogger("followup").setLevel(_level(settings.daemon.log_level))
        for handler in logging.getLogger("followup").handlers:
            if isinstance(handler.formatter, ZonedFormatter):
                handler.formatter.zone = settings.zone

    def _use_policy_of(self, year: int) -> None:
        """The settings' policy with the holidays of `year`, for everyone who plans."""
        self.policy_year, self.policy = year, self.settings.policy(year)
        for user in (self.dispatcher, self.planner):
            if user is not None:
                user.policy = self.policy

    async def reload(self) -> None:
        try:
            settings = await asyncio.to_thread(self.load_settings)
        except UserError as error:
            log.error("reload failed, keeping the old settings: %s",
                      error.message.replace("\n", "; "))
            return
        moved = settings.database_url != self.settings.database_url
        if moved:
            try:
                store = await asyncio.to_thread(self.open_store, settings.database_url)
            except UserError as error:
                log.error("reload failed, keeping the old settings and database: cannot "
                          "open the new database: %s", error.message)
                return
        await self._stop_sources()
        await self._close_channels()
        if moved:
            await self._move_to(store, settings.database_url)
        self._use_settings(settings)
        await asyncio.to_thread(self._register)  # the channels may have changed
        self._start_sources()
        self._schedule_rescan()
        await self.planner.full_scan()
        if moved:
            self.pickup.start()
        log.info("reloaded %s", settings.path or "the defaults")

    async def _move_to(self, store, database_url: str) -> None:
        """Leave the old database for a new one: wait for deliveries in flight, then
        switch the store and the wake socket."""
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=STOP_GRACE)
        await self._finish_rescan()  # its results belong to the old database
        await self.pickup.stop()
        old, self.store = self.store, store
        with contextlib.suppress(UserError):
            await asyncio.to_thread(old.daemon_stopped, self.owner)
        await asyncio.to_thread(old.close)
        self.pickup = pickup.Pickup(database_url, self.planner.catch_up)
        self.installation = await asyncio.to_thread(store.installation_id)
        await self.pokes.close(stop_worker=False)
        await self.pokes.listen(database_url)
        log.warning("the database is now %s", database_url)

    async def _close_channels(self) -> None:
        for channel in self.channels.values():
            try:
                await asyncio.wait_for(channel.close(), 5)
            except Exception:  # closing is best effort
                log.debug("closing the %s channel failed", channel.name, exc_info=True)

    # --- sources ------------------------------------------------------------------------------

    def _start_sources(self) -> None:
        for source in self.build_sources(self.settings):
            context = SourceContext(uses=self.source_uses(source.name), notice=self.notice,
                                    report=self.report_source,
                                    changed=self.source_changed, now=self.now)
            task = asyncio.get_running_loop().create_task(source.run(context),
                                                          name=f"source-{source.name}")
            self.source_tasks.append(task)

    async def _stop_sources(self) -> None:
        tasks, self.source_tasks = self.source_tasks, []
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

    async def report_source(self, name: str, status: SourceStatus) -> None:
        """Keep a source's state where `service status` reads it: the database."""
        value = json.dumps({"state": str(status.state), "since": status.since.isoformat(),
                            "detail": status.detail})
        await asyncio.to_thread(self.store.set_meta, f"source:{name}", value)

    def source_changed(self, interview_id: int | None) -> None:
        """A source changed an interview (None: several): look again, as after a poke."""
        self.pokes.poke(interview_id)

    # --- rescans ------------------------------------------------------------------------------

    async def _look_at_everything(self) -> None:
        """After a poke for everything, or a resume: plan again, and run what fell due."""
        await self.planner.full_scan()
        self.scheduler.wakeup()

    def _schedule_rescan(self) -> None:
        """The next rescan, rescan_seconds from now on the loop's monotonic clock (as the
        watchdog). Not an APScheduler interval job: after a suspend or a clock step that
        steps through every run it missed before it runs once (two months at 1 s: five
        million, half a minute of CPU)."""
        if self.rescan_handle is not None:
            self.rescan_handle.cancel()
        self.rescan_handle = asyncio.get_running_loop().call_later(
            self.settings.daemon.rescan_seconds, self._start_rescan)

    def _start_rescan(self) -> None:
        self.rescan_handle = None
        if self.rescanning is None and not self.stopping:
            self.rescanning = asyncio.get_running_loop().create_task(self._rescan())
            self.rescanning.add_done_callback(self._rescan_ended)

    def _rescan_ended(self, task: asyncio.Task) -> None:
        """One rescan at a time: the next is planned when this one ends."""
        self.rescanning = None
        if task.cancelled():
            return
        if task.exception() is not None:
            error = task.exception()
            log.error("rescan failed, trying again at the next: %s", error,
                      exc_info=(type(error), error, error.__traceback__))
        if not self.stopping:
            self._schedule_rescan()

    async def _rescan(self) -> None:
        if self.now().year != self.policy_year:  # the holidays are frozen by year
            self._use_policy_of(self.now().year)
        try:
            await self.planner.rescan()
        except UserError as error:
            log.error("rescan failed, trying again at the next: %s", error.message)
        self.notifier.send(self._status_line())

    # --- firing -------------------------------------------------------------------------------

    def _due(self, due: Due) -> None:
        self.batch[0].append(due)
        self._flush_soon()

    def _retry(self, retry: Retry) -> None:
        self.batch[1].append(retry)
        self._flush_soon()

    def _flush_soon(self) -> None:
        """Gather what falls due together, so that many nudges make one digest."""
        if self.flush_handle is None:
            loop = asyncio.get_running_loop()
            self.flush_handle = loop.call_later(BATCH_WINDOW, self._flush)

    def _flush(self) -> None:
        self.flush_handle = None
        due, retries = self.batch
        self.batch = ([], [])
        if self.stopping or self.dispatcher is None:
            return
        self._spawn(self._dispatch(self.dispatcher, due, retries))

    async def _dispatch(self, dispatcher: Dispatcher, due: list[Due],
                        retries: list[Retry]) -> None:
        try:
            every = self.settings.daemon.lease_seconds / 3
            async with pickup.leases_renewed(dispatcher.store, self.owner, every):
                await dispatcher.dispatch(due, retries)
        except Exception:
            log.exception("delivery failed unexpectedly; the next rescan tries again")
            self.planner.full_scan_wanted = True  # whatever went wrong, look at everything
        finally:
            for item in due:  # claimed or not, the next rescan plans what is left
                self.planner.forget(item)

    # --- several daemons: who we are, the heartbeat -------------------------------------------

    def _register(self) -> None:
        """Tell the database who we are and which channels we deliver (`service status`,
        and the claims of other daemons, which leave our channels' deliveries to us)."""
        host, pid = socket.gethostname(), os.getpid()
        where = f"{host}\0{self.settings.path or ''}\0{os.getuid()}"
        place = hashlib.sha256(where.encode()).hexdigest()[:16]
        one_machine = self.store.engine.dialect.name == "sqlite"
        self.store.register_daemon(self.owner, host, pid, place, tuple(self.channels),
                                   self.started_at,
                                   lambda other: process_alive(other, one_machine))

    def _look_around(self) -> None:
        """The rescan's heartbeat (in the worker thread, with the rescan's reads): a write,
        so at most every HEARTBEAT_SECONDS however short the rescans are."""
        beat = time.monotonic()
        if beat - self.last_heartbeat < HEARTBEAT_SECONDS:
            return
        self.last_heartbeat = beat
        if not self.store.heartbeat(self.owner):
            self._register()

    def _status_line(self) -> str:
        upcoming = self.planner.next_fire_at
        hours = int(HORIZON.total_seconds() // 3600)
        when = (upcoming.astimezone(self.policy.zone).strftime("%a %d %b %H:%M")
                if upcoming else f"none within {hours} hours")
        return f"STATUS={self.planner.waiting} waiting interview(s); next nudge: {when}"


# --- helpers ----------------------------------------------------------------------------------


def _open_store(database_url: str):
    from followup.store import Store

    return Store.open(database_url)


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


