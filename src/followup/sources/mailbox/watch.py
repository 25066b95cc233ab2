"""The mailbox watch: one pass (`scan`), and the daemon's watch (`MailboxSource`).

Per folder the UIDVALIDITY and the last UID read are kept in the database: the
first scan reads back `lookback_days`, later ones only new UIDs, and a
UIDVALIDITY change means one rescan of `lookback_days` (the Message-IDs already
dealt with are skipped, so nothing is applied twice).

`scan` is shared by `followup mailbox scan` and the daemon. The daemon's
`MailboxSource` does a first pass over every folder, then watches each folder
on its own connection with IDLE (re-issued every few minutes; RFC 2177 allows
29, middleboxes drop sooner), or polls every `poll_seconds` when the server
cannot IDLE. Failures are retried with capped backoff; each change of state is
logged and reported once. The IMAP side is in `imap`; what the messages mean
is decided in `replies`, and applied through a `Ledger` the daemon hands in
(app.mailbox's).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from followup.backoff import backoff_delay
from followup.errors import UserError
from followup.sources.base import Source, SourceContext, SourceState, SourceStatus
from followup.sources.mailbox import away, replies
from followup.sources.mailbox.imap import (
    IDLE_RENEW,
    Connection,
    FolderRead,
    MailboxError,
    Progress,
    Unreachable,
    account,
    connect,
    network_errors,
    reason,
)
from followup.sources.mailbox.replies import Finding, Folder, Kind, Message
from followup.threads import join, on_own_thread

if TYPE_CHECKING:
    from followup.config import MailboxSettings, Settings
    from followup.models import FolderState

log = logging.getLogger("followup")

JOIN_TIMEOUT = 5.0  # seconds to wait for a stopped watch's threads


# --- one pass ----------------------------------------------------------------------------------


class Ledger(Protocol):
    """What the watch reads from and writes through the use cases (app.mailbox): where
    each folder's read stopped, what messages mean, and applying that."""

    def now(self) -> datetime: ...
    def folder_state(self, account: str, folder: str) -> FolderState | None: ...
    def save_folder_state(self, account: str, folder: str, state: FolderState) -> None: ...
    def findings(self, messages: list[Message]) -> list[Finding]: ...
    def apply(self, findings: list[Finding], poke: bool = True) -> list[Finding]: ...
    def company(self, interview_id: int) -> str: ...
    def from_employer(self, finding: Finding) -> bool: ...


def scan(ledger: Ledger, connection: Connection, folders: Sequence[tuple[str, Folder]],
         dry_run: bool = False, progress: Progress | None = None,
         poke: bool = True, report: Callable[[str], None] | None = None) -> list[Finding]:
    """Read what is new in these folders, decide, and (unless `dry_run`) apply the
    findings and keep where each folder's read stopped. Returns the findings new
    in this pass (with `applied` set). Blocking."""
    key = account(connection.settings)
    since = ledger.now() - timedelta(days=connection.settings.lookback_days)
    states = [ledger.folder_state(key, name) for name, _ in folders]
    reads = [connection.read(name, role, state, since, progress)
             for (name, role), state in zip(folders, states, strict=True)]
    return apply_reads(ledger, key, reads, states, dry_run, poke, report, connection)


def apply_reads(ledger: Ledger, key: str, reads: Sequence[FolderRead],
                before: Sequence[FolderState | None], dry_run: bool = False,
                poke: bool = True, report: Callable[[str], None] | None = None,
                connection: Connection | None = None) -> list[Finding]:
    """Decide what the messages read mean and (unless `dry_run`) apply that, then
    keep where each read stopped. Returns the findings new in this pass. A message
    that cannot be read is skipped, logged and given to `report` (one line). With
    the `connection`, an employer's out-of-office reply gets its return date (`away`)."""
    now = ledger.now()
    messages, places = [], {}
    for read in reads:
        for raw in read.raws:
            try:
                messages.append(replies.parse(raw.headers, read.role, now, raw.arrived))
            except replies.Unreadable as why:
                # Reported once: the folder's position moves past it, so the next pass
                # does not read it again.
                said = f"skipped a message in {read.name} (UID {raw.uid}) that cannot " \
                       f"be read: {replies.clean(str(why))}"
                log.warning("mailbox: %s", said)
                if report is not None:
                    report(said)
                continue
            places[messages[-1].message_id] = (read.name, raw.uid)
    findings = ledger.findings(messages) if messages else []
    if connection is not None and findings:
        findings = away.with_return_dates(findings, connection.client, places,
                                          ledger.from_employer, now)
    if dry_run:
        return findings
    done = ledger.apply(findings, poke=poke)
    for read, state in zip(reads, before, strict=True):
        if read.state != state:
            ledger.save_folder_state(key, read.name, read.state)
    return done


