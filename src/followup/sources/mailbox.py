"""The mailbox watch's I/O: IMAP, read-only, header fields only.

Folders are opened with EXAMINE (read-only: flags never change), and only the
header fields the decisions need are fetched, with BODY.PEEK. Per folder the
UIDVALIDITY and the last UID read are kept in the database: the first scan
reads back `lookback_days`, later ones only new UIDs, and a UIDVALIDITY change
means one rescan of `lookback_days` (the Message-IDs already dealt with are
skipped, so nothing is applied twice).

`scan` is one pass, shared by `followup mailbox scan` and the daemon. The
daemon's `MailboxSource` does a first pass over every folder, then watches
each folder on its own connection with IDLE (re-issued every few minutes; RFC
2177 allows 29, middleboxes drop sooner), or polls every `poll_seconds` when the
server cannot IDLE. Failures are retried with capped backoff; each change of
state is logged and reported once. What the messages mean is decided in
`replies`, and applied through the App's use cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from followup.errors import UserError
from followup.sources import replies
from followup.sources.base import Source, SourceContext, SourceState, SourceStatus
from followup.sources.replies import Finding, Folder, Kind

if TYPE_CHECKING:
    from imapclient import IMAPClient

    from followup.app import App
    from followup.config import MailboxSettings, Settings
    from followup.store.mailbox import FolderState

log = logging.getLogger("followup")

FETCH = b"BODY.PEEK[HEADER.FIELDS (" + " ".join(replies.HEADER_FIELDS).upper().encode() + b")]"
FETCHED = FETCH.replace(b".PEEK", b"")  # the key of the answer
BATCH = 250  # messages per FETCH
IDLE_RENEW = 540  # seconds: re-issue IDLE well before servers and middleboxes drop it
CONNECT_TIMEOUT = 20.0
READ_TIMEOUT = 120.0

Progress = Callable[[int, int], None]  # (done, total) messages read


class MailboxError(UserError):
    """The mailbox cannot be used right now. `lasting`: it will not get better by
    itself (a refused login, no password, an unknown folder, a bad certificate)."""

    lasting = False


class Unreachable(MailboxError):
    pass


class Refused(MailboxError):
    lasting = True


def account(settings: MailboxSettings) -> str:
    """Which mailbox the stored folder states belong to."""
    return f"{settings.username}@{settings.host}:{settings.port}"


# --- one connection ------------------------------------------------------------------------


@dataclass
class FolderRead:
    name: str
    role: Folder
    state: FolderState
    raws: list[bytes] = field(default_factory=list)


class Connection:
    """One logged-in IMAP connection (blocking: run it in a thread)."""

    def __init__(self, client: IMAPClient, settings: MailboxSettings) -> None:
        self.client = client
        self.settings = settings
        self.can_idle = b"IDLE" in client.capabilities()
        self.aborted = False

    @classmethod
    def open(cls, settings: MailboxSettings, password: str) -> Connection:
        """Connect and log in. Raises Unreachable or Refused, one line each."""
        from imapclient import IMAPClient
        from imapclient.exceptions import LoginError
        from imapclient.imapclient import SocketTimeout

        where = f"{settings.host}:{settings.port}"
        context = ssl.create_default_context()
        try:
            client = IMAPClient(settings.host, port=settings.port,
                                ssl=settings.security == "tls", ssl_context=context,
                                timeout=SocketTimeout(CONNECT_TIMEOUT, READ_TIMEOUT))
        except ssl.SSLCertVerificationError as error:
            raise Refused(f"the certificate of {where} is not valid: "
                          f"{error.verify_message}") from None
        except Exception as error:  # refused, timed out, dropped before the greeting
            raise Unreachable(f"cannot reach the mailbox server {where}: "
                              f"{_reason(error)}") from None
        try:
            if settings.security == "starttls":
                client.starttls(context)
            client.login(settings.username, password)
        except LoginError:
            _close_quietly(client)
            raise Refused(f"the mailbox server {where} refused the login of "
                          f"{settings.username} (check `followup password set mailbox`)"
                          ) from None
        except ssl.SSLCertVerificationError as error:
            _close_quietly(client)
            raise Refused(f"the certificate of {where} is not valid: "
                          f"{error.verify_message}") from None
        except Exception as error:  # imaplib's errors, a dropped connection
            _close_quietly(client)
            raise Unreachable(f"the mailbox server {where} failed: {_reason(error)}") from None
        return cls(client, settings)

    def folders(self) -> list[tuple[str, Folder]]:
        """The inbox folders, then the Sent folder (named, or found by its \\Sent use)."""
        found = [(name, Folder.INBOX) for name in self.settings.inbox]
        sent = self.settings.sent or self.client.find_special_folder(b"\\Sent")
        if sent:
            found.append((sent, Folder.SENT))
        else:
            log.warning("the mailbox has no folder marked \\Sent: follow-ups are not counted "
                        "(name it in [mailbox] sent)")
        return found

    def read(self, name: str, role: Folder, state: FolderState | None, since: datetime,
             progress: Progress | None = None) -> FolderRead:
        """The header fields of the messages new since `state` (or since `since` when
        there is no state or UIDVALIDITY changed), and where this read stopped."""
        from followup.store.mailbox import FolderState

        try:
            info = self.client.select_folder(name, readonly=True)  # EXAMINE
        except Exception as error:
            raise Refused(f"cannot open the folder {name!r}: {_reason(error)}") from None
        validity = int(info[b"UIDVALIDITY"])
        top = int(info.get(b"UIDNEXT", 1)) - 1
        if state is None or state.uidvalidity != validity:
            if state is not None:
                log.info("the folder %s changed its UIDVALIDITY: reading back again", name)
            uids = self.client.search(["SINCE", since.date()])
        else:
            uids = [u for u in self.client.search(["UID", f"{state.last_uid + 1}:*"])
                    if u > state.last_uid]
            top = max(top, state.last_uid)
        uids = sorted(uids)
        read = FolderRead(name, role, FolderState(validity, max([top, *uids])))
        for start in range(0, len(uids), BATCH):
            batch = uids[start:start + BATCH]
            answer = self.client.fetch(batch, [FETCH])
            read.raws.extend(answer[uid][FETCHED] for uid in batch
                             if uid in answer and FETCHED in answer[uid])
            if progress is not None:
                progress(min(start + BATCH, len(uids)), len(uids))
        return read

    def wait(self, timeout: float) -> None:
        """Wait in IDLE until a message arrives or goes, or `timeout` seconds pass.

        Keep-alives ("* OK Still here") are answered by waiting on, in this thread.
        A connection the server closed ends the wait early (the next command fails).
        """
        deadline = time.monotonic() + timeout
        self.client.idle()
        try:
            while not self.aborted:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                responses = self.client.idle_check(timeout=left)
                if any(_news(response) for response in responses):
                    return
                if not responses and deadline - time.monotonic() > 1:
                    return  # woken with nothing to read: the connection is gone
        finally:
            self.client.idle_done()

    def abort(self) -> None:
        """Break a wait from another thread: shut the socket down."""
        self.aborted = True
        with contextlib.suppress(Exception):
            self.client.socket().shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        _close_quietly(self.client)


def _news(response) -> bool:
    """An IDLE response that says the folder changed (not a keep-alive)."""
    return (isinstance(response, tuple) and len(response) > 1
            and response[1] in (b"EXISTS", b"EXPUNGE", b"RECENT", b"FETCH", b"BYE")) \
        or (isinstance(response, tuple) and response[:1] == (b"BYE",))


def _close_quietly(client) -> None:
    with contextlib.suppress(Exception):
        client.logout()
    with contextlib.suppress(Exception):
        client.shutdown()


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    if isinstance(error, socket.timeout | TimeoutError):
        text = "timed out"
    return text.splitlines()[0][:200]


def password_for(settings: MailboxSettings) -> str:
    """The mailbox password from the keyring. Raises Refused when there is none."""
    from followup import passwords

    secret = passwords.get_password(settings.username, "mailbox")
    if not secret:
        raise Refused(f"no mailbox password for {settings.username} in the keyring: "
                      "store it with `followup password set mailbox`")
    return secret


def connect(settings: MailboxSettings) -> Connection:
    if not settings.username:
        raise Refused("no mailbox login: set [mailbox] username")
    return Connection.open(settings, password_for(settings))


# --- one pass ----------------------------------------------------------------------------------


def scan(app: App, connection: Connection, folders: Sequence[tuple[str, Folder]],
         dry_run: bool = False, progress: Progress | None = None,
         poke: bool = True) -> list[Finding]:
    """Read what is new in these folders, decide, and (unless `dry_run`) apply the
    findings and keep where each folder's read stopped. Returns the findings new
    in this pass (with `applied` set). Blocking."""
    from followup.store.mailbox import MailboxRecords

    records = MailboxRecords(app.store)
    key = account(connection.settings)
    since = app.now() - timedelta(days=connection.settings.lookback_days)
    states = [records.folder_state(key, name) for name, _ in folders]
    reads = [connection.read(name, role, state, since, progress)
             for (name, role), state in zip(folders, states, strict=True)]
    return apply_reads(app, key, reads, states, dry_run, poke)


def apply_reads(app: App, key: str, reads: Sequence[FolderRead],
                before: Sequence[FolderState | None], dry_run: bool = False,
                poke: bool = True) -> list[Finding]:
    """Decide what the messages read mean and (unless `dry_run`) apply that, then
    keep where each read stopped. Returns the findings new in this pass."""
    from followup.store.mailbox import MailboxRecords

    now = app.now()
    messages = []
    for read in reads:
        for raw in read.raws:
            try:
                messages.append(replies.parse(raw, read.role, now))
            except replies.Unreadable as why:
                log.debug("skipped a message in %s: %s", read.name, why)
    findings = app.mailbox_findings(messages) if messages else []
    if dry_run:
        return findings
    done = app.mailbox_apply(findings, poke=poke)
    records = MailboxRecords(app.store)
    for read, state in zip(reads, before, strict=True):
        if read.state != state:
            records.save_folder_state(key, read.name, read.state, app.now())
    return done


def scan_once(app: App, dry_run: bool = False, progress: Progress | None = None
              ) -> list[Finding]:
    """`followup mailbox scan`: connect, one pass over every folder, disconnect."""
    connection = connect(app.settings.mailbox)
    try:
        return scan(app, connection, connection.folders(), dry_run, progress)
    except MailboxError:
        raise
    except Exception as error:  # the connection dropped half-way
        from imapclient.exceptions import IMAPClientError

        if isinstance(error, OSError | IMAPClientError | ssl.SSLError):
            raise Unreachable(f"the mailbox server failed: {_reason(error)}") from None
        raise
    finally:
        connection.close()


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
    if finding.kind is Kind.BOUNCE:
        to = finding.counterpart or company(ids[0])
        return f"Your follow-up to {to} bounced", f"{said}\nCheck the address."
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
        self.connections: set[Connection] = set()

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
                self._abort_all()

    async def _retry_later(self, context: SourceContext, state: SourceState,
                           why: str) -> None:
        """Backoff: the base, doubling with each failure in a row, up to the cap."""
        self.failures += 1
        delay = min(self.backoff_base * 2 ** min(self.failures - 1, 20), self.backoff_cap)
        await self._report(context, state, why, f"next try in {delay} s")
        await asyncio.sleep(delay)

    async def _session(self, context: SourceContext) -> None:
        """Connect, do a first pass over every folder, then watch until something fails."""
        first = await self._connect()
        folders = await asyncio.to_thread(first.folders)
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
            self._abort_all()
            await asyncio.gather(*watchers, return_exceptions=True)

    async def _watch(self, context: SourceContext, connection: Connection | None,
                     folder: tuple[str, Folder]) -> None:
        if connection is None:
            connection = await self._connect()
        # Read this folder once more: it is then the one selected, which IDLE watches.
        await self._pass(context, connection, [folder])
        state = await asyncio.to_thread(self._folder_state, context.app, folder[0])
        while True:
            read = await asyncio.to_thread(self._guarded, self._next_read, connection, folder,
                                           state, context.now)
            found = await asyncio.to_thread(self._guarded, apply_reads, context.app,
                                            account(self.settings), [read], [state],
                                            False, False)
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

    def _folder_state(self, app, name: str) -> FolderState | None:
        from followup.store.mailbox import MailboxRecords

        return MailboxRecords(app.store).folder_state(account(self.settings), name)

    async def _connect(self) -> Connection:
        connection = await asyncio.to_thread(connect, self.settings)
        self.connections.add(connection)
        return connection

    async def _pass(self, context: SourceContext, connection: Connection,
                    folders: Sequence[tuple[str, Folder]]) -> None:
        found = await asyncio.to_thread(self._guarded, scan, context.app, connection, folders,
                                        False, None, False)
        await self._tell(context, found)

    async def _tell(self, context: SourceContext, found: Sequence[Finding]) -> None:
        """Log each new finding, notice the user, and have the daemon look again."""
        app = context.app
        for finding in found:
            log.info("mailbox: %s for interview(s) %s: %s", finding.kind,
                     ", ".join(map(str, finding.interview_ids)), finding.message.message_id)
            said = await asyncio.to_thread(notice_of, finding,
                                           lambda i: self._company(app, i))
            if said is not None:
                await context.notice(*said)
            if finding.applied:
                context.changed(finding.interview_ids[0])

    @staticmethod
    def _company(app, interview_id: int) -> str:
        try:
            return app.store.get(interview_id).interview.company
        except UserError:
            return f"interview {interview_id}"

    @staticmethod
    def _guarded(function, *args):
        """Network errors in the middle of a session are the server's: retry later."""
        from imapclient.exceptions import IMAPClientError

        try:
            return function(*args)
        except MailboxError:
            raise
        except (OSError, IMAPClientError, ssl.SSLError) as error:
            raise Unreachable(f"the connection to the mailbox server failed: "
                              f"{_reason(error)}") from None
        except Exception as error:
            import imaplib

            if isinstance(error, imaplib.IMAP4.error):
                raise Unreachable(f"the mailbox server failed: {_reason(error)}") from None
            raise

    def _abort_all(self) -> None:
        connections, self.connections = self.connections, set()
        for connection in connections:
            connection.abort()
            connection.close()

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
