"""Real SMTP servers on 127.0.0.1 (aiosmtpd), for tests.

`smtp_server` starts one with a handler that keeps what it receives, one that
refuses at RCPT or DATA with a given reply, one that hangs up mid-dialogue, or
one that signs in with OAuth2 (AUTH XOAUTH2) first;
optionally with AUTH, STARTTLS or implicit TLS (a self-signed certificate made
by `openssl`). Every server is stopped when the test ends.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
from base64 import b64decode
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword


def free_port() -> int:
    """A port nothing listens on (aiosmtpd's Controller cannot take port 0 itself)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None  # who logged in, if anyone


@dataclass
class Recorder:
    """Accepts every message and keeps it."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message,
                                      session.auth_data))
        return "250 Message accepted for delivery"


@dataclass
class Refuser(Recorder):
    """Answers `reply` (like "550 5.1.1 No such user") at `stage`: "MAIL", "RCPT" or "DATA"."""

    stage: str = "RCPT"
    reply: str = "550 5.1.1 No such user here"

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        if self.stage == "MAIL":
            return self.reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self.stage == "RCPT":
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.stage == "DATA":
            return self.reply
        return await super().handle_DATA(server, session, envelope)


class HangUp(Recorder):
    """Closes the connection when the message data has arrived, before answering."""

    async def handle_DATA(self, server, session, envelope) -> str:
        server.transport.close()
        return "250 never seen"


@dataclass
class XOAuth2(Recorder):
    """Keeps what it receives, after AUTH XOAUTH2 with a token that `tokens` (a
    support.oauth2.TokenInfo) grants to the user the client names. Any other token
    is answered as Gmail does: a 334 challenge with a JSON error, then, after the
    client's empty line, 535."""

    tokens: Any = None
    refusal: str = "535 5.7.8 Username and Password not accepted"

    async def auth_XOAUTH2(self, server, args: list[str]) -> AuthResult:
        blob = (b64decode(args[1]) if len(args) == 2
                else await server.challenge_auth(b"", encode_to_b64=False))
        if blob is MISSING:
            return AuthResult(success=False)
        fields = dict(part.partition("=")[::2] for part in blob.decode().split("\x01") if part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        if user and self.tokens.account(token) == user:
            return AuthResult(success=True, auth_data=user)
        error = {"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}
        await server.challenge_auth(json.dumps(error))
        return AuthResult(success=False, handled=False, message=self.refusal)


@dataclass(frozen=True)
class Login:
    """An authenticator that accepts one username and password."""

    username: str
    password: str

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if (isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == self.username
                and auth_data.password.decode() == self.password):
            return AuthResult(success=True, auth_data=self.username)
        return AuthResult(success=False, handled=False)


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this certificate."""
        return ssl.create_default_context(cafile=str(self.cert))


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    handler: Recorder


StartServer = Callable[..., Server]


# Each fixture's function has a name of its own, so that a test module can import
# it without the test's parameter shadowing the import.


@pytest.fixture(name="smtp_server")
def smtp_server_fixture() -> Iterator[StartServer]:
    """A function starting an SMTP server: (handler=None, *, login=None, starttls=None,
    tls=None) -> Server; `starttls`/`tls` take a Certificate."""
    controllers: list[Controller] = []

    def start(handler: Recorder | None = None, *, login: Login | None = None,
              starttls: Certificate | None = None, tls: Certificate | None = None) -> Server:
        handler = handler if handler is not None else Recorder()
        options: dict = {"server_hostname": "localhost", "ready_timeout": 10.0}
        if login is not None:
            options.update(authenticator=login, auth_require_tls=starttls is not None)
        if isinstance(handler, XOAuth2):
            options.update(auth_require_tls=starttls is not None)
        if starttls is not None:
            options.update(tls_context=starttls.server_context(), require_starttls=True)
        if tls is not None:
            options.update(ssl_context=tls.server_context())
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        controllers.append(controller)
        return Server(controller.hostname, controller.port, handler)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(name="silent_server")
def silent_server_fixture() -> Iterator[int]:
    """A port that takes connections but never says a word; yields the port."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield listener.getsockname()[1]


@pytest.fixture(name="certificate", scope="session")
def certificate_fixture(tmp_path_factory) -> Certificate:
    """A self-signed certificate made with openssl; skips without openssl (fails in CI)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        message = "openssl is not installed: cannot make a certificate for the TLS tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60)
    return Certificate(cert, key)
