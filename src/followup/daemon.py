"""`followup run`: the long-running process that delivers nudges when they fall due.

The database is the truth; the schedule is derived from it and can be rebuilt
at any time. A scan computes each waiting interview's next nudge with the rules
and keeps one one-shot APScheduler job per nudge falling due within the
horizon; a job that fires hands its nudge to the dispatcher, which claims it in
the database before any channel sees it.

The daemon looks again at one interview when the CLI pokes its socket (see
`wake`), and at whatever the change log says changed (see `pickup`): at once
on PostgreSQL's NOTIFY, whichever machine wrote it, and at each periodic
rescan, which costs one small read when nothing changed. The rescan also
bounds how late a nudge can be after a suspend: the scheduler's sleep is on
the monotonic clock, which stops while the machine sleeps. Deliveries in
flight are leased in the database and renewed while they run; the rescan
takes over those of other daemons whose lease lapsed.

Signal handlers only set flags; the main loop acts on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from followup import pickup, rules, wake
from followup.channels.base import Channel
from followup.config import Settings
from followup.dispatch import Dispatcher, Due, Retry
from followup.errors import NotFound, UserError
from followup.models import Record, Status
from followup.sdnotify import SystemdNotifier
from followup.sources.base import Source, SourceContext, SourceStatus

log = logging.getLogger("followup")

HORIZON = timedelta(hours=12)  # jobs are kept for nudges due within this
BATCH_WINDOW = 0.05  # seconds to gather nudges falling due together (for a digest)
STOP_GRACE = 8.0  # seconds to let deliveries in flight finish after SIGTERM


ChannelBuilder = Callable[[Settings], dict[str, Channel]]
SourceBuilder = Callable[[Settings], list[Source]]


class Daemon:
    def __init__(self, settings: Settings, store, build_channels: ChannelBuilder,
                 load_settings: Callable[[], Settings], now: Callable[[], datetime],
                 notifier: SystemdNotifier | None = None, verbose: bool = False,
                 build_sources: SourceBuilder | None = None, app: object = None) -> None:
        self.settings = settings
        self.verbose = verbose
        self.store = store
        self.build_channels = build_channels
        self.load_settings = load_settings
        self.now = now
        self.notifier = notifier or SystemdNotifier.from_environment()
        self.owner = process_identity()
        self.scheduler = AsyncIOScheduler(
            timezone="UTC",
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1})
        self.planned: dict[int, tuple[int, datetime]] = {}  # interview -> (number, fire_at)
        self.cursor = 0  # the newest change (store.changes) applied
        self.full_scan_wanted = False
        self.pickup = pickup.Pickup(settings.database_url, self.catch_up)
        self.started_at = now()
        self.waiting = 0
        self.last_full_scan = 0.0
        self.inflight: set[asyncio.Task] = set()
        self.batch: tuple[list[Due], list[Retry]] = ([], [])
        self.flush_handle: asyncio.TimerHandle | None = None
        self.wakeup = asyncio.Event()
        self.stopping = False
        self.reload_requested = False
        self.transport: asyncio.DatagramTransport | None = None
        self.channels: dict[str, Channel] = {}
        self.dispatcher: Dispatcher | None = None
        self.build_sources = build_sources or (lambda settings: [])
        self.app = app
        self.source_tasks: list[asyncio.Task] = []

    # --- the main loop ------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum, handler in ((signal.SIGTERM, self._on_stop), (signal.SIGINT, self._on_stop),
                                (signal.SIGHUP, self._on_reload)):
            loop.add_signal_handler(signum, handler)
        self._use_settings(self.settings)
        await self._listen()
        self.scheduler.start()
        self._schedule_housekeeping()
        await self.full_scan()
        await asyncio.to_thread(self._register)
        self.pickup.start()
        self._start_sources()
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
        self.scheduler.shutdown(wait=False)
        await self.pickup.stop()
        await self._stop_sources()
        if self.transport is not None:
            self.transport.close()
            _unlink(self.socket_path)
        if self.flush_handle is not None:
            self.flush_handle.cancel()
        if self.inflight:
            _, pending = await asyncio.wait(self.inflight, timeout=STOP_GRACE)
            for task in pending:
                task.cancel()
        await self._close_channels()
        with contextlib.suppress(UserError):
            await asyncio.to_thread(self.store.daemon_stopped, self.owner)
        await asyncio.to_thread(self.store.close)
        log.info("stopped")

    # --- settings -------------------------------------------------------------------------------

    def _use_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.policy = settings.policy()
        self.channels = self.build_channels(settings)
        if not self.channels:
            log.warning("no channel is enabled: nudges will wait until one is "
                        "(see [notify.*] in %s)", settings.path or "the configuration")
        self.dispatcher = Dispatcher(self.store, self.channels, settings, self.policy,
                                     self.owner, self.now, self.schedule_retry)
        self.store.lease_seconds = settings.daemon.lease_seconds
        if not self.verbose:
            logging.getLogger("followup").setLevel(_level(settings.daemon.log_level))

    async def reload(self) -> None:
        try:
            settings = await asyncio.to_thread(self.load_settings)
        except UserError as error:
            log.error("reload failed, keeping the old settings: %s",
                      error.message.replace("\n", "; "))
            return
        if settings.database_url != self.settings.database_url:
            log.warning("the database URL changed: restart the daemon to use it")
            settings = replace(settings, database_url=self.settings.database_url)
        await self._stop_sources()
        await self._close_channels()
        self._use_settings(settings)
        await asyncio.to_thread(self._register)  # the channels may have changed
        self._start_sources()
        self.planned.clear()
        self.scheduler.remove_all_jobs()
        self._schedule_housekeeping()
        await self.full_scan()
        log.info("reloaded %s", settings.path or "the defaults")

    async def _close_channels(self) -> None:
        for channel in self.channels.values():
            try:
                await asyncio.wait_for(channel.close(), 5)
            except Exception:  # closing is best effort
                log.debug("closing the %s channel failed", channel.name, exc_info=True)

    # --- sources ------------------------------------------------------------------------------

    def _start_sources(self) -> None:
        context = SourceContext(app=self.app, notice=self.notice, report=self.report_source,
                                changed=self.source_changed, now=self.now)
        for source in self.build_sources(self.settings):
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
        import json

        value = json.dumps({"state": str(status.state), "since": status.since.isoformat(),
                            "detail": status.detail})
        await asyncio.to_thread(self.store.set_meta, f"source:{name}", value)

    def source_changed(self, interview_id: int | None) -> None:
        """A source changed an interview (None: several): look again, as after a poke."""
        coroutine = self.full_scan() if interview_id is None else self.look_at(interview_id)
        task = asyncio.get_running_loop().create_task(coroutine)
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)

    # --- scanning -----------------------------------------------------------------------------

    def _schedule_housekeeping(self) -> None:
        self.scheduler.add_job(self.rescan, "interval", id="rescan", replace_existing=True,
                               seconds=self.settings.daemon.rescan_seconds)
        interval = self.notifier.watchdog_interval
        if interval:
            self.scheduler.add_job(self.notifier.send, "interval", args=["WATCHDOG=1"],
                                   id="watchdog", replace_existing=True, seconds=interval)

    async def rescan(self) -> None:
        """The periodic look: what changed (the change log's tail), the heartbeat and the
        leases of other daemons; a full scan when the horizon moved or work failed."""
        stale_horizon = time.monotonic() - self.last_full_scan > HORIZON.total_seconds() / 2
        try:
            if stale_horizon or self.full_scan_wanted:
                await self.full_scan()
                if stale_horizon:  # every 6 hours: the change log keeps a week
                    await asyncio.to_thread(self.store.prune_changes)
            # One trip to the database's thread: each one wakes the process twice.
            changes, lapsed = await asyncio.to_thread(self._look_around)
            await self._apply(changes)
            self._take_over(lapsed)
        except UserError as error:  # the database is away: the next rescan tries again
            log.warning("rescan postponed: %s", error.message)
        self.scheduler.wakeup()  # due jobs are found by wall time, after a suspend too

    async def full_scan(self) -> None:
        self.full_scan_wanted = False
        cursor = await asyncio.to_thread(self.store.newest_change)
        records = await asyncio.to_thread(self.store.records, [Status.WAITING], False,
                                          self.policy.max_followups)
        undelivered = await asyncio.to_thread(self.store.undelivered)
        now = self.now()
        seen = set()
        for record in records:
            seen.add(record.interview.id)
            self._plan(record, now)
        for interview_id in set(self.planned) - seen:
            self._unplan(interview_id)
        for pending in undelivered:
            self._plan_retry(pending, now)
        self.cursor, self.last_full_scan = cursor, time.monotonic()
        self.waiting = len(records)
        self.notifier.send(self._status_line())
        log.debug("scanned %d waiting interview(s); %d nudge(s) scheduled",
                  len(records), len(self.planned))

    async def look_at(self, interview_id: int) -> None:
        """Look again at one interview after the CLI changed it."""
        try:
            record = await asyncio.to_thread(self.store.get, interview_id)
        except NotFound:
            self._unplan(interview_id)
            return
        self._plan(record, self.now())
        self.scheduler.wakeup()

    def _plan(self, record: Record, now: datetime) -> None:
        interview_id = record.interview.id
        upcoming = rules.next_nudge(record, self.policy, now)
        if (upcoming is None or upcoming.stale or not self.channels
                or upcoming.fire_at > now + HORIZON):
            self._unplan(interview_id)
            return
        if self.planned.get(interview_id) == (upcoming.number, upcoming.fire_at):
            return
        self.planned[interview_id] = (upcoming.number, upcoming.fire_at)
        due = Due(interview_id, upcoming.number, upcoming.opens_at)
        self.scheduler.add_job(self._fire, "date", run_date=upcoming.fire_at, args=[due],
                               id=f"nudge-{interview_id}", replace_existing=True)
        if upcoming.fire_at > now:
            log.info("scheduled nudge %d for interview %d (%s) at %s", upcoming.number,
                     interview_id, record.interview.company,
                     upcoming.fire_at.astimezone(self.policy.zone).isoformat(timespec="minutes"))

    def _unplan(self, interview_id: int) -> None:
        if self.planned.pop(interview_id, None) is not None:
            with contextlib.suppress(JobLookupError):  # it already ran
                self.scheduler.remove_job(f"nudge-{interview_id}")

    def _plan_retry(self, pending, now: datetime) -> None:
        owner = pending.owner
        if owner == self.owner or (owner is not None and process_alive(owner)):
            return  # being delivered right now, here or by another daemon
        if owner is not None:  # a process on this machine that died: no need to wait
            self.store.end_leases(owner)  # for its lease to lapse
        when = max(pending.next_attempt_at or now, now)
        self.schedule_retry(pending.record.interview.id, pending.number, pending.channel, when,
                            previous_owner=owner)

    def schedule_retry(self, interview_id: int, number: int, channel: str, when: datetime,
                       previous_owner: str | None = None) -> None:
        if channel not in self.channels:
            return
        when = rules.first_working_instant(when, self.policy) or when
        retry = Retry(interview_id, number, channel, previous_owner)
        self.scheduler.add_job(self._fire_retry, "date", run_date=when, args=[retry],
                               id=f"retry-{interview_id}-{number}-{channel}",
                               replace_existing=True)

    # --- firing -------------------------------------------------------------------------------

    async def _fire(self, due: Due) -> None:
        self.planned.pop(due.interview_id, None)
        self.batch[0].append(due)
        self._flush_soon()

    async def _fire_retry(self, retry: Retry) -> None:
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
        task = asyncio.get_running_loop().create_task(self._dispatch(due, retries))
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)

    async def _dispatch(self, due: list[Due], retries: list[Retry]) -> None:
        try:
            every = self.settings.daemon.lease_seconds / 3
            async with pickup.leases_renewed(self.store, self.owner, every):
                await self.dispatcher.dispatch(due, retries)
        except UserError as error:  # the database was locked past its timeout, say
            log.error("delivery postponed: %s", error.message)
            for item in due:
                self.planned.pop(item.interview_id, None)
            self.full_scan_wanted = True
        except Exception:
            log.exception("delivery failed unexpectedly; the next rescan tries again")
            self.full_scan_wanted = True

    # --- several daemons: changes made elsewhere, who we are, lapsed leases ------------------

    async def catch_up(self) -> None:
        """Apply what changed since the last look, whoever wrote it (see `pickup`)."""
        await self._apply(await asyncio.to_thread(self.store.changed_since, self.cursor))

    async def _apply(self, changes: tuple) -> None:
        found, records, pending = changes
        if found.everything:
            await self.full_scan()
            return
        now, present = self.now(), set()
        for record in records:
            present.add(record.interview.id)
            self._plan(record, now)
        for interview_id in found.interview_ids - present:
            self._unplan(interview_id)
        for delivery in pending:
            self._plan_retry(delivery, now)
        self.cursor = max(self.cursor, found.newest)
        if found.interview_ids:
            log.debug("applied changes to %d interview(s)", len(found.interview_ids))
            self.scheduler.wakeup()

    def _register(self) -> None:
        """Tell the database who we are and which channels we deliver (`service status`,
        and the claims of other daemons, which leave our channels' deliveries to us)."""
        host, pid = socket.gethostname(), os.getpid()
        where = f"{host}\0{self.settings.path or ''}\0{os.getuid()}"
        place = hashlib.sha256(where.encode()).hexdigest()[:16]
        self.store.register_daemon(self.owner, host, pid, place, tuple(self.channels),
                                   self.started_at)

    def _look_around(self) -> tuple:
        """The rescan's reads and the heartbeat (in a worker thread): what changed, and
        the deliveries whose owner's lease lapsed (it died, or its machine is off)."""
        if not self.store.heartbeat(self.owner):
            self._register()
        return self.store.changed_since(self.cursor), self.store.undelivered(None, True)

    def _take_over(self, lapsed: list) -> None:
        """Take over the lapsed deliveries on channels we have."""
        for delivery in lapsed:
            if delivery.channel in self.channels and delivery.owner != self.owner:
                interview_id = delivery.record.interview.id
                log.info("taking over nudge %d for interview %d by %s from %s (its lease "
                         "lapsed)", delivery.number, interview_id, delivery.channel,
                         delivery.owner)
                self.schedule_retry(interview_id, delivery.number, delivery.channel,
                                    self.now(), previous_owner=delivery.owner)

    # --- the CLI's poke -----------------------------------------------------------------------

    @property
    def socket_path(self) -> Path:
        return wake.socket_path(self.settings.database_url)

    async def _listen(self) -> None:
        path = self.socket_path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder = path.parent.stat()
        if folder.st_uid != os.getuid() or folder.st_mode & 0o077:
            log.warning("%s is not private to this user; relying on rescans", path.parent)
            return
        if wake.poke(self.settings.database_url, None):
            log.warning("another daemon listens on %s; relying on rescans", path)
            return
        _unlink(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(path))
        os.chmod(path, 0o600)
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: _PokeProtocol(self), sock=sock)

    def poked(self, message: bytes) -> None:
        text = message.decode(errors="replace").strip()
        one = text.isascii() and text.isdigit() and len(text) < 19
        coroutine = self.look_at(int(text)) if one else self.full_scan()
        task = asyncio.get_running_loop().create_task(coroutine)
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)

    def _status_line(self) -> str:
        upcoming = min((fire_at for _, fire_at in self.planned.values()), default=None)
        when = (upcoming.astimezone(self.policy.zone).strftime("%a %d %b %H:%M")
                if upcoming else "none within 12 hours")
        return f"STATUS={self.waiting} waiting interview(s); next nudge: {when}"


class _PokeProtocol(asyncio.DatagramProtocol):
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def datagram_received(self, data: bytes, addr) -> None:
        self.daemon.poked(data)


# --- helpers ----------------------------------------------------------------------------------


def process_identity() -> str:
    """This process, as `host/pid/start`: a pid alone could be reused after a crash."""
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{_start_ticks(pid)}"


def process_alive(identity: str) -> bool:
    """Whether the process named by `process_identity` still runs (here; others are
    taken as alive, since we cannot tell)."""
    host, _, rest = identity.partition("/")
    pid_text, _, start = rest.partition("/")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    return _start_ticks(int(pid_text)) == start


def _start_ticks(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _level(name: str) -> int:
    return getattr(logging, name.upper(), logging.INFO)


def setup_logging(level: str, verbose: bool) -> None:
    """One line per event on stderr; no timestamps when journald adds its own."""
    handler = logging.StreamHandler()
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                               "%Y-%m-%d %H:%M:%S"))
    logger = logging.getLogger("followup")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose else _level(level))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
