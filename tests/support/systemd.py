"""A real, private systemd user manager for tests: the `user_manager` fixture.

PID 1 on the test machines is not systemd and no login session provides a user
manager, so the fixture starts one the way logind would. Found by trying:

- `systemd --user` refuses to run unless /run/systemd/system exists (made
  only in CI, where nothing else depends on its absence);
- it must run as root here (only root can give it a cgroup), and in a cgroup
  of its own: started in the root cgroup it moves every process of the
  machine into its init.scope;
- its XDG_RUNTIME_DIR must be short (unix socket paths hold 108 bytes) and
  mode 0700; HOME and the XDG folders are private too.

No journald runs here: a drop-in sends every service's output to services.log.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

SYSTEMD = "/lib/systemd/systemd"
STARTUP_SECONDS = 30
# Variables a user manager must not inherit: they describe the test runner's own service.
NOT_INHERITED = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
                 "LISTEN_FDNAMES", "MANAGERPID", "INVOCATION_ID", "JOURNAL_STREAM",
                 "SYSTEMD_EXEC_PID", "DBUS_SESSION_BUS_ADDRESS", "FOLLOWUP_CONFIG")
XDG = ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME",
       "XDG_RUNTIME_DIR")

T = TypeVar("T")


@dataclass
class UserManager:
    """A running `systemd --user`; `env` reaches it (and is what its services get)."""

    root: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a program in this manager's environment (no shell), capturing its output."""
        return subprocess.run(argv, env=self.env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout, check=False)

    def systemctl(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", "--user", "--no-pager", *args, timeout=timeout)

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        done = self.systemctl("show", unit, *(f"--property={name}" for name in properties))
        return dict(line.partition("=")[::2] for line in done.stdout.splitlines())

    def services_log(self) -> str:
        """What the services wrote to stdout and stderr (there is no journal)."""
        log = self.root / "services.log"
        return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""

    def wait_until(self, condition: Callable[[], T], seconds: float, what: str) -> T:
        """Poll `condition` until it returns something true; fail after `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not within {seconds:g} s\n{self.services_log()}",
                            pytrace=False)
            time.sleep(0.1)

    def holds_for(self, condition: Callable[[], object], seconds: float, what: str) -> None:
        """Check `condition` about every half second for `seconds`; fail when it turns false."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not condition():
                pytest.fail(f"{what}: no longer true\n{self.services_log()}", pytrace=False)
            time.sleep(0.5)


@pytest.fixture
def user_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[UserManager]:
    """A private user manager, running or degraded; its XDG folders become the test's."""
    _require_systemd()
    root = Path(tempfile.mkdtemp(prefix="fu-", dir="/tmp"))
    cgroups: list[Path] = []
    process = None
    try:
        env = _environment(root)
        _route_service_output(Path(env["XDG_RUNTIME_DIR"]), root / "services.log")
        cgroups = _make_cgroups(root.name)
        process = _start(env, root, cgroups)
        manager = UserManager(root, env, process)
        _wait_until_running(manager)
        for name in XDG:
            monkeypatch.setenv(name, env[name])
        yield manager
    finally:
        _stop(process)
        _remove_cgroups(cgroups)
        shutil.rmtree(root, ignore_errors=True)


def _unavailable(reason: str) -> None:
    """Outside CI a machine without what the manager needs skips; CI must have it."""
    if os.environ.get("CI"):
        pytest.fail(f"systemd user manager: {reason}", pytrace=False)
    pytest.skip(f"systemd user manager: {reason}")


def _require_systemd() -> None:
    if not Path(SYSTEMD).exists() or shutil.which("systemctl") is None:
        _unavailable(f"{SYSTEMD} or systemctl is not installed")
    if os.geteuid() != 0:
        _unavailable("needs root here (to give systemd --user a cgroup of its own)")
    marker = Path("/run/systemd/system")
    if not marker.is_dir():
        if not os.environ.get("CI"):
            pytest.skip(f"systemd --user needs {marker}: `mkdir -p {marker}` as root (CI does)")
        marker.mkdir(parents=True, exist_ok=True)


def _environment(root: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
    for name in XDG:
        folder = root / ("run" if name == "XDG_RUNTIME_DIR" else name.lower())
        folder.mkdir()
        env[name] = str(folder)
    os.chmod(env["XDG_RUNTIME_DIR"], 0o700)
    return env


def _route_service_output(runtime: Path, log: Path) -> None:
    # $XDG_RUNTIME_DIR/systemd/user is on the manager's unit path; a top-level
    # service.d drop-in applies to every service, including followup.service.
    dropins = runtime / "systemd" / "user" / "service.d"
    dropins.mkdir(parents=True)
    (dropins / "50-test-output.conf").write_text(
        f"[Service]\nStandardOutput=append:{log}\nStandardError=append:{log}\n",
        encoding="utf-8")


def _cgroup_hierarchies() -> list[Path]:
    """Our cgroup in each hierarchy systemd uses: cgroup2 and v1 name=systemd."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        if number == "0":
            own["cgroup2"] = path
        elif "name=systemd" in controllers.split(","):
            own["systemd"] = path
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, fs = line.partition(" - ")
        mount_point = fields.split()[4]
        fstype, _source, options = [*fs.split(), "", ""][:3]
        if fstype == "cgroup2" and "cgroup2" in own:
            found.append(Path(mount_point) / own.pop("cgroup2").lstrip("/"))
        elif fstype == "cgroup" and "name=systemd" in options.split(",") and "systemd" in own:
            found.append(Path(mount_point) / own.pop("systemd").lstrip("/"))
    return found


def _make_cgroups(name: str) -> list[Path]:
    made = []
    try:
        for parent in _cgroup_hierarchies():
            (parent / name).mkdir()
            made.append(parent / name)
    except OSError as error:
        _remove_cgroups(made)
        _unavailable(f"cannot make a cgroup for it: {error}")
    if not made:
        _unavailable("no cgroup hierarchy for systemd is mounted")
    return made


def _join_cgroups(cgroups: list[str]) -> None:
    """Runs in the child between fork and exec: systemd must start in its own cgroup."""
    for cgroup in cgroups:
        handle = os.open(os.path.join(cgroup, "cgroup.procs"), os.O_WRONLY)
        try:
            os.write(handle, str(os.getpid()).encode())
        finally:
            os.close(handle)


def _start(env: dict[str, str], root: Path, cgroups: list[Path]) -> subprocess.Popen[bytes]:
    with open(root / "manager.log", "wb") as log:
        return subprocess.Popen(
            # No journald: its own log goes to the kernel ring buffer (`dmesg`).
            [SYSTEMD, "--user", "--log-target=kmsg", "--log-level=notice"],
            env=env, cwd=root, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=functools.partial(_join_cgroups, [str(path) for path in cgroups]))


def _wait_until_running(manager: UserManager) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    state = ""
    while time.monotonic() < deadline:
        if manager.process.poll() is not None:
            log = (manager.root / "manager.log").read_text(errors="replace")
            _unavailable(f"systemd --user exited with {manager.process.returncode}: {log}")
        state = manager.systemctl("show", "--property=SystemState", "--value",
                                  timeout=10).stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(0.1)
    _unavailable(f"not running within {STARTUP_SECONDS} s (state {state!r})")


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM stops every unit, then the manager; SIGKILL if that takes too long."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=45)  # longer than any unit's TimeoutStopSec=
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _remove_cgroups(cgroups: list[Path]) -> None:
    """Kill what is left in the manager's cgroups and remove them, deepest first."""
    for top in cgroups:
        if not top.exists():
            continue
        deadline = time.monotonic() + 10
        while (pids := _pids_under(top)) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        for folder, _dirs, _files in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
            with contextlib.suppress(OSError):  # still busy: left for the next run
                os.rmdir(folder)


def _pids_under(top: Path) -> list[int]:
    pids = []
    for folder, _dirs, files in os.walk(top):
        if "cgroup.procs" in files:
            text = Path(folder, "cgroup.procs").read_text()
            pids.extend(int(pid) for pid in text.split())
    return pids
