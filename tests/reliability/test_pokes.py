"""A flood of wake-socket datagrams: the daemon coalesces them, so memory and CPU stay
bounded, and it still delivers afterwards."""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta

import pytest
from faults import add_interviews

from followup.daemon import wake
from support.daemon import wait_for

pytestmark = pytest.mark.reliability

POKES = 20_000


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):  # noqa: SIM115 - a short read
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settled(pid: int) -> bool:
    """The process used (almost) no CPU over the last half second."""
    before = cpu_seconds(pid)
    time.sleep(0.5)  # a measuring interval, not a wait for a condition
    return cpu_seconds(pid) - before < 0.05


def test_20000_pokes_cost_bounded_memory_and_cpu(world, report):
    w = world(rescan_seconds=600)
    ids = add_interviews(w, 20, ago=-timedelta(days=2))  # not due yet
    daemon = w.start()
    daemon.wait_started()
    pid = daemon.process.pid
    wait_for(lambda: settled(pid), timeout=60, what="the daemon to settle")
    memory, cpu = rss_mb(pid), cpu_seconds(pid)
    path = str(wake.socket_path(f"sqlite:///{w.database}"))
    started = time.monotonic()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.settimeout(30)  # a full queue blocks the sender until the daemon reads
        for n in range(POKES):
            sock.sendto(b"*" if n % 10 == 0 else str(ids[n % len(ids)]).encode(), path)
    wait_for(lambda: settled(pid), timeout=120, what="the daemon to settle after the flood")
    took = time.monotonic() - started
    grown, used = rss_mb(pid) - memory, cpu_seconds(pid) - cpu
    [late] = add_interviews(w, 1, prefix="After")  # still delivering
    wait_for(lambda: w.nudges_seen() == [(late, 1)], what="a nudge after the flood")
    assert daemon.stop() == 0
    report(f"{POKES} pokes: memory grew {grown:.1f} MB, {used:.1f} s of CPU, settled after "
           f"{took:.1f} s")
    assert grown < 30, grown
    assert used < 20, used