def scan_once(settings: MailboxSettings, ledger: Ledger, dry_run: bool = False,
              progress: Progress | None = None, report: Callable[[str], None] | None = None
              ) -> list[Finding]:
    """`followup mailbox scan`: connect, one pass over every folder, disconnect."""
    connection = connect(settings)
    try:
        return guarded(lambda: scan(ledger, connection, connection.folders(), dry_run,
                                    progress, True, report))
    finally:
        connection.close()


def guarded(function, *args):
    """Network errors in the middle of a session are the server's: Unreachable (the
    daemon retries later; the command says so and exits 1)."""
    try:
        return function(*args)
    except MailboxError:
        raise
    except network_errors() as error:
        raise Unreachable(f"the connection to the mailbox server failed: "
                          f"{reason(error)}") from None


# --- the daemon's watch ------------------------------------------------------------------------


def notice_of(finding: Finding, company: Callable[[int], str]) -> tuple[str, str] | None:
    """The notice (title, body) a new finding gives the user, or None."""
    message = finding.message
    said = f"From {message.sender}: {message.subject or '(no subject)'}"
    ids = finding.interview_ids
    if finding.kind is Kind.REPLY and finding.applied:
        return f"{company(ids[0])} replied: nudges stopped", \
            f"{said}\n(a misreading? `followup reopen {ids[0]}`)"
    if finding.kind is Kind.FOLLOWUP_SENT and finding.applied and not finding.linked:
        return f"Follow-up to {company(ids[0])} recorded", \
            f"To {finding.counterpart}: {message.subject or '(no subject)'}"
    if finding.kind is Kind.AMBIGUOUS:
        which = ", ".join(f"{company(i)} ({i})" for i in ids)
        return "Is this a reply?", (f"{said}\nIt could be about {which}. If it is, say so "
                                    f"with `followup heard ID`.")
    if finding.kind is Kind.AUTO_REPLY and finding.applied and finding.returns_on:
        return away.notice(company(ids[0]), finding.returns_on, message.sender)
    if finding.kind is Kind.BOUNCE:
        if replies.is_delay(message):
            return None  # the server is still trying: it may yet arrive
        if finding.counterpart:
            return (f"Your follow-up to {finding.counterpart} did not arrive",
                    f"{said}\nThe address {finding.counterpart} ({company(ids[0])}) failed: "
                    f"check it, and send the follow-up again.")
        return (f"Your follow-up to {company(ids[0])} did not arrive",
                f"{said}\nA mail server of {company(ids[0])} sent it back: check the "
                f"address, and send the follow-up again.")
    if finding.kind is Kind.AUTOMATIC:
        where = message.sender.rpartition("@")[2] or message.sender
        subject = message.subject or "(no subject)"
        return (f"Automatic mail from {company(ids[0])}",
                f"{where} sent '{subject}': not counted as a reply; "
                f"`followup heard {ids[0]}` if it is one.")
    return None


