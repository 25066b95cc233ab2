"""Where the desktop session bus is, found without importing D-Bus (dbus-fast is slow to
import, and `config check` only needs to know whether there is a bus at all)."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping


def session_bus_address(environ: Mapping[str, str] = os.environ) -> str | None:
    """$DBUS_SESSION_BUS_ADDRESS, else `unix:path=$XDG_RUNTIME_DIR/bus` if that socket exists."""
    if environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return environ["DBUS_SESSION_BUS_ADDRESS"]
    runtime = environ.get("XDG_RUNTIME_DIR")
    if not runtime:
        return None
    path = os.path.join(runtime, "bus")
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            return f"unix:path={_escape_address_value(path)}"
    except OSError:
        pass
    return None


def _escape_address_value(value: str) -> str:
    plain = set("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_/.\\*")
    return "".join(chr(b) if chr(b) in plain else f"%{b:02x}" for b in os.fsencode(value))
