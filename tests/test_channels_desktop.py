"""The desktop channel, against a private dbus-daemon and a notification server on it."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from followup.channels.base import DeliveryResult
from followup.channels.desktop import DesktopChannel, session_bus_address
from support.dbus import (  # noqa: F401 - fixtures
    NotificationServer,
    bus_address_fixture,
    connections,
    hung_notification_server_fixture,
    notification_server_fixture,
    private_bus,
)
from support.notices import digest, reminder, single

BUTTONS = {"draft": "Open draft", "sent": "I sent it", "snooze": "Snooze 1 day"}
# D-Bus round trips on a loaded 2-core CI machine: wait long, fail only when it is broken.
GENEROUS = 30.0


async def until(condition, timeout: float = GENEROUS) -> bool:
    """Let the loop run until `condition()` holds; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


@pytest.fixture
def session(notification_server, monkeypatch) -> NotificationServer:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", notification_server.address)
    return notification_server


def test_a_reminder_is_shown_with_its_three_buttons(session):
    async def scenario():
        channel = DesktopChannel(timeout=GENEROUS)
        try:
            return await channel.deliver(single(company="Acme Widgets"))
        finally:
            await channel.close()

    assert asyncio.run(scenario()).outcome is DeliveryResult.DELIVERED
    [shown] = session.shown
    assert shown.app_name == "followup"
    assert shown.summary == "Time to follow up with Acme Widgets"
    assert shown.body == "Follow-up 1 of 2 for Backend engineer at Acme Widgets is due."
    assert shown.actions == BUTTONS
    assert shown.replaces_id == 0
    assert shown.hints == {"urgency": 1}


def test_the_body_is_escaped_for_a_server_that_reads_markup(bus_address):
    server = NotificationServer(bus_address, capabilities=("actions", "body", "body-markup"))
    server.start()

    async def scenario():
        channel = DesktopChannel(address=bus_address, timeout=GENEROUS)
        try:
            return await channel.deliver(single(company="Smith & Sons <EU>"))
        finally:
            await channel.close()

    try:
        assert asyncio.run(scenario()).ok
    finally:
        server.stop()
    [shown] = server.shown
    assert shown.summary == "Time to follow up with Smith & Sons <EU>"
    assert shown.body == ("Follow-up 1 of 2 for Backend engineer at Smith &amp; Sons &lt;EU&gt; "
                          "is due.")


def test_a_digest_is_shown_without_buttons(session):
    async def scenario():
        channel = DesktopChannel(timeout=GENEROUS)
        try:
            return await channel.deliver(digest(reminder(7), reminder(8, "Globex")))
        finally:
            await channel.close()

    assert asyncio.run(scenario()).ok
    [shown] = session.shown
    assert shown.summary == "2 follow-ups are due"
    assert shown.actions == {}


@pytest.mark.parametrize("action, handler_is_async", [("sent", True), ("snooze", False)])
def test_a_pressed_button_reaches_the_action_handler_with_the_nudge_number(
        session, action, handler_is_async):
    calls: list[tuple[str, int, int]] = []

    async def on_action_async(name: str, interview_id: int, number: int) -> None:
        await asyncio.sleep(0)
        calls.append((name, interview_id, number))

    def on_action(name: str, interview_id: int, number: int) -> None:
        calls.append((name, interview_id, number))

    async def scenario():
        channel = DesktopChannel(on_action_async if handler_is_async else on_action,
                                 timeout=GENEROUS)
        try:
            assert (await channel.deliver(single(interview_id=42, number=2))).ok
            session.invoke_action(session.wait_for_shown(1)[0].id, action)
            assert await until(lambda: calls), "the action never reached the handler"
        finally:
            await channel.close()

    asyncio.run(scenario())
    assert calls == [(action, 42, 2)]


