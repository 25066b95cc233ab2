"""Who holds a delivery: a process named so that a crashed one can be told apart.

An owner is `machine/boot/pid/start`: the machine id (not the host name, which
can change between a crash and the restart), the boot id (a pid from before a
reboot is dead whatever runs under it now), the pid, and the process's start
time in clock ticks (a pid alone is reused).
"""

from __future__ import annotations

import socket
from functools import cache
from pathlib import Path


def process_identity(pid: int) -> str:
    return f"{machine_id()}/{boot_id()}/{pid}/{start_ticks(pid)}"


def process_alive(identity: str, single_machine: bool) -> bool:
    """Whether the process an identity names still runs.

    A process of another machine cannot be checked and is taken as alive,
    unless the database is one machine's own (`single_machine`: a SQLite file),
    in which case every owner ran here, under whatever host name it had then.
    Owners written by older versions (`host/pid/start`) are read the same way.
    """
    parts = identity.split("/")
    if len(parts) == 4:
        machine, boot, pid, start = parts
        here = machine == machine_id()
    elif len(parts) == 3:
        host, pid, start = parts
        boot, here = boot_id(), host == socket.gethostname()
    else:
        return not single_machine
    if not here and not single_machine:
        return True
    if boot != boot_id() or not pid.isdigit():
        return False
    running = start_ticks(int(pid))
    return running != "" and running == start


@cache
def machine_id() -> str:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            found = Path(path).read_text().strip()
        except OSError:
            continue
        if found:
            return found
    return socket.gethostname().replace("/", "-")


@cache
def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "-"


def start_ticks(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""
