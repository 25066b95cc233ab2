"""Reading a process from /proc, and running `followup` as the benchmarks need it."""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
FOLLOWUP = str(Path(sys.executable).with_name("followup"))
if not Path(FOLLOWUP).exists():  # not in a venv: whatever `followup` is on $PATH
    FOLLOWUP = shutil.which("followup") or "followup"

# The command channel: records the time the nudge arrived on its stdin, with the
# nudge's interview id and number. Bash, so that the figure is the daemon's lag and
# not an interpreter's start-up ($EPOCHREALTIME needs no fork).
RECORDER = r"""#!/bin/bash
IFS= read -r line
arrived=$EPOCHREALTIME
id=0 number=0
[[ $line =~ \"interview_id\":\ ([0-9]+) ]] && id=${BASH_REMATCH[1]}
[[ $line =~ \"number\":\ ([0-9]+) ]] && number=${BASH_REMATCH[1]}
printf '%s %s %s\n' "${arrived/,/.}" "$id" "$number" >> "$1"
"""


@dataclass(frozen=True)
class Sample:
    """One look at a process: CPU seconds, context switches over all threads, memory."""

    at: float  # time.monotonic()
    cpu: float  # utime + stime, all threads, seconds
    voluntary: int
    involuntary: int
    rss_kb: int
    hwm_kb: int
    threads: int


def sample(pid: int) -> Sample:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)
    voluntary = involuntary = 0
    tasks = list(Path(f"/proc/{pid}/task").iterdir())
    for task in tasks:
        try:
            status = _status(task / "status")
        except FileNotFoundError:  # a worker thread ended between listing and reading
            continue
        voluntary += status.get("voluntary_ctxt_switches", 0)
        involuntary += status.get("nonvoluntary_ctxt_switches", 0)
    status = _status(Path(f"/proc/{pid}/status"))
    return Sample(time.monotonic(), cpu, voluntary, involuntary, status.get("VmRSS", 0),
                  status.get("VmHWM", 0), len(tasks))


def _status(path: Path) -> dict[str, int]:
    out = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        words = value.split()
        if words and words[0].isdigit():
            out[key] = int(words[0])
    return out


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: list[float]) -> float:
    return statistics.median(values)


def wait_for(condition: Callable[[], object], timeout: float, what: str,
             every: float = 0.02) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


class Workspace:
    """Private XDG folders, so that nothing of the user's is read or touched."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = os.environ.copy()
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME",
                     "XDG_RUNTIME_DIR"):
            folder = root / name.lower()
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.env[name] = str(folder)
        for name in ("FOLLOWUP_CONFIG", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
                     "DBUS_SESSION_BUS_ADDRESS", "JOURNAL_STREAM"):
            self.env.pop(name, None)
        self.env["LC_ALL"] = "C.UTF-8"
        self.recorder = root / "recorder.sh"
        self.recorder.write_text(RECORDER)
        self.recorder.chmod(0o755)

    def cli(self, *args: str, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
        """Run `followup ARGS`; returns (wall seconds, the finished process)."""
        started = time.perf_counter()
        done = subprocess.run([FOLLOWUP, *args], capture_output=True, text=True,
                              env=self.env, timeout=300)
        wall = time.perf_counter() - started
        if check and done.returncode != 0:
            raise RuntimeError(f"followup {' '.join(args)} exited {done.returncode}: "
                               f"{done.stderr.strip()}")
        return wall, done


class Daemon:
    """`followup run` as a subprocess, its log in a file."""

    def __init__(self, workspace: Workspace, config: Path, name: str) -> None:
        self.log_path = workspace.root / f"daemon-{name}.log"
        self.started_at = time.monotonic()
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen([FOLLOWUP, "--config", str(config), "run"],
                                            stdout=subprocess.DEVNULL, stderr=log,
                                            env=workspace.env, start_new_session=True)
        self.pid = self.process.pid
        self.ready: Sample | None = None  # the sample taken when it said "started"
        self.ready_seconds = 0.0

    def log(self) -> str:
        return self.log_path.read_text()

    def poll_started(self) -> bool:
        """Whether it has said "started" (sampling it then, once). Raises if it died."""
        if self.ready is not None:
            return True
        if self.process.poll() is not None:
            raise RuntimeError(f"the daemon exited {self.process.returncode}:\n{self.log()}")
        if "started:" in self.log():
            self.ready = sample(self.pid)
            self.ready_seconds = time.monotonic() - self.started_at
            return True
        return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def store_password(env: dict[str, str], username: str, password: str, purpose: str) -> None:
    """Keep a password in the benchmark's own keyring (`env` names a file backend in the
    work folder), as `followup password set PURPOSE` does."""
    code = ("import sys; from followup import passwords; "
            "passwords.set_password(sys.argv[1], sys.argv[2], sys.argv[3])")
    subprocess.run([sys.executable, "-c", code, username, password, purpose], env=env,
                   check=True, timeout=60)


def read_arrivals(path: Path) -> dict[tuple[int, int], list[float]]:
    """What the recorder wrote: (interview id, number) -> arrival times."""
    out: dict[tuple[int, int], list[float]] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        words = line.split()
        if len(words) == 3:
            out.setdefault((int(words[1]), int(words[2])), []).append(float(words[0]))
    return out
