"""An SMTP server that fails, in each of the ways servers fail, while the command
channel is enabled too: the command channel delivers at once, as if email were
fine; email is retried and delivered exactly once when the server recovers;
nothing is lost.

The faults: nothing listening (connection refused), 421 and 550 answers, the
connection dropped once the message data has arrived, and a server that never
says a word (the email channel gives up after its 30 s timeout, which no setting
shortens: that case costs half a minute).
"""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from faults import add_interviews, delivered, query

from support.daemon import wait_for
from support.smtp import Recorder, Server, free_port

pytestmark = pytest.mark.reliability

EMAIL_TIMEOUT = 30  # EmailChannel's default; channels.build() passes no other


class Faulty(Recorder):
    """Fails as `fault` says until `fault` is None, then records like a good server."""

    def __init__(self, fault: str | None) -> None:
        super().__init__()
        self.fault = fault

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self.fault in ("421", "550"):
            return {"421": "421 4.3.2 Service not available, closing channel",
                    "550": "550 5.7.1 Relaying denied"}[self.fault]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.fault == "hang-up":
            server.transport.close()  # mid-DATA: the message arrived, no answer follows
            return "250 never seen"
        return await super().handle_DATA(server, session, envelope)


@dataclass
class Fault:
    name: str
    port: int
    handler: Faulty
    recover: Callable[[], None]


@pytest.fixture
def servers() -> Iterator[Callable[[int, Faulty], Server]]:
    """Start an SMTP server on a given port (a recovered server takes over the port
    the failing one had); all are stopped at the end."""
    controllers: list[Controller] = []

    def start(port: int, handler: Faulty) -> Server:
        controller = Controller(handler, hostname="127.0.0.1", port=port,
                                server_hostname="localhost", ready_timeout=10.0)
        controller.start()
        controllers.append(controller)
        return Server("127.0.0.1", port, handler)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def fault(request, servers) -> Iterator[Fault]:
    name = request.param
    handler = Faulty(None if name in ("refused", "silent") else name)
    if name == "refused":  # nothing listens until it recovers
        port = free_port()
        yield Fault(name, port, handler, lambda: servers(port, handler))
    elif name == "silent":  # takes the connection, never says a word
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
            port = listener.getsockname()[1]

            def recover() -> None:
                listener.close()
                servers(port, handler)

            yield Fault(name, port, handler, recover)
    else:
        port = servers(free_port(), handler).port

        def heal() -> None:
            handler.fault = None

        yield Fault(name, port, handler, heal)


def email_section(port: int) -> str:
    return f"""
[notify.email]
enabled = true
to = "me@example.com"
from = "followup@example.com"
host = "127.0.0.1"
port = {port}
security = "none"
"""


@pytest.mark.parametrize("fault", ["refused", "421", "550", "hang-up", "silent"],
                         indirect=True)
def test_a_failing_smtp_server_delays_nothing_else_and_email_arrives_once(world, fault,
                                                                          report):
    count = 1 if fault.name == "silent" else 3  # each silent attempt costs 30 s
    w = world(extra=email_section(fault.port))
    ids = add_interviews(w, count)
    wanted = {(i, 1) for i in ids}
    daemon = w.start()
    daemon.wait_started()
    started = time.monotonic()

    wait_for(lambda: set(w.nudges_seen()) == wanted, timeout=20,
             what="the command channel's deliveries")
    command_seconds = time.monotonic() - started
    assert fault.handler.received == []
    if fault.name == "silent":  # still waiting for the server's greeting
        assert "email failed" not in daemon.text()

    def retrying() -> int:
        return query(w, "SELECT count(*) FROM deliveries WHERE channel = 'email' "
                        "AND status = 'retrying'")[0][0]

    wait_for(lambda: retrying() == count, timeout=EMAIL_TIMEOUT + 30,
             what="a failed attempt for each email")
    # The log says it once, not once per nudge or attempt: the failure is one change.
    assert daemon.text().count("email failed for nudge 1") == 1
    failed_after = time.monotonic() - started
    fault.recover()
    wait_for(lambda: delivered(w, "email").keys() == wanted, timeout=60,
             what="every email delivered")
    assert daemon.stop() == 0

    emails = Counter(r.message["Subject"] for r in fault.handler.received)
    attempts = delivered(w, "email")
    report(f"smtp {fault.name}: command {len(w.delivered())}/{count} after "
           f"{command_seconds:.1f} s; email failed after {failed_after:.1f} s, delivered "
           f"{len(fault.handler.received)}/{count} in {sorted(attempts.values())} attempts")
    assert len(fault.handler.received) == count and max(emails.values()) == 1
    assert all(n >= 2 for n in attempts.values())
    assert Counter(w.nudges_seen()) == Counter(wanted)  # the command: each once, no more
    assert command_seconds < 10
