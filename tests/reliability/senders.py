"""Which daemon sent what the chaos run's servers received: the process holding the
client end of a TCP connection, found in /proc (Linux), and what a daemon held when
it was killed.

A daemon can be SIGKILLed between sending a message and our look-up; its sockets are
gone then. So a daemon about to be killed is first stopped (SIGSTOP: it can open and
close nothing more), the client ports of its connections to our servers are noted,
and only then is it killed; a look-up that finds no living owner asks those notes.
"""

from __future__ import annotations

import os
import signal
import threading


def _connections() -> dict[int, tuple[int, int]]:
    """Socket inode -> (local port, remote port) of every IPv4 TCP socket."""
    found = {}
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], int(fields[9])
            if inode:
                found[inode] = (int(local.split(":")[1], 16), int(remote.split(":")[1], 16))
    return found


def _sockets(pid: int) -> set[int]:
    """The inodes of the sockets process `pid` has open (empty once it is gone)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except OSError:
        pass
    return inodes


class Senders:
    """Finds the daemon (by pid) behind a client port connected to one of `servers`
    (our SMTP and HTTP ports)."""

    def __init__(self, servers: set[int]) -> None:
        self.servers = servers
        self.alive: set[int] = set()
        self.killed_ports: dict[int, int] = {}  # client port -> pid, noted before a kill
        self.lock = threading.Lock()

    def started(self, pid: int) -> None:
        with self.lock:
            self.alive.add(pid)

    def held(self, pid: int) -> dict[int, int]:
        """The client ports of `pid`'s connections to our servers."""
        inodes = _sockets(pid)
        return {local: pid for inode, (local, remote) in _connections().items()
                if inode in inodes and remote in self.servers}

    def kill(self, pid: int) -> None:
        """SIGKILL `pid`, noting first (while it is stopped) the connections it held."""
        os.kill(pid, signal.SIGSTOP)
        held = self.held(pid)
        with self.lock:
            self.killed_ports.update(held)
            self.alive.discard(pid)
        os.kill(pid, signal.SIGKILL)

    def gone(self, pid: int) -> None:
        with self.lock:
            self.alive.discard(pid)

    def of(self, client_port: int) -> int | None:
        """The daemon holding `client_port`: a living one, or one killed holding it."""
        with self.lock:
            alive = set(self.alive)
        owner = {inode for inode, (local, _) in _connections().items() if local == client_port}
        for pid in alive:
            if owner & _sockets(pid):
                return pid
        with self.lock:
            return self.killed_ports.get(client_port)