def test_buttons_keep_working_across_deliveries_and_act_once(session):
    calls: list[tuple[str, int]] = []

    async def scenario():
        channel = DesktopChannel(lambda name, interview_id, _number: calls.append(
            (name, interview_id)), timeout=GENEROUS)
        try:
            assert (await channel.deliver(single("7-1", interview_id=7))).ok
            assert (await channel.deliver(single("8-1", interview_id=8))).ok
            first, second = session.wait_for_shown(2)
            session.invoke_action(first.id, "sent")
            session.invoke_action(first.id, "sent")  # pressed twice: one follow-up
            session.invoke_action(999, "sent")  # another application's notification
            session.invoke_action(second.id, "default")  # a click on the body itself
            session.invoke_action(second.id, "snooze")
            # Signals from one sender arrive in order: when the last one is in, so are all.
            assert await until(lambda: ("snooze", 8) in calls)
        finally:
            await channel.close()

    asyncio.run(scenario())
    assert calls == [("sent", 7), ("snooze", 8)]


def test_deliveries_at_the_same_time_share_one_connection(session):
    async def scenario():
        channel = DesktopChannel(timeout=GENEROUS)
        before = await connections(session.address)
        try:
            results = await asyncio.gather(*(channel.deliver(single(f"{n}-1", interview_id=n))
                                             for n in (1, 2, 3)))
            return results, await connections(session.address) - before
        finally:
            await channel.close()

    results, opened = asyncio.run(scenario())
    assert [result.outcome for result in results] == [DeliveryResult.DELIVERED] * 3
    assert opened == 1  # three deliveries, one connection


def test_a_closed_notification_forgets_its_buttons(session):
    calls: list[tuple[str, int]] = []

    async def scenario():
        channel = DesktopChannel(lambda name, interview_id, _number: calls.append(
            (name, interview_id)), timeout=GENEROUS)
        try:
            assert (await channel.deliver(single("7-1", interview_id=7))).ok
            assert (await channel.deliver(single("8-1", interview_id=8))).ok
            first, second = session.wait_for_shown(2)
            session.close_notification(first.id)
            session.invoke_action(first.id, "sent")
            session.invoke_action(second.id, "sent")
            assert await until(lambda: ("sent", 8) in calls)
        finally:
            await channel.close()

    asyncio.run(scenario())
    assert calls == [("sent", 8)]


