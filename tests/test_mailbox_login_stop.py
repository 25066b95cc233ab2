"""A mailbox watch stopped while it logs in leaves no connection behind (issue 17,
item 5): the connection is registered before the login, so the stop aborts it and
the login, once answered, closes it. Dovecot is real; `HeldLogin`, a TCP proxy in
front of it, holds the client's LOGIN command until the test lets it go."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from datetime import UTC, datetime

from followup import config, passwords
from followup.sources.base import SourceContext
from followup.sources.mailbox.watch import MailboxSource
from support.imap import PASSWORD, USER, mailbox_section
from support.inprocess import until


class HeldLogin:
    """Passes IMAP between the client and Dovecot on `port`, but holds each LOGIN
    command until `release` is set (`held` says one came). `open` counts the client
    connections not yet closed."""

    def __init__(self, port: int) -> None:
        self.upstream = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held, self.release = threading.Event(), threading.Event()
        self.open = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed: the test is over
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            with self.lock:
                self.open += 1
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_client and b" LOGIN " in data.upper():
                    self.held.set()
                    self.release.wait(60)
                target.sendall(data)
        except OSError:
            pass
        finally:
            if from_client:
                with self.lock:
                    self.open -= 1
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def stop(self) -> None:
        self.release.set()
        self.listener.close()


def test_a_watch_stopped_during_its_login_leaves_no_connection_open(imap, tmp_path):
    passwords.set_password(USER, PASSWORD, "mailbox")
    proxy = HeldLogin(imap.port)
    path = tmp_path / "followup.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/f.db"\n'
                    f"{mailbox_section(proxy.port)}")
    source = MailboxSource(config.load(str(path)))

    async def nothing(*_args) -> None:
        return None

    async def scenario() -> None:
        context = SourceContext(uses=None, notice=nothing, report=nothing,
                                changed=lambda _id: None, now=lambda: datetime.now(UTC))
        task = asyncio.create_task(source.run(context))
        await until(proxy.held.is_set, what="the LOGIN command")
        assert proxy.open == 1
        task.cancel()
        # The stop has taken what the watch had open (nothing, were the connection
        # registered only after its login); only then does the login get its answer.
        await until(lambda: not source.connections, what="the stop")
        proxy.release.set()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 30)
        await until(lambda: proxy.open == 0, timeout=30, what="the connection closed")

    try:
        asyncio.run(scenario())
    finally:
        proxy.stop()
    assert not [t for t in threading.enumerate() if t.name == "followup-open"]
