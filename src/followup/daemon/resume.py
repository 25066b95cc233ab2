"""Learning that the machine woke up, from logind, when the system bus has it.

Before a suspend and after the resume, logind sends `PrepareForSleep` on the
system bus (true, then false). On false the daemon looks at everything again
at once, instead of at the next rescan. Without a system bus or logind (a
container, a minimal server) this quietly does nothing: the rescans, judged by
the wall clock, catch a resume all the same, only up to `rescan_seconds` later.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

log = logging.getLogger("followup")

SYSTEM_BUS = "unix:path=/run/dbus/system_bus_socket"
LOGIND = "org.freedesktop.login1"
MANAGER = "org.freedesktop.login1.Manager"
CONNECT_TIMEOUT = 10.0


async def watch_resume(on_resume: Callable[[], None],
                       listening: Callable[[], None] | None = None) -> None:
    """Call `on_resume` after each resume, until cancelled; `listening` once the
    subscription is in place. Never raises (a missing bus is logged at debug level)."""
    address = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or SYSTEM_BUS
    path = address.removeprefix("unix:path=").split(",", 1)[0]
    if address.startswith("unix:path=") and not os.path.exists(path):
        log.debug("not watching for resumes (no system bus at %s)", address)
        return  # no bus: the D-Bus library is not even imported
    from dbus_fast import Message, MessageType
    from dbus_fast.aio import MessageBus

    bus = None

    def on_message(message: Message) -> None:
        if (message.message_type is MessageType.SIGNAL and message.interface == MANAGER
                and message.member == "PrepareForSleep" and message.body == [False]):
            log.info("the machine woke up (logind): looking at everything again")
            on_resume()

    try:
        bus = MessageBus(bus_address=address)  # a malformed address raises here
        await asyncio.wait_for(bus.connect(), CONNECT_TIMEOUT)
        bus.add_message_handler(on_message)
        rule = (f"type='signal',sender='{LOGIND}',interface='{MANAGER}',"
                "member='PrepareForSleep'")
        reply = await asyncio.wait_for(bus.call(Message(
            destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus", member="AddMatch", signature="s",
            body=[rule])), CONNECT_TIMEOUT)
        if reply.message_type is MessageType.ERROR:
            raise OSError(f"AddMatch: {reply.error_name}")
        if listening is not None:
            listening()
        await bus.wait_for_disconnect()
    except asyncio.CancelledError:
        raise
    except Exception as error:  # no system bus here: the rescans do the work
        log.debug("not watching for resumes (no system bus at %s: %s)", address, error)
    finally:
        if bus is not None:
            bus.disconnect()
