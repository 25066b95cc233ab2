"""A channel's send starts at once, on a thread of its own: never queued behind
asyncio's default pool, which claims and records deliveries (and which the
sources' waits, a slow database or a slow server can fill). A send queued there
when the daemon stops would be recorded "in doubt" without ever having started,
and so never delivered (found by the chaos run)."""

from __future__ import annotations

import asyncio
import os
import threading

from followup import passwords
from followup.channels.apprise import AppriseChannel
from followup.channels.email import EmailChannel
from followup.config import AppriseSettings, EmailSettings
from support.endpoint import Endpoint
from support.notices import single
from support.smtp import Login, smtp_server_fixture  # noqa: F401 - fixtures

# asyncio's default pool: min(32, CPUs + 4) threads (concurrent.futures.ThreadPoolExecutor)
POOL = min(32, (os.cpu_count() or 1) + 4)


def with_the_pool_full(attempt) -> object:
    """Run `attempt()` while every thread of the loop's default pool is held."""
    async def scenario():
        loop = asyncio.get_running_loop()
        release = threading.Event()
        held = [loop.run_in_executor(None, release.wait) for _ in range(POOL)]
        try:
            return await asyncio.wait_for(attempt(), 30)
        finally:
            release.set()
            await asyncio.gather(*held)

    return asyncio.run(scenario())


def test_an_email_is_sent_while_the_default_pool_is_full(smtp_server):
    server = smtp_server(login=Login("me", "correct horse"))
    passwords.set_password("me", "correct horse")  # the keyring's read too
    channel = EmailChannel(EmailSettings(
        enabled=True, to="me@example.com", sender="followup@example.com", host="127.0.0.1",
        port=server.port, security="none", username="me"))
    result = with_the_pool_full(lambda: channel.deliver(single()))
    assert result.ok, result.reason
    assert len(server.handler.received) == 1


def test_an_apprise_notice_is_sent_while_the_default_pool_is_full(tmp_path):
    endpoint = Endpoint()
    try:
        path = tmp_path / "apprise.conf"
        path.write_text(f"phone=json://127.0.0.1:{endpoint.port}/\n")
        path.chmod(0o600)
        channel = AppriseChannel(AppriseSettings(enabled=True, config=str(path)))
        result = with_the_pool_full(lambda: channel.deliver(single()))
        assert result.ok, result.reason
        assert len(endpoint.received) == 1
    finally:
        endpoint.close()
