"""Desktop notifications: the freedesktop notification server on the session bus.

This speaks `org.freedesktop.Notifications` directly with dbus-fast instead of
going through desktop-notifier, which offers no way to name the bus address,
logs and swallows every failure (so a failed delivery cannot say why), and
keeps a dead connection forever. Here the address falls back to
`$XDG_RUNTIME_DIR/bus` (a systemd user service may have no
DBUS_SESSION_BUS_ADDRESS), the server's own error becomes the failure reason,
and a lost connection is made again on the next delivery.

A single reminder gets three buttons whose action keys on the bus are exactly
`draft`, `sent` and `snooze`; the action handler is told the interview and the
number of the nudge whose button was pressed. The connection stays open between deliveries so
that `ActionInvoked` signals reach the handler while the daemon runs.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import logging
import os
import shutil
import subprocess
from collections.abc import Awaitable

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from followup import content
from followup.channels.base import DELIVERED, ActionHandler, Channel, Result, try_again
from followup.channels.bus import session_bus_address
from followup.content import mailto
from followup.models import Draft, Notice, Reminder

log = logging.getLogger(__name__)

NOTIFICATIONS = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
ICON = "mail-message-new"
NO_BUS = ("no desktop session bus (DBUS_SESSION_BUS_ADDRESS unset and no $XDG_RUNTIME_DIR/bus): "
          "is a desktop session running for this user?")
NO_SERVER = ("no notification server on the desktop session bus (nothing owns "
             f"{NOTIFICATIONS}): is a desktop session running for this user?")
NO_OWNER_ERRORS = frozenset({"org.freedesktop.DBus.Error.ServiceUnknown",
                             "org.freedesktop.DBus.Error.NameHasNoOwner"})
REMEMBERED = 256  # shown notifications whose buttons still work; old ones are forgotten


class NotShown(Exception):
    """The bus or the notification server said no; the message is the reason."""


class DesktopChannel(Channel):
    name = "desktop"

    def __init__(self, on_action: ActionHandler | None = None, *, address: str | None = None,
                 timeout: float = 5.0) -> None:
        """`address` overrides the session bus found in the environment at each delivery."""
        self._on_action = on_action
        self._address = address
        self._timeout = timeout
        self._bus: MessageBus | None = None
        self._bus_address = ""
        self._connecting = asyncio.Lock()
        # (server's unique bus name, notification id) -> the reminder it shows
        self._shown: dict[tuple[str, int], Reminder] = {}
        self._tasks: set[asyncio.Task] = set()  # action handlers and xdg-open runs
        self._watches: set[asyncio.Task] = set()  # each waits for a connection to end

    @property
    def connected(self) -> bool:
        """Whether a live session bus connection is kept (for the buttons to work)."""
        return self._bus is not None and self._bus.connected

    async def deliver(self, notice: Notice) -> Result:
        address = self._address or session_bus_address()
        if address is None:
            return try_again(NO_BUS)
        try:
            async with asyncio.timeout(self._timeout):
                shown = await self._notify(address, notice)
        except TimeoutError:
            return try_again(f"no answer from the desktop notification server within "
                             f"{self._timeout:g} s (at {address})")
        except NotShown as error:
            return try_again(str(error))
        except Exception as error:  # dbus-fast raises many kinds for a bad or lost bus
            self._drop_bus()
            return try_again(f"cannot reach the desktop session bus at {address}: "
                             f"{_describe(error)}")
        if len(notice.reminders) == 1:
            self._remember(shown, notice.reminders[0])
        return DELIVERED

    async def tell(self, title: str, body: str) -> Result:
        """A notice: shown like a nudge, without buttons."""
        return await self.deliver(Notice(key="notice", title=title, body=body, reminders=()))

    async def close(self) -> None:
        """Let running action handlers finish (a few seconds at most), then disconnect."""
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self._timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._drop_bus()
        if self._watches:
            await asyncio.wait(self._watches, timeout=self._timeout)

    # --- sending ----------------------------------------------------------------

    async def _notify(self, address: str, notice: Notice) -> tuple[str, int]:
        """Show the notice; return (server's unique name, notification id). Raises NotShown."""
        bus = await self._connected(address)
        capabilities = await _call(bus, "GetCapabilities")
        body = notice.body
        if "body-markup" in capabilities.body[0]:
            body = html.escape(body, quote=False)
        actions = ([part for key, label in _buttons(notice).items() for part in (key, label)]
                   if len(notice.reminders) == 1 else [])
        hints = {"urgency": Variant("y", 1)}
        reply = await _call(bus, "Notify", "susssasa{sv}i",
                            ["followup", 0, ICON, notice.title, body, actions, hints, -1])
        return reply.sender, reply.body[0]

    async def _connected(self, address: str) -> MessageBus:
        async with self._connecting:  # two deliveries at once must share one connection
            if self._bus is not None and self._bus.connected and self._bus_address == address:
                return self._bus
            return await self._connect(address)

    async def _connect(self, address: str) -> MessageBus:
        self._drop_bus()
        bus = MessageBus(bus_address=address)
        try:
            await bus.connect()
            bus.add_message_handler(self._on_message)
            rule = f"type='signal',interface='{NOTIFICATIONS}',path='{NOTIFICATIONS_PATH}'"
            await _call(bus, "AddMatch", "s", [rule], destination="org.freedesktop.DBus",
                        path="/org/freedesktop/DBus", interface="org.freedesktop.DBus")
        except BaseException:
            bus.disconnect()
            raise
        self._bus, self._bus_address = bus, address
        watch = asyncio.ensure_future(bus.wait_for_disconnect())
        self._watches.add(watch)
        watch.add_done_callback(self._disconnected)
        return bus

    def _disconnected(self, watch: asyncio.Task) -> None:
        self._watches.discard(watch)
        if not watch.cancelled() and watch.exception() is not None:
            log.info("the desktop session bus went away (%s); the next nudge connects again",
                     _describe(watch.exception()))

    def _drop_bus(self) -> None:
        if self._bus is not None:
            self._bus.disconnect()
        self._bus = None

    def _remember(self, shown: tuple[str, int], reminder: Reminder) -> None:
        self._shown[shown] = reminder
        while len(self._shown) > REMEMBERED:
            del self._shown[next(iter(self._shown))]

    # --- the user's answers -------------------------------------------------------

    def _on_message(self, message: Message) -> None:
        """Runs on the loop that connected the bus (the daemon's) for every message."""
        if (message.message_type is not MessageType.SIGNAL or message.interface != NOTIFICATIONS
                or message.path != NOTIFICATIONS_PATH):
            return
        if message.member == "ActionInvoked" and message.signature == "us":
            notification_id, action = message.body
            self._act(action, (message.sender, notification_id))
        elif message.member == "NotificationClosed" and message.signature == "uu":
            self._shown.pop((message.sender, message.body[0]), None)

    def _act(self, action: str, shown: tuple[str, int]) -> None:
        reminder = self._shown.get(shown)
        if reminder is None or action not in ("draft", "sent", "snooze"):
            return  # not ours, forgotten, or a click on the notification itself ("default")
        if action == "draft":
            self._spawn(open_draft(reminder.draft))
            return
        del self._shown[shown]  # "I sent it" twice must not record two follow-ups
        if self._on_action is None:
            log.info("%r pressed for interview %s, but no daemon is running to act on it",
                     action, reminder.interview.id)
            return
        try:
            outcome = self._on_action(action, reminder.interview.id, reminder.number)
        except Exception:
            log.exception("acting on %r for interview %s failed", action, reminder.interview.id)
            return
        if inspect.isawaitable(outcome):
            self._spawn(outcome)

    def _spawn(self, awaitable: Awaitable[object]) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)


