"""The Apprise channel, delivering for real to a local HTTP endpoint (`json://`), with
its URLs in an Apprise configuration file in a temporary folder."""

from __future__ import annotations

import asyncio
import time

import pytest

from followup import channels
from followup.channels.apprise import AppriseChannel, readiness
from followup.channels.base import DeliveryResult
from followup.config import AppriseSettings, parse_text
from support.endpoint import Endpoint
from support.notices import single


@pytest.fixture(scope="module")
def endpoint():
    server = Endpoint()
    yield server
    server.close()


@pytest.fixture
def fresh(endpoint):
    endpoint.received.clear()
    endpoint.status = 200
    endpoint.hold = False
    endpoint.release.clear()
    yield endpoint
    endpoint.release.set()


def apprise_config(tmp_path, port: int, lines: str | None = None):
    path = tmp_path / "apprise.conf"
    path.write_text(lines if lines is not None else f"phone=json://127.0.0.1:{port}/\n")
    path.chmod(0o600)
    return path


def deliver(settings: AppriseSettings, notice):
    return asyncio.run(AppriseChannel(settings).deliver(notice))


def test_a_nudge_reaches_the_endpoint_with_its_title_and_body(fresh, tmp_path):
    path = apprise_config(tmp_path, fresh.port)
    result = deliver(AppriseSettings(enabled=True, config=str(path)), single())
    assert result.ok, result.reason
    [message] = fresh.received
    assert message["title"] == "Time to follow up with Acme Widgets"
    assert message["message"] == "Follow-up 1 of 2 for Backend engineer at Acme Widgets is due."


def test_only_the_urls_with_the_tag_are_used(fresh, tmp_path):
    path = apprise_config(tmp_path, fresh.port, f"laptop=json://127.0.0.1:{fresh.port}/a\n"
                                                 f"phone=json://127.0.0.1:{fresh.port}/b\n")
    assert deliver(AppriseSettings(enabled=True, config=str(path), tag="phone"), single()).ok
    assert len(fresh.received) == 1
    nothing = deliver(AppriseSettings(enabled=True, config=str(path), tag="pager"), single())
    assert nothing.outcome is DeliveryResult.NEEDS_FIX
    assert "no Apprise URL to deliver to with the tag 'pager'" in nothing.reason


def test_a_refusing_endpoint_is_worth_retrying(fresh, tmp_path):
    fresh.status = 500
    path = apprise_config(tmp_path, fresh.port)
    result = deliver(AppriseSettings(enabled=True, config=str(path)), single())
    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert result.reason.startswith("Apprise could not deliver")


def test_a_slow_service_ends_the_attempt_within_the_channels_own_timeout(fresh, tmp_path):
    # Apprise's own socket timeouts (4 s by default) would outlast a 2 s channel: the
    # channel sets each URL's cto/rto from its timeout, and its thread is done when
    # the attempt ends (asyncio.run waits for it), so nothing can post after.
    fresh.hold = True
    path = apprise_config(tmp_path, fresh.port)
    channel = AppriseChannel(AppriseSettings(enabled=True, config=str(path)), timeout=2)
    started = time.monotonic()
    result = asyncio.run(channel.deliver(single()))
    took = time.monotonic() - started
    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert took < 3.0, took
    assert len(fresh.received) == 1


def test_the_settings_build_the_channel_and_notify_test_uses_it(fresh, tmp_path):
    path = apprise_config(tmp_path, fresh.port)
    settings = parse_text(f'[notify.desktop]\nenabled = false\n[notify.apprise]\n'
                          f'enabled = true\nconfig = "{path}"\n')
    [(name, result)] = asyncio.run(channels.notify_test(settings))
    assert (name, result.ok) == ("apprise", True)
    assert fresh.received[0]["title"].startswith("Test from followup: ")


def test_readiness_wants_the_tokens_private(tmp_path, fresh):
    path = apprise_config(tmp_path, fresh.port)
    assert readiness(AppriseSettings(enabled=True, config=str(path))) == []
    path.chmod(0o644)
    [problem] = readiness(AppriseSettings(enabled=True, config=str(path)))
    assert problem == (f"{path} is readable by others and its URLs carry tokens: "
                       f"chmod 600 {path}")
    [missing] = readiness(AppriseSettings(enabled=True, config=str(tmp_path / "none.yml")))
    assert missing.startswith("cannot read")
