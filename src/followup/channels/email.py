"""Email: the nudge, with its ready follow-up draft, sent through the user's SMTP server.

smtplib is blocking, so each delivery runs on a thread of its own (see
followup.threads). Certificates are always verified. The password, when a username
is set, comes from the system keyring and from nowhere else; with `auth = "oauth2"`
an access token from the token command, asked before each login, signs in with AUTH
XOAUTH2.

Each attempt has one total deadline (`deadline`, shorter than the dispatcher's
own bound), counted from the start of the attempt, the keyring's read (or the
token command) included, that the channel enforces itself: when it passes, the
connection is cut under the worker thread (also one being made), so the thread
ends then and cannot deliver after the attempt was reported failed (which would
make the retry a duplicate). A keyring that has not answered by then is left
to answer into nothing: reading a password sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from typing import TYPE_CHECKING

from followup import clock, content, passwords
from followup.channels.base import DELIVERED, Channel, Result, needs_fix, try_again
from followup.errors import KeyringUnavailable
from followup.models import Interview, Notice, Reminder
from followup.threads import on_a_thread

if TYPE_CHECKING:
    from followup.config import EmailSettings

CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
DEADLINE = 60.0  # seconds for a whole attempt; dispatch.ATTEMPT_TIMEOUT is longer


class EmailChannel(Channel):
    name = "email"

    def __init__(self, settings: EmailSettings, *, timeout: float = 30.0,
                 deadline: float = DEADLINE, ssl_context: ssl.SSLContext | None = None) -> None:
        """`timeout` bounds each network step, `deadline` the whole attempt;
        `ssl_context` replaces the default one (which trusts the system's CAs)."""
        self._settings = settings
        self._timeout = min(timeout, deadline)
        self._deadline = deadline
        self._ssl_context = ssl_context

    async def deliver(self, notice: Notice) -> Result:
        ends = time.monotonic() + self._deadline  # the whole attempt, the keyring's read too
        secret = None
        if self._settings.username:
            found = await _until(on_a_thread(self._secret), ends)
            if found is None:
                return try_again(f"no password from the keyring (or token from the token "
                                 f"command) within {self._deadline:g} s")
            if isinstance(found, Result):
                return found
            secret = found
        message = compose(notice, self._settings)
        return await on_a_thread(self._send, message, secret, ends)

    def _secret(self) -> Secret | Result:
        if self._settings.auth == "oauth2":
            return self._token()
        found = self._password()
        return found if isinstance(found, Result) else Secret(found)

    def _token(self) -> Secret | Result:
        """A fresh access token for this one login, within half the attempt's deadline."""
        from followup import oauth2

        settings = self._settings
        try:
            token = oauth2.access_token(settings.oauth2_command,
                                        min(oauth2.TIMEOUT, self._deadline / 2))
        except oauth2.TokenCommandFailed as error:
            failed = needs_fix if error.lasting else try_again
            return failed(f"cannot sign in to {settings.host}:{settings.port}: "
                          f"{error.message}")
        return Secret(token, oauth2=True)

    def _password(self) -> str | Result:
        username = self._settings.username
        try:
            password = passwords.get_password(username)
        except passwords.KeyringLocked as error:
            return try_again(error.message)
        except KeyringUnavailable as error:
            return needs_fix(error.message)
        if password is None:
            return needs_fix(f"no password in the keyring for {username}: "
                             "run `followup password set`")
        return password

    def _send(self, message: EmailMessage, secret: Secret | None, ends: float) -> Result:
        """Send, unless the attempt's deadline (`ends`, on the monotonic clock) passes
        first: then the connection is cut, and not a byte is written after it."""
        settings = self._settings
        left = ends - time.monotonic()
        if left <= 0:
            return self._too_late()
        smtp = self._client(ends)
        cut = threading.Timer(left, smtp.cut)
        cut.start()
        try:
            try:
                code, reply = smtp.connect(settings.host, settings.port)
                if code != 220:
                    raise smtplib.SMTPConnectError(code, reply)
                if settings.security == "starttls":
                    smtp.starttls(context=self._context())
                if secret is not None and secret.oauth2:
                    _xoauth2_login(smtp, settings.username, secret.value)
                elif secret is not None:
                    smtp.login(settings.username, secret.value)
                smtp.send_message(message)
            finally:
                _quit(smtp)
        except Exception as error:  # smtplib and ssl raise many kinds; classify them all
            if smtp.was_cut or time.monotonic() >= ends:
                return self._too_late()
            return classify(error, settings, self._timeout)
        finally:
            cut.cancel()
        return DELIVERED

    def _too_late(self) -> Result:
        return try_again(f"{self._settings.host}:{self._settings.port} did not take the "
                         f"message within {self._deadline:g} s")

    def _client(self, ends: float) -> _Cuttable:
        """An SMTP client not yet connected, so that the deadline can cut it at once."""
        if self._settings.security == "tls":
            smtp = _CuttableSSL(timeout=self._timeout, context=self._context(), ends=ends)
        else:
            smtp = _Cuttable(timeout=self._timeout, ends=ends)
        smtp._host = self._settings.host  # what the constructor would set: TLS checks it
        return smtp

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()


@dataclass(frozen=True, slots=True)
class Secret:
    """What signs in: the password, or an OAuth2 access token. Never shown."""

    value: str = field(repr=False)
    oauth2: bool = False


class NoXOAuth2(smtplib.SMTPException):
    """The server does not offer AUTH XOAUTH2."""

    def __init__(self, offered: str) -> None:
        super().__init__(offered)
        self.offered = offered


def _xoauth2_login(smtp: smtplib.SMTP, username: str, token: str) -> None:
    """AUTH XOAUTH2 with the token as the initial response. A refused token gets a
    334 challenge (Gmail's JSON error), answered empty; then 535 raises
    SMTPAuthenticationError."""
    from followup.oauth2 import xoauth2

    smtp.ehlo_or_helo_if_needed()
    offered = smtp.esmtp_features.get("auth", "")
    if "XOAUTH2" not in offered.upper().split():
        raise NoXOAuth2(offered)
    smtp.auth("XOAUTH2", lambda challenge=None: xoauth2(username, token)
              if challenge is None else "", initial_response_ok=True)


class _Cuttable(smtplib.SMTP):
    """An SMTP client whose connection another thread can cut (`cut`), at any step:
    a blocked call fails at once (a TLS handshake too: the cut goes through a
    descriptor of its own, which the TLS wrapping leaves alone), a socket made
    after the cut is closed as it is made, and no command is written after it.
    `ends` (monotonic) bounds the connect's timeout as well."""

    def __init__(self, *args, ends: float, **kwargs) -> None:
        self._cut_lock = threading.Lock()
        self._handle: socket.socket | None = None
        self.was_cut = False
        self.ends = ends
        super().__init__(*args, **kwargs)

    def cut(self) -> None:
        with self._cut_lock:
            self.was_cut = True
            if self._handle is not None:
                with contextlib.suppress(OSError):
                    self._handle.shutdown(socket.SHUT_RDWR)

    def _get_socket(self, host, port, timeout):
        left = self.ends - time.monotonic()
        if left <= 0:
            raise TimeoutError("the attempt's deadline passed")
        sock = smtplib.SMTP._get_socket(self, host, port, min(timeout, left))  # plain TCP
        with self._cut_lock:
            if self.was_cut:
                sock.close()
                raise TimeoutError("the attempt's deadline passed")
            self._handle = sock.dup()
        return self._wrap(sock)

    def _wrap(self, sock: socket.socket) -> socket.socket:
        return sock

    def send(self, s) -> None:
        if self.was_cut:
            raise smtplib.SMTPServerDisconnected("the attempt's deadline passed")
        super().send(s)

    def close(self) -> None:
        super().close()
        with self._cut_lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()


class _CuttableSSL(_Cuttable, smtplib.SMTP_SSL):
    """Implicit TLS (port 465), cut as `_Cuttable`, its handshake included."""

    def _wrap(self, sock: socket.socket) -> socket.socket:
        return self.context.wrap_socket(sock, server_hostname=self._host)


async def _until(work, ends: float):
    """What `work` (a thread reading a secret: nothing to undo) returns, or None when
    the monotonic clock passes `ends` first; its late answer is dropped."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=max(ends - time.monotonic(), 0))
    if not done:
        task.add_done_callback(lambda late: late.cancelled() or late.exception())
        return None
    return task.result()


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; once the message is sent, a bad answer to QUIT changes nothing."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def classify(error: Exception, settings: EmailSettings, timeout: float) -> Result:
    """Try again for what may pass (network, 4xx); needs a fix for what needs the user (5xx)."""
    server = f"{settings.host}:{settings.port}"
    if isinstance(error, smtplib.SMTPAuthenticationError) and settings.auth == "oauth2":
        return needs_fix(f"{server} refused the OAuth2 token for {settings.username}: "
                         f"{_words(error.smtp_code, error.smtp_error)} (is it a token for "
                         "this account, with the SMTP scope?)")
    if isinstance(error, NoXOAuth2):
        offered = " ".join(error.offered.split()) or "none"
        return needs_fix(f"{server} does not offer OAuth2 sign-in (AUTH XOAUTH2; it offers: "
                         f"{offered}): check [notify.email] host, port and auth")
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return needs_fix(f"{server} refused the login for {settings.username}: "
                         f"{_words(error.smtp_code, error.smtp_error)} (check the password "
                         "with `followup password set`)")
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, words = next(iter(error.recipients.values()), (0, b""))
        return _by_code(code, f"{server} refused the recipient {settings.to}: "
                              f"{_words(code, words)}")
    if isinstance(error, smtplib.SMTPSenderRefused):
        return _by_code(error.smtp_code, f"{server} refused the sender {settings.sender}: "
                                         f"{_words(error.smtp_code, error.smtp_error)}")
    if isinstance(error, smtplib.SMTPConnectError):
        return try_again(f"{server} would not take a connection: "
                         f"{_words(error.smtp_code, error.smtp_error)}")
    if isinstance(error, smtplib.SMTPResponseException):
        return _by_code(error.smtp_code, f"{server} refused the message: "
                                         f"{_words(error.smtp_code, error.smtp_error)}")
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return needs_fix(f"{server}: {error} (check [notify.email] security and port: "
                         "587 usually takes starttls, 465 tls)")
    if isinstance(error, smtplib.SMTPServerDisconnected):
        if isinstance(error.__context__, TimeoutError):  # smtplib hides a timeout in it
            return _network(error.__context__, server, timeout)
        return try_again(f"{server} closed the connection: {error}".rstrip(": "))
    if isinstance(error, UnicodeError):  # smtplib logs in with ASCII only
        return needs_fix(f"cannot log in to {server}: the username or password has "
                         "characters other than ASCII, which smtplib cannot send")
    if isinstance(error, ssl.SSLCertVerificationError):
        return needs_fix(f"the certificate of {server} could not be verified "
                         f"({error.verify_message}): check [notify.email] host, or fix the "
                         "server's certificate")
    if isinstance(error, ssl.SSLEOFError | ssl.SSLZeroReturnError | ssl.SSLSyscallError):
        return try_again(f"{server} closed the connection during TLS: {error}")
    if isinstance(error, ssl.SSLError):
        return needs_fix(f"TLS with {server} failed ({error.reason or error}): check "
                         "[notify.email] security and port (587 usually takes starttls, "
                         "465 tls)")
    return _network(error, server, timeout)


def _network(error: BaseException, server: str, timeout: float) -> Result:
    if isinstance(error, TimeoutError):
        return try_again(f"no answer from {server} within {timeout:g} s")
    if isinstance(error, ConnectionRefusedError):
        return try_again(f"{server} refused the connection (is the host and port right, "
                         "and the server up?)")
    if isinstance(error, socket.gaierror):
        return try_again(f"cannot look up {server}: {error.strerror}")
    if isinstance(error, OSError):
        return try_again(f"cannot talk to {server}: {error.strerror or error}")
    return try_again(f"sending through {server} failed: {type(error).__name__}: {error}")


def _by_code(code: int, reason: str) -> Result:
    return needs_fix(reason) if 500 <= code < 600 else try_again(reason)


def _words(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


# --- the message ----------------------------------------------------------------------


def compose(notice: Notice, settings: EmailSettings) -> EmailMessage:
    """The email for a notice: the reminder text, then each ready draft and its link."""
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = header_text(settings.sender)
    message["To"] = header_text(settings.to)
    message["Subject"] = header_text(subject(notice))
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = message_id(notice.key, settings.sender)
    parts = [notice.body.strip()]
    for reminder in notice.reminders:
        parts.append(draft_text(reminder, heading=notice.is_digest))
    message.set_content("\n\n".join(parts) + "\n")
    return message


def subject(notice: Notice) -> str:
    if notice.is_digest:
        return notice.title
    reminder = notice.reminders[0]
    return content.words(reminder.language).email_subject(
        _named(reminder.interview), reminder.followup or reminder.number, reminder.of)


def _named(interview: Interview) -> str:
    """"Acme (Engineer)", or "Acme" for an interview without a role."""
    return f"{interview.company} ({interview.role})" if interview.role else interview.company


def draft_text(reminder: Reminder, heading: bool) -> str:
    """One reminder's part of the email, in its language: (in a digest, a heading and
    the reminder's text), then the draft and its mailto: link."""
    draft, words = reminder.draft, content.words(reminder.language)
    lines = []
    if heading:
        title = words.email_subject(_named(reminder.interview), reminder.number, reminder.of)
        lines += [f"== {title} ==", "", reminder.body.strip(), ""]
    lines += [words.READY_DRAFT, "", f"To: {draft.to or content.NO_ADDRESS}",
              f"Subject: {draft.subject}", "", draft.body.strip(), "", words.OPEN_IT,
              content.mailto(draft)]
    return "\n".join(lines)


def header_text(value: str) -> str:
    """A header value with control characters (CR/LF among them) replaced by spaces."""
    return CONTROL.sub(" ", value).strip()


def message_id(key: str, sender: str) -> str:
    """A Message-ID that is the same for the same notice key, so retries keep one
    identity; its domain is the sender's (the key carries the database's
    installation id, so two databases never make the same one)."""
    safe = re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9.-]+", "-", key)).strip(".-")
    if safe != key or not 0 < len(safe) <= 64:
        safe = f"{safe[:40]}.{hashlib.sha256(key.encode()).hexdigest()[:16]}".lstrip(".")
    return f"<{safe}@{_domain(sender)}>"


def _domain(sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2].lower()
    if re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain):
        return domain
    return "followup.invalid"  # no usable sender domain: a name that is nobody's