class MailboxSource(Source):
    name = "mailbox"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.mailbox
        daemon = settings.daemon
        self.backoff_base = daemon.retry_base_seconds
        self.backoff_cap = min(daemon.retry_max_seconds, max(self.settings.poll_seconds, 60))
        self.status: tuple[SourceState, str] | None = None
        self.failures = 0  # in a row, for the backoff
        self.connections: set[Opening] = set()

    async def run(self, context: SourceContext) -> None:
        await self._report(context, SourceState.STARTING, "connecting")
        while True:
            try:
                await self._session(context)
            except asyncio.CancelledError:
                raise
            except MailboxError as error:
                state = SourceState.FAILED if error.lasting else SourceState.RETRYING
                await self._retry_later(context, state, error.message)
            except Exception as error:  # a bug, or an error we did not foresee: keep going
                log.debug("the mailbox watch failed", exc_info=True)
                await self._retry_later(context, SourceState.RETRYING,
                                        f"unexpected error: {type(error).__name__}: {error}")
            finally:
                await self._close_all()

    async def _retry_later(self, context: SourceContext, state: SourceState,
                           why: str) -> None:
        """Backoff: the base, doubling with each failure in a row, up to the cap."""
        self.failures += 1
        delay = backoff_delay(self.backoff_base, self.failures, self.backoff_cap)
        await self._report(context, state, why, f"next try in {delay} s")
        await asyncio.sleep(delay)

    async def _session(self, context: SourceContext) -> None:
        """Connect, do a first pass over every folder, then watch until something fails."""
        first = await self._connect()
        folders = await on_own_thread(first, first.folders)
        await self._pass(context, first, folders)
        self.failures = 0
        how = "IDLE" if first.can_idle else f"polling every {self.settings.poll_seconds} s"
        await self._report(context, SourceState.OK,
                           f"watching {', '.join(name for name, _ in folders)} ({how})")
        if not first.can_idle:
            while True:
                await asyncio.sleep(self.settings.poll_seconds)
                await self._pass(context, first, folders)
        loop = asyncio.get_running_loop()
        watchers = [loop.create_task(self._watch(context, first if i == 0 else None, folder))
                    for i, folder in enumerate(folders)]
        try:
            done, _ = await asyncio.wait(watchers, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # raises the watcher's error: the session ends, and is retried
        finally:
            for task in watchers:
                task.cancel()
            await self._close_all()
            await asyncio.gather(*watchers, return_exceptions=True)

    async def _watch(self, context: SourceContext, connection: Connection | None,
                     folder: tuple[str, Folder]) -> None:
        if connection is None:
            connection = await self._connect()
        # Read this folder once more: it is then the one selected, which IDLE watches.
        await self._pass(context, connection, [folder])
        ledger: Ledger = context.uses
        state = await asyncio.to_thread(ledger.folder_state, account(self.settings), folder[0])
        while True:
            read = await on_own_thread(connection, guarded, self._next_read, connection,
                                       folder, state, context.now)
            found = await asyncio.to_thread(guarded, apply_reads, ledger,
                                            account(self.settings), [read], [state],
                                            False, False, None, connection)
            state = read.state
            await self._tell(context, found)

    def _next_read(self, connection: Connection, folder: tuple[str, Folder],
                   state: FolderState | None, now: Callable[[], datetime]) -> FolderRead:
        """Wait (IDLE) and read again, in this thread, until something is new: so a
        keep-alive or a quiet safety-net read costs no trip through the event loop."""
        timeout = min(self.settings.poll_seconds, IDLE_RENEW)
        since = now() - timedelta(days=self.settings.lookback_days)
        while True:
            connection.wait(timeout)
            if connection.aborted:
                raise Unreachable("the mailbox watch was stopped")
            read = connection.read(folder[0], folder[1], state, since)
            if read.raws or read.state != state:
                return read

    async def _connect(self) -> Connection:
        opening = Opening(self.settings)
        self.connections.add(opening)  # before the login: a stop meanwhile closes it
        return await on_own_thread(opening, opening.open)

    async def _pass(self, context: SourceContext, connection: Connection,
                    folders: Sequence[tuple[str, Folder]]) -> None:
        found = await on_own_thread(connection, guarded, scan, context.uses, connection,
                                    folders, False, None, False)
        await self._tell(context, found)

    async def _tell(self, context: SourceContext, found: Sequence[Finding]) -> None:
        """Log each new finding, notice the user, and have the daemon look again."""
        ledger: Ledger = context.uses
        for finding in found:
            log.info("mailbox: %s for interview(s) %s: %s", finding.kind,
                     ", ".join(map(str, finding.interview_ids)), finding.message.message_id)
            said = await asyncio.to_thread(notice_of, finding, ledger.company)
            if said is not None:
                await context.notice(*said)
            if finding.applied:
                context.changed(finding.interview_ids[0])

    async def _close_all(self) -> None:
        """Abort and close every connection (one still logging in too), then join
        their threads, within JOIN_TIMEOUT."""
        openings, self.connections = self.connections, set()
        threads = []
        for opening in openings:
            opening.abort()
            threads += opening.close()
        if threads:
            left = await asyncio.to_thread(join, threads, JOIN_TIMEOUT)
            if left:
                log.debug("mailbox: %d thread(s) still waiting on the server after %g s "
                          "(they end with their socket's timeout)", len(left), JOIN_TIMEOUT)

    async def _report(self, context: SourceContext, state: SourceState, detail: str,
                      then: str = "") -> None:
        """Log and report a change of state once, not every attempt."""
        if self.status == (state, detail):
            return
        self.status = (state, detail)
        line = f"{detail}; {then}" if then else detail
        level = logging.INFO if state in (SourceState.OK, SourceState.STARTING) \
            else logging.WARNING
        log.log(level, "mailbox: %s", line)
        try:
            await context.report(self.name, SourceStatus(state, context.now(), line))
        except UserError as error:  # the database is busy: the state is in the log anyway
            log.debug("could not record the mailbox state: %s", error.message)


class Opening:
    """A connection of the watch from before its login to its close. Registered before
    the login, so that a watch stopped meanwhile cannot leave it behind: what the
    login opens after an abort is closed at once."""

    def __init__(self, settings: MailboxSettings) -> None:
        self.settings = settings
        self.threads: list[threading.Thread] = []  # the login's
        self.connection: Connection | None = None
        self.aborted = False
        self.lock = threading.Lock()

    def open(self) -> Connection:
        """Connect and log in (blocking)."""
        connection = connect(self.settings)
        with self.lock:
            if not self.aborted:
                self.connection = connection
                return connection
        connection.abort()
        connection.close()
        raise Unreachable("the mailbox watch was stopped")

    def abort(self) -> None:
        with self.lock:
            self.aborted = True
            connection = self.connection
        if connection is not None:
            connection.abort()

    def close(self) -> list[threading.Thread]:
        """Close the connection; returns the threads to join (the login's, its waits)."""
        connection = self.connection
        if connection is None:
            return list(self.threads)
        connection.close()
        return [*self.threads, *connection.threads]
