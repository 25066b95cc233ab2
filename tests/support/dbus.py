"""A private D-Bus session bus, and a notification server on it, for tests.

The bus is a real `dbus-daemon` with a configuration of its own: no service
directories, so nothing installed on the machine can be activated on it (a
"no notification server" bus stays that way). The notification server speaks
`org.freedesktop.Notifications` with dbus-fast from a thread with its own event
loop, records every Notify call, and can emit ActionInvoked and
NotificationClosed as a real server does when the user clicks.
"""

import asyncio
import os
import selectors
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest
from dbus_fast import Message, MessageType, NameFlag, RequestNameReply, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusInt32, DBusSignature, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, method, signal

STARTUP_SECONDS = 10.0

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{listen}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def dbus_daemon_program() -> str:
    """The dbus-daemon to run; skips the test without one (fails it when $CI is set)."""
    program = shutil.which("dbus-daemon")
    if program is None:
        message = "dbus-daemon is not installed (on Debian: apt install dbus-daemon)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return program


@contextmanager
def private_bus(socket_path: Path | None = None) -> Iterator[str]:
    """Run a private session bus (on `socket_path` if given); yield its address."""
    program = dbus_daemon_program()
    # A short folder: a unix socket path must fit in 108 bytes.
    folder = Path(tempfile.mkdtemp(prefix="followup-bus-"))
    config = folder / "bus.conf"
    listen = f"unix:path={socket_path}" if socket_path else f"unix:dir={folder}"
    config.write_text(BUS_CONFIG.format(listen=listen), encoding="utf-8")
    with open(folder / "stderr", "w+b") as stderr:
        process = subprocess.Popen(
            [program, f"--config-file={config}", "--nofork", "--print-address=1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr)
        try:
            yield _read_address(process, stderr)
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            process.stdout.close()
            shutil.rmtree(folder, ignore_errors=True)


def _read_address(process: subprocess.Popen, stderr) -> str:
    deadline = time.monotonic() + STARTUP_SECONDS
    output = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in output:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or process.poll() is not None:
                stderr.seek(0)
                raise RuntimeError(f"dbus-daemon did not start: {stderr.read().decode()!r}")
            if selector.select(remaining):
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    continue  # EOF: poll() tells whether it died
                output += chunk
    return output.decode().strip()


@dataclass(frozen=True)
class Shown:
    """One Notify call, as the server received it."""

    id: int
    app_name: str
    replaces_id: int
    app_icon: str
    summary: str
    body: str
    actions: dict[str, str]  # action key -> button label
    hints: dict[str, Any]
    expire_timeout: int


class _Notifications(ServiceInterface):
    def __init__(self, server: "NotificationServer") -> None:
        super().__init__("org.freedesktop.Notifications")
        self._server = server

    @method()
    def Notify(self, app_name: DBusStr, replaces_id: DBusUInt32, app_icon: DBusStr,
                     summary: DBusStr, body: DBusStr,
                     actions: Annotated[list[str], DBusSignature("as")],
                     hints: Annotated[dict[str, Variant], DBusSignature("a{sv}")],
                     expire_timeout: DBusInt32) -> DBusUInt32:
        pairs = dict(zip(actions[::2], actions[1::2], strict=True))
        plain = {key: value.value for key, value in hints.items()}
        return self._server.record(app_name, replaces_id, app_icon, summary, body, pairs,
                                   plain, expire_timeout)

    @method()
    def GetCapabilities(self) -> Annotated[list[str], DBusSignature("as")]:
        return list(self._server.capabilities)

    @method()
    def GetServerInformation(self) -> Annotated[list[str], DBusSignature("ssss")]:
        return ["followup-test-server", "followup", "1.0", "1.2"]

    @method()
    def CloseNotification(self, id: DBusUInt32) -> None:
        self.NotificationClosed(id, 3)

    @signal()
    def ActionInvoked(self, id: int, action_key: str) -> Annotated[list, DBusSignature("us")]:
        return [id, action_key]

    @signal()
    def NotificationClosed(self, id: int, reason: int) -> Annotated[list, DBusSignature("uu")]:
        return [id, reason]


class NotificationServer:
    """org.freedesktop.Notifications on a bus, served from its own thread.

    `hung=True` makes a server that owns the name but never answers Notify.
    """

    def __init__(self, address: str, *, hung: bool = False,
                 capabilities: tuple[str, ...] = ("actions", "body")) -> None:
        self.address = address
        self.hung = hung
        self.capabilities = capabilities
        self._shown: list[Shown] = []
        self._changed = threading.Condition()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._interface = _Notifications(self)
        self._thread = threading.Thread(target=self._run, name="notification-server",
                                        daemon=True)

    def start(self) -> "NotificationServer":
        self._thread.start()
        if not self._ready.wait(STARTUP_SECONDS):
            raise RuntimeError("the notification server did not start")
        if self._error is not None:
            raise RuntimeError("the notification server did not start") from self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(STARTUP_SECONDS)

    def record(self, *fields: Any) -> int:
        with self._changed:
            shown = Shown(len(self._shown) + 1, *fields)
            self._shown.append(shown)
            self._changed.notify_all()
        return shown.id

    @property
    def shown(self) -> list[Shown]:
        with self._changed:
            return list(self._shown)

    def wait_for_shown(self, count: int = 1, timeout: float = 30.0) -> list[Shown]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._shown) >= count, timeout):
                raise AssertionError(f"expected {count} notifications, got {len(self._shown)}")
            return list(self._shown)

    def invoke_action(self, notification_id: int, action_key: str) -> None:
        """Emit ActionInvoked, as the server does when the user presses a button."""
        self._loop.call_soon_threadsafe(self._interface.ActionInvoked, notification_id,
                                        action_key)

    def close_notification(self, notification_id: int, reason: int = 2) -> None:
        """Emit NotificationClosed (2: dismissed by the user)."""
        self._loop.call_soon_threadsafe(self._interface.NotificationClosed, notification_id,
                                        reason)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:
            self._error = error
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        bus = await MessageBus(bus_address=self.address).connect()
        try:
            if self.hung:
                bus.add_message_handler(_swallow_notify)
            bus.export("/org/freedesktop/Notifications", self._interface)
            reply = await bus.request_name("org.freedesktop.Notifications",
                                           NameFlag.DO_NOT_QUEUE)
            if reply is not RequestNameReply.PRIMARY_OWNER:
                raise RuntimeError(f"could not own org.freedesktop.Notifications: {reply}")
            self._ready.set()
            await self._stop.wait()
        finally:
            bus.disconnect()
            await asyncio.wait_for(bus.wait_for_disconnect(), STARTUP_SECONDS)


