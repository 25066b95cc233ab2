"""The calendar watch: interviews arrive from the user's calendar, nudges go back into it.

Every `poll_seconds` the source looks at each watched calendar: a file is
re-read when its modification time or size changed, a feed is fetched with a
conditional request, a CalDAV collection is asked what changed since its sync
token. What they hold is imported as `followup import` does it (through the
calendar use cases the daemon hands in), and the user gets a notice of what
arrived. Then the plan is exported (`export`, `export_caldav`) when it
changed. Each calendar that fails is retried with backoff, reported once per
change of state, and never holds up the others or any nudge: a round runs on a
thread of the source's own (see followup.threads), never on the pool that claims
and records deliveries, and each fetch has a total deadline (see `net`). A
stopped watch waits for its round's thread JOIN_TIMEOUT at most.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from followup.backoff import backoff_delay
from followup.errors import UserError
from followup.sources.base import Source, SourceContext, SourceState, SourceStatus
from followup.sources.calendar.events import changed_any
from followup.sources.calendar.files import watch_files
from followup.threads import join, on_own_thread

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from followup.config import CalendarSettings, Settings
    from followup.sources.calendar.events import Step

log = logging.getLogger("followup")

class Calendars(Protocol):
    """The calendar use cases the watch works through (app.calendar.CalendarSync):
    each reads a calendar and applies what changed, returning the steps taken."""

    def import_source(self, source: str, dry_run: bool = False) -> list[Step]: ...
    def poll_feed(self, url: str) -> list[Step]: ...
    def poll_caldav(self, url: str) -> list[Step]: ...
    def export_file(self, path: Path) -> bool: ...
    def export_caldav(self, url: str) -> int: ...


BACKOFF_MAX = 3600.0  # seconds: the longest wait before trying a failing calendar again
JOIN_TIMEOUT = 5.0  # seconds a stopped watch waits for its round's thread


@dataclass
class Watch:
    """One watched thing (a file, a feed, the CalDAV collection, an export) and its
    failures, for backoff."""

    name: str  # as the user sees it (a feed's secret path never shown)
    work: Callable[[Calendars], list[Step]]
    failures: int = 0
    next_try: float = 0.0  # time.monotonic()
    problem: str = ""
    memo: dict = field(default_factory=dict)
    path: Path | None = None  # a calendar file's, watched with inotify too
    remote: bool = False  # a feed or CalDAV: read on the poll timer only


class CalendarSource(Source):
    name = "calendar"

    def __init__(self, settings: Settings) -> None:
        self.all_settings = settings
        self.settings = settings.calendar
        self.watches = self._watches(settings.calendar)
        self.threads: list[threading.Thread] = []  # the rounds' (followup.threads)

    async def run(self, context: SourceContext) -> None:
        """Poll every `poll_seconds`; a calendar file that changes (inotify, see
        `files`) is read at once, in a round that leaves feeds and CalDAV to the timer."""
        changed = asyncio.Event()
        files = [watch.path for watch in self.watches if watch.path is not None]
        watcher = asyncio.create_task(watch_files(files, changed)) if files else None
        last: tuple[SourceState, str] | None = None
        files_only, next_full = False, 0.0
        try:
            while True:
                if not files_only:
                    next_full = time.monotonic() + self.settings.poll_seconds
                last = await self._round(context, files_only, last)
                files_only = await _woken(changed, next_full - time.monotonic())
        finally:
            if watcher is not None:
                watcher.cancel()
            await self._join()

    async def _round(self, context: SourceContext, files_only: bool,
                     last: tuple[SourceState, str] | None) -> tuple[SourceState, str] | None:
        try:
            steps = await on_own_thread(self, self.poll, context.uses, files_only)
            await self._tell(context, steps)
            state = self._state()
            if state != last:
                last = state
                await context.report(self.name, SourceStatus(state[0], context.now(), state[1]))
            if changed_any(steps):
                context.changed(None)
        except asyncio.CancelledError:
            raise
        except Exception:  # never raise: log it, try again next round
            log.exception("the calendar watch failed unexpectedly")
        return last

    async def _join(self) -> None:
        """Wait for a round still under way (a server slower than its timeouts)."""
        if self.threads:
            left = await asyncio.to_thread(join, self.threads, JOIN_TIMEOUT)
            if left:
                log.debug("calendar: a round is still waiting on a server after %g s "
                          "(it ends with its deadline)", JOIN_TIMEOUT)

    def poll(self, open_calendar: Callable[[Settings], Calendars],
             files_only: bool = False) -> list[Step]:
        """One round over every watch that is due (not backing off), through the
        calendar use cases `open_calendar` makes for these settings; with `files_only`,
        the files and the exports but not feeds nor CalDAV. Runs on its own thread."""
        sync = open_calendar(self.all_settings)
        steps: list[Step] = []
        for watch in self.watches:
            if time.monotonic() < watch.next_try or (files_only and watch.remote):
                continue
            try:
                steps += watch.work(sync)
            except UserError as error:
                self._failed(watch, error.message)
            except Exception as error:  # a bug or a library's surprise: this watch waits
                log.exception("calendar: %s failed unexpectedly", watch.name)
                self._failed(watch, f"{watch.name}: unexpected {type(error).__name__}")
            else:
                if watch.failures:
                    log.info("calendar: %s works again", watch.name)
                watch.failures, watch.next_try, watch.problem = 0, 0.0, ""
        return steps

    def _failed(self, watch: Watch, problem: str) -> None:
        watch.failures += 1
        wait = backoff(self.settings.poll_seconds, watch.failures)
        watch.next_try = time.monotonic() + wait
        watch.problem = problem
        log.warning("calendar: %s (try %d; next in %d s)", problem, watch.failures, wait)

    def _state(self) -> tuple[SourceState, str]:
        failing = [w for w in self.watches if w.failures]
        if not failing:
            return SourceState.OK, f"watching {len(self.watches)} calendar(s)"
        return SourceState.RETRYING, "; ".join(w.problem for w in failing)

    async def _tell(self, context: SourceContext, steps: list[Step]) -> None:
        zone = self.all_settings.zone
        for title, body in notices(steps, zone):
            await context.notice(title, body)
        for step in steps:
            if step.kind == "skipped":
                log.info("calendar: skipped %r: %s", step.summary, step.reason)

    # --- what is watched ------------------------------------------------------------------------

    def _watches(self, settings: CalendarSettings) -> list[Watch]:
        from followup.sources.calendar.net import shown_url

        watches = [_file_watch(path) for path in settings.files]
        watches += [Watch(f"feed {shown_url(url)}", lambda sync, url=url: sync.poll_feed(url),
                          remote=True) for url in settings.feeds]
        if settings.caldav:
            url = settings.caldav
            watches.append(Watch(f"CalDAV {shown_url(url)}", lambda s: s.poll_caldav(url),
                                 remote=True))
        if settings.export is not None:
            path = settings.export
            watches.append(Watch(f"export {path}", lambda s: _export_file(s, path)))
        if settings.export_caldav:
            url = settings.export_caldav
            watches.append(Watch(f"export to CalDAV {shown_url(url)}",
                                 lambda s: _export_caldav(s, url)))
        return watches


def _file_watch(path: Path) -> Watch:
    watch = Watch(f"file {path}", lambda sync: [], path=path)

    def work(sync: Calendars) -> list[Step]:
        try:
            info = path.stat()
        except OSError as error:
            raise UserError(f"cannot read {path}: {error.strerror or error}") from None
        signature = (info.st_mtime_ns, info.st_size, info.st_ino)
        if watch.memo.get("signature") == signature:
            return []
        steps = sync.import_source(str(path))
        watch.memo["signature"] = signature
        return steps

    watch.work = work
    return watch


async def _woken(changed: asyncio.Event, timeout: float) -> bool:
    """Wait until a watched file changed (True) or `timeout` seconds passed (False)."""
    try:
        await asyncio.wait_for(changed.wait(), max(timeout, 0.0))
    except TimeoutError:
        return False
    changed.clear()
    return True


def _export_file(sync: Calendars, path: Path) -> list[Step]:
    try:
        if sync.export_file(path):
            log.info("calendar: wrote the planned nudges to %s", path)
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None
    return []


def _export_caldav(sync: Calendars, url: str) -> list[Step]:
    count = sync.export_caldav(url)
    if count:
        log.info("calendar: %d planned nudge(s) written to CalDAV", count)
    return []


def backoff(poll_seconds: int, failures: int) -> float:
    """Seconds before trying a calendar again after `failures` failures in a row: the
    poll interval, doubling, up to an hour (or the poll interval, when that is longer)."""
    return float(backoff_delay(poll_seconds, failures, max(BACKOFF_MAX, poll_seconds)))


# --- what the user is told -------------------------------------------------------------------


def notices(steps: list[Step], zone: ZoneInfo) -> list[tuple[str, str]]:
    """A notice per interview that arrived, moved or was cancelled, and per broken event.
    Pure: ("Interview imported", "Interview with Acme on Thu 3 Dec, 10:00 imported
    from your calendar")."""
    told = []
    for step in steps:
        company = _company(step)
        at = step.changes.get("interview_at")
        when = f" on {_day(at, zone)}" if at else ""
        if step.kind == "added":
            told.append(("Interview imported",
                         f"Interview with {company}{when} imported from your calendar"))
        elif step.kind == "updated":
            told.append(("Interview moved", f"{step.summary} moved to{when[3:]}"))
        elif step.kind == "closed":
            told.append(("Interview cancelled",
                         f"{step.summary}: {step.reason}; nudges stopped"))
        elif step.kind == "skipped" and step.reason.startswith("broken"):
            told.append(("A calendar event was skipped", f"{step.summary}: {step.reason}"))
    return told


def _company(step: Step) -> str:
    return str(step.changes.get("company") or step.summary)


def _day(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"
