"""IMAP for the mailbox watch: one connection, read-only, header fields only.

Folders are opened with EXAMINE (read-only: flags never change) and only the
header fields the decisions need are fetched, with BODY.PEEK. Everything here
blocks: the daemon runs it in threads. Errors become `Unreachable` (worth
retrying soon) or `Refused` (the user must change something), one line each.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from followup.errors import UserError
from followup.sources.mailbox import replies
from followup.sources.mailbox.replies import Folder

if TYPE_CHECKING:
    from imapclient import IMAPClient

    from followup.config import MailboxSettings
    from followup.models import FolderState

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


@dataclass(frozen=True, slots=True)
class Raw:
    """One message as fetched: its header fields, UID and arrival time (INTERNALDATE)."""

    headers: bytes
    uid: int = 0
    arrived: datetime | None = None


@dataclass
class FolderRead:
    name: str
    role: Folder
    state: FolderState
    raws: list[Raw] = field(default_factory=list)


class Connection:
    """One logged-in IMAP connection (blocking: run it in a thread). The daemon runs
    its long waits on threads of its own, kept in `threads` and joined once it is
    closed (see followup.threads)."""

    def __init__(self, client: IMAPClient, settings: MailboxSettings) -> None:
        client.normalise_times = False  # INTERNALDATE with its offset, not local naive time
        self.client = client
        self.settings = settings
        self.can_idle = b"IDLE" in client.capabilities()
        self.aborted = False
        self.threads: list[threading.Thread] = []
        self.before_idle: Callable[[], None] | None = None  # a test's hook: mail arrives now

    @classmethod
    def open(cls, settings: MailboxSettings, password: str = "", token: str = "") -> Connection:
        """Connect and log in with the password, or with the OAuth2 access token (SASL
        XOAUTH2) when one is given. Raises Unreachable or Refused, one line each."""
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
                              f"{reason(error)}") from None
        try:
            if settings.security == "starttls":
                client.starttls(context)
            if token:
                client.oauth2_login(settings.username, token)
            else:
                client.login(settings.username, password)
        except LoginError as error:
            _close_quietly(client)
            if token:
                answer = reason(error).replace(token, "***")
                raise Refused(f"the mailbox server {where} refused the OAuth2 token for "
                              f"{settings.username}: {answer} (is it a token for this "
                              "account, with the IMAP scope?)") from None
            raise Refused(f"the mailbox server {where} refused the login of "
                          f"{settings.username} (check `followup password set mailbox`)"
                          ) from None
        except ssl.SSLCertVerificationError as error:
            _close_quietly(client)
            raise Refused(f"the certificate of {where} is not valid: "
                          f"{error.verify_message}") from None
        except Exception as error:  # imaplib's errors, a dropped connection
            _close_quietly(client)
            raise Unreachable(f"the mailbox server {where} failed: {reason(error)}") from None
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
        import imaplib

        from followup.models import FolderState

        try:
            info = self.client.select_folder(name, readonly=True)  # EXAMINE
        except (OSError, imaplib.IMAP4.abort) as error:  # the network, not the folder
            raise Unreachable(f"the mailbox server {self.settings.host}:"
                              f"{self.settings.port} failed while opening the folder "
                              f"{name!r}: {reason(error)}") from None
        except Exception as error:  # the server's NO: no such folder, say
            raise Refused(f"cannot open the folder {name!r}: {reason(error)}") from None
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
            answer = self.client.fetch(batch, [FETCH, b"INTERNALDATE"])
            read.raws.extend(Raw(answer[uid][FETCHED], uid, _aware(answer[uid].get(
                b"INTERNALDATE"))) for uid in batch if uid in answer and FETCHED in answer[uid])
            if progress is not None:
                progress(min(start + BATCH, len(uids)), len(uids))
        return read

    def wait(self, timeout: float) -> None:
        """Wait in IDLE until a message arrives or goes, or `timeout` seconds pass.

        A message that arrived after the last read but before IDLE began is announced
        only when IDLE ends (Dovecot's own check comes 30 s on or later), so the first
        IDLE is ended at once (DONE reports it) and only then is the wait entered.
        Keep-alives ("* OK Still here") are answered by waiting on, in this thread.
        A connection the server closed ends the wait early (the next command fails).
        """
        deadline = time.monotonic() + timeout
        if self.before_idle is not None:
            self.before_idle()
        self.client.idle()
        if any(_news(response) for response in self.client.idle_done()[1]):
            return
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


def _aware(value) -> datetime | None:
    """An INTERNALDATE as an aware datetime (None when the server gave none)."""
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


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


def reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    if isinstance(error, socket.timeout | TimeoutError):
        text = "timed out"
    return text.splitlines()[0][:200]


def network_errors() -> tuple[type[BaseException], ...]:
    """What a server that fails or goes away raises, here and in the libraries."""
    import imaplib

    from imapclient.exceptions import IMAPClientError

    return (OSError, ssl.SSLError, IMAPClientError, imaplib.IMAP4.error)


def password_for(settings: MailboxSettings) -> str:
    """The mailbox password from the keyring. Raises Refused when there is none."""
    from followup import passwords

    secret = passwords.get_password(settings.username, "mailbox")
    if not secret:
        raise Refused(f"no mailbox password for {settings.username} in the keyring: "
                      "store it with `followup password set mailbox`")
    return secret


def token_for(settings: MailboxSettings) -> str:
    """A fresh access token from the token command, asked now for this one login.
    Raises Refused (or Unreachable when the command hung), one line."""
    from followup import oauth2

    try:
        return oauth2.access_token(settings.oauth2_command)
    except oauth2.TokenCommandFailed as error:
        failed = Refused if error.lasting else Unreachable
        raise failed(f"cannot sign in to the mailbox server {settings.host}:{settings.port}: "
                     f"{error.message}") from None


def connect(settings: MailboxSettings) -> Connection:
    if not settings.username:
        raise Refused("no mailbox login: set [mailbox] username")
    if settings.auth == "oauth2":
        return Connection.open(settings, token=token_for(settings))
    return Connection.open(settings, password_for(settings))