async def connections(address: str) -> int:
    """How many connections the bus has, not counting the one asking."""
    bus = await MessageBus(bus_address=address).connect()
    try:
        reply = await bus.call(Message(destination="org.freedesktop.DBus",
                                       path="/org/freedesktop/DBus",
                                       interface="org.freedesktop.DBus", member="ListNames"))
    finally:
        bus.disconnect()
        await asyncio.wait_for(bus.wait_for_disconnect(), STARTUP_SECONDS)
    return sum(1 for name in reply.body[0] if name.startswith(":")) - 1


def _swallow_notify(message: Message) -> bool:
    """Take Notify calls and never answer them, as a hung server does."""
    return message.message_type is MessageType.METHOD_CALL and message.member == "Notify"


# Each fixture's function has a name of its own, so that a test module can import
# it without the test's parameter shadowing the import.


@pytest.fixture(name="bus_address")
def bus_address_fixture() -> Iterator[str]:
    """A private session bus with nothing on it; its address."""
    with private_bus() as address:
        yield address


@pytest.fixture(name="notification_server")
def notification_server_fixture(bus_address: str) -> Iterator[NotificationServer]:
    server = NotificationServer(bus_address).start()
    yield server
    server.stop()


@pytest.fixture(name="hung_notification_server")
def hung_notification_server_fixture(bus_address: str) -> Iterator[NotificationServer]:
    server = NotificationServer(bus_address, hung=True).start()
    yield server
    server.stop()