def test_open_draft_runs_xdg_open_with_a_mailto_link(session, tmp_path, monkeypatch):
    opened = tmp_path / "opened"
    program = tmp_path / "bin" / "xdg-open"
    program.parent.mkdir()
    program.write_text(f"#!{sys.executable}\nimport json, pathlib, sys\n"
                       f"pathlib.Path({str(opened)!r}).write_text(json.dumps(sys.argv[1:]))\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(program.parent))

    async def scenario():
        channel = DesktopChannel(timeout=GENEROUS)
        try:
            assert (await channel.deliver(single())).ok
            session.invoke_action(session.wait_for_shown(1)[0].id, "draft")
            assert await until(opened.exists, timeout=10), "xdg-open was not run"
        finally:
            await channel.close()

    asyncio.run(scenario())
    [url] = json.loads(opened.read_text())
    parts = urlsplit(url)
    assert (parts.scheme, unquote(parts.path)) == ("mailto", "dana@acme.example")
    query = parse_qs(parts.query)
    assert query["subject"] == ["Thank you: Backend engineer interview"]
    assert query["body"] == ["Dear Dana,\r\n\r\nthank you for the talk about the API team "
                             "& its plans.\r\n\r\nBest"]


def test_open_draft_without_xdg_open_logs_a_warning(session, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("PATH", str(tmp_path))

    async def scenario():
        channel = DesktopChannel(timeout=GENEROUS)
        try:
            assert (await channel.deliver(single())).ok
            session.invoke_action(session.wait_for_shown(1)[0].id, "draft")
            assert await until(lambda: "xdg-open is not installed" in caplog.text)
        finally:
            await channel.close()

    with caplog.at_level(logging.WARNING, logger="followup.channels.desktop"):
        asyncio.run(scenario())


def _deliver(channel: DesktopChannel) -> tuple:
    async def scenario():
        started = time.monotonic()
        try:
            result = await channel.deliver(single())
        finally:
            await channel.close()
        return result, time.monotonic() - started

    return asyncio.run(scenario())


def test_no_session_bus_is_a_transient_failure_at_once():
    result, seconds = _deliver(DesktopChannel())
    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert result.reason.startswith("no desktop session bus (DBUS_SESSION_BUS_ADDRESS unset "
                                    "and no $XDG_RUNTIME_DIR/bus)")
    assert seconds < 1


def test_a_bus_address_nobody_listens_on_is_a_transient_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/gone")
    result, seconds = _deliver(DesktopChannel())
    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert result.reason == (f"cannot reach the desktop session bus at unix:path={tmp_path}"
                             "/gone: No such file or directory")
    assert seconds < 2


def test_a_bus_without_a_notification_server_is_a_transient_failure(bus_address):
    result, seconds = _deliver(DesktopChannel(address=bus_address))
    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert result.reason.startswith("no notification server on the desktop session bus")
    assert seconds < 2


def test_a_hung_notification_server_is_a_transient_failure_in_bounded_time(
        hung_notification_server):
    result, seconds = _deliver(DesktopChannel(address=hung_notification_server.address))
    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert result.reason.startswith("no answer from the desktop notification server within 5 s")
    assert 4.5 < seconds < 10


def test_the_bus_under_xdg_runtime_dir_is_used_when_the_address_is_unset(private_home):
    with private_bus(private_home / "runtime" / "bus") as address:
        server = NotificationServer(address).start()
        try:
            result, _ = _deliver(DesktopChannel(timeout=GENEROUS))
        finally:
            server.stop()
    assert result.ok
    assert len(server.shown) == 1


def test_a_restarted_bus_is_reconnected_to(private_home):
    """The daemon outlives a session bus (log out, log in): the next nudge still shows."""
    path = private_home / "runtime" / "bus"
    channel = DesktopChannel(timeout=GENEROUS)

    async def deliver_on_a_new_bus():
        with private_bus(path) as address:
            server = NotificationServer(address).start()
            try:
                result = await channel.deliver(single())
                assert channel.connected
            finally:
                server.stop()
        assert await until(lambda: not channel.connected), "the lost bus went unnoticed"
        return result.outcome, len(server.shown)

    async def scenario():
        try:
            return [await deliver_on_a_new_bus(), await deliver_on_a_new_bus()]
        finally:
            await channel.close()

    assert asyncio.run(scenario()) == [(DeliveryResult.DELIVERED, 1), (DeliveryResult.DELIVERED, 1)]


@pytest.mark.parametrize("environment, bus_is_a_socket, expected", [
    ({"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus"}, True,
     "unix:path=/run/user/1000/bus"),
    ({}, True, "unix:path={runtime}/bus"),
    ({}, False, None),
])
def test_session_bus_address(environment, bus_is_a_socket, expected, tmp_path):
    import socket

    runtime = tmp_path / "run dir"  # a space, escaped in the address
    runtime.mkdir()
    with socket.socket(socket.AF_UNIX) as listener:
        if bus_is_a_socket:
            listener.bind(str(runtime / "bus"))
        else:
            (runtime / "bus").write_text("not a socket")
        found = session_bus_address({**environment, "XDG_RUNTIME_DIR": str(runtime)})
    escaped = str(runtime).replace(" ", "%20")
    assert found == (expected.format(runtime=escaped) if expected else None)


def test_a_french_nudge_has_french_buttons(session):
    # Issue 19, item 3: the nudge texts are in the interview's language.
    from dataclasses import replace

    notice = single(company="Acme Widgets")
    french = replace(notice, reminders=(replace(notice.reminders[0], language="fr"),))

    async def scenario():
        channel = DesktopChannel(timeout=GENEROUS)
        try:
            return await channel.deliver(french)
        finally:
            await channel.close()

    assert asyncio.run(scenario()).outcome is DeliveryResult.DELIVERED
    [shown] = session.shown
    assert shown.actions == {"draft": "Ouvrir le brouillon", "sent": "C'est envoyé",
                             "snooze": "Reporter d'un jour"}