def _buttons(notice: Notice) -> dict[str, str]:
    """The buttons' labels by action key, in the nudge's language."""
    return content.words(notice.reminders[0].language).BUTTONS


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a notification action failed", exc_info=task.exception())


async def open_draft(draft: Draft) -> None:
    """Open the draft in the user's mail client with `xdg-open mailto:...`; log problems."""
    opener = shutil.which("xdg-open")
    if opener is None:
        log.warning("cannot open the follow-up draft: xdg-open is not installed "
                    "(on Debian: apt install xdg-utils)")
        return
    argv = [opener, mailto(draft)]
    runner = shutil.which("systemd-run")
    if os.environ.get("INVOCATION_ID") and runner:
        # Under the service, start the mail client as a unit of its own: outside the
        # service's sandbox, and not stopped when the service restarts.
        argv = [runner, "--user", "--quiet", "--collect", "-p", "ExitType=cgroup", "--", *argv]
    try:
        # Not waited for with a timeout: xdg-open may run the mail client in the
        # foreground, and killing it would close the draft the user is writing.
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as error:
        log.warning("cannot run %s to open the follow-up draft: %s", opener, _describe(error))
        return
    status = await process.wait()
    if status != 0:
        log.warning("xdg-open could not open the follow-up draft (exit status %s): is a "
                    "mail client set up for mailto: links?", status)


async def _call(bus: MessageBus, member: str, signature: str = "", body: list | None = None,
                *, destination: str = NOTIFICATIONS, path: str = NOTIFICATIONS_PATH,
                interface: str = NOTIFICATIONS) -> Message:
    """Call a method; return the reply. Raises NotShown for an error reply."""
    reply = await bus.call(Message(destination=destination, path=path, interface=interface,
                                   member=member, signature=signature, body=body or []))
    if reply.message_type is MessageType.ERROR:
        if reply.error_name in NO_OWNER_ERRORS:
            raise NotShown(NO_SERVER)
        text = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
        raise NotShown(f"the desktop notification server refused {member}: "
                       f"{reply.error_name}: {text}".rstrip(": "))
    return reply


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
