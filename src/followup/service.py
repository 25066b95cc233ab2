"""Install, remove and inspect followup's systemd user service.

Everything goes through `systemctl --user`, run with an argument list (never a
shell) and a timeout. The caller validates the configuration first: `install`
takes a config path that is known to be good, `uninstall` needs none.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from followup.errors import UserError
from followup.files import write_atomically

UNIT = "followup.service"
PLACEHOLDER = "@FOLLOWUP@"
QUICK = 30  # seconds for a systemctl call that does not wait for a job
JOB = 150  # starting waits for READY=1 (TimeoutStartSec= defaults to 90 s)

NO_SYSTEMCTL = (
    "systemctl not found: the service needs systemd; without it, start "
    "`followup run` with your session instead"
)
NO_MANAGER = (
    "no systemd user manager is running (is this a systemd login session? "
    "for a headless machine: `loginctl enable-linger $USER`, then log in again; "
    "without systemd, in a container or WSL, run `followup run` yourself)"
)
SHOWN = ("LoadState", "UnitFileState", "ActiveState", "SubState", "Result",
         "StateChangeTimestamp", "MainPID", "StatusText", "ExecMainStatus", "NRestarts")


@dataclass(frozen=True, slots=True)
class InstallResult:
    path: Path  # the unit file
    exec_start: tuple[str, ...]  # the command the service runs
    changed: bool  # the unit file was new or different, so it was (re)written
    started: bool  # the service was started or restarted and reported READY=1


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    installed: bool  # the unit file exists
    unit_path: Path
    unit_file_state: str  # "enabled", "disabled", ... ("" when not installed)
    active_state: str  # "active", "inactive", "failed", "activating", ...
    sub_state: str  # "running", "dead", "failed", "auto-restart", ...
    result: str  # how the last run ended: "success", "exit-code", "watchdog", ...
    since: datetime | None  # when active_state was entered
    main_pid: int | None
    status_text: str | None  # the daemon's last STATUS= line
    exit_status: int | None  # of the last main process; 78 is a configuration error
    restarts: int  # automatic restarts since the last manual start

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: paths as strings, `since` as ISO 8601 with its offset."""
        data = asdict(self)
        data["unit_path"] = str(self.unit_path)
        data["since"] = self.since.isoformat() if self.since else None
        return data


# --- where and what --------------------------------------------------------------


def unit_path() -> Path:
    """Where systemd looks for the user's own units: $XDG_CONFIG_HOME/systemd/user."""
    config_home = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config_home) if os.path.isabs(config_home) else Path.home() / ".config"
    return base / "systemd" / "user" / UNIT


def executable() -> list[str]:
    """The command that starts this installation of followup, as absolute words.

    venv, pipx and `uv tool` put the console script beside the interpreter;
    else the one on PATH; else the interpreter with `-m followup`.
    """
    # Not resolved: a venv's python is a symlink into the base installation.
    beside = Path(os.path.abspath(sys.executable)).parent / "followup"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("followup")
    if found:
        return [os.path.abspath(found)]
    return [os.path.abspath(sys.executable), "-m", "followup"]


def render_unit(executable: str | list[str], config_path: Path | None) -> str:
    """The unit file text for this command and configuration file (absolute paths)."""
    words = [executable] if isinstance(executable, str) else list(executable)
    if config_path is not None:
        words += ["--config", str(config_path)]
    template = _template()
    if template.count(PLACEHOLDER) != 1:
        raise RuntimeError(f"the packaged {UNIT} must contain {PLACEHOLDER} exactly once")
    quoted = [quote(words[0], program=True), *(quote(word) for word in words[1:])]
    return template.replace(PLACEHOLDER, " ".join(quoted))


def quote(word: str, program: bool = False) -> str:
    """One command-line word as systemd reads it in ExecStart=.

    `%` (specifiers) is doubled, and `$` (variables) in arguments, not in the
    program's path, which systemd does not expand; a word with spaces, quotes,
    backslashes, `;` or control characters is double-quoted with C escapes.
    """
    word = word.replace("%", "%%")
    if not program:
        word = word.replace("$", "$$")
    if word and re.fullmatch(r"[\w@%$+=:,./~-]+", word):
        return word
    escaped = "".join(_escape(char) for char in word)
    return f'"{escaped}"'


def _escape(char: str) -> str:
    if char in '\\"':
        return "\\" + char
    if ord(char) < 32 or ord(char) == 127:
        return f"\\x{ord(char):02x}"
    return char


def _template() -> str:
    from importlib.resources import files

    return files("followup").joinpath(UNIT).read_text(encoding="utf-8")


# --- install, uninstall ------------------------------------------------------------


def install(config_path: Path | None, start: bool = True) -> InstallResult:
    """Write the unit, enable it and (with `start`) start it; safe to run again.

    A changed unit restarts a running service. Raises UserError when no user
    manager is reachable (nothing written) or when the service fails to start.
    """
    _systemctl("show", "--property=Version")  # fails early, before anything is written
    if config_path is not None:
        config_path = Path(config_path).expanduser().absolute()
    command = executable()
    text = render_unit(command, config_path)
    path = unit_path()
    changed = write_atomically(path, text.encode(), mode=0o644)
    _systemctl("daemon-reload", timeout=JOB)
    _systemctl("enable", UNIT)
    if start:
        _systemctl("reset-failed", UNIT, check=False)  # a new start limit: the user asked
        _start("restart" if changed else "start")
    elif changed:
        _systemctl("try-restart", UNIT, timeout=JOB)
    return InstallResult(path=path, exec_start=tuple(command), changed=changed, started=start)


def uninstall() -> bool:
    """Stop and disable the service and remove its unit; returns False when it was not
    installed (nothing to do).

    Needs no configuration. Raises UserError when the unit exists but no user
    manager is reachable (then nothing is removed).
    """
    path = unit_path()
    if not path.exists():
        return False
    _systemctl("disable", "--now", UNIT, timeout=JOB)
    path.unlink(missing_ok=True)
    _systemctl("daemon-reload", timeout=JOB)
    _systemctl("reset-failed", UNIT, check=False)  # forget a failed state, so the unit is gone
    return True


def _start(verb: str) -> None:
    done = _systemctl(verb, UNIT, timeout=JOB, check=False)
    if done.returncode == 0:
        return
    state = status()
    hint = ("the configuration is invalid: see `followup config check`"
            if state.exit_status == 78 else "see `journalctl --user -u followup`")
    raise UserError(f"{UNIT} is installed but did not start ({state.result or 'unknown'}, "
                    f"exit status {state.exit_status}): {hint}")


# --- status ------------------------------------------------------------------------


def status() -> ServiceStatus:
    """The service's state as the user manager sees it. Raises UserError without one."""
    args = ["show", UNIT, *(f"--property={name}" for name in SHOWN)]
    done = _systemctl(*args, "--timestamp=unix", check=False)
    if done.returncode != 0:  # systemd before 248 has no --timestamp=unix
        done = _systemctl(*args, env={"TZ": "UTC", "LC_ALL": "C"})
    values = dict(line.partition("=")[::2] for line in done.stdout.splitlines())
    path = unit_path()
    return ServiceStatus(
        installed=path.exists(),
        unit_path=path,
        unit_file_state=values.get("UnitFileState", ""),
        active_state=values.get("ActiveState", ""),
        sub_state=values.get("SubState", ""),
        result=values.get("Result", ""),
        since=parse_timestamp(values.get("StateChangeTimestamp", "")),
        main_pid=_number(values.get("MainPID")) or None,
        status_text=values.get("StatusText") or None,
        exit_status=_number(values.get("ExecMainStatus")),
        restarts=_number(values.get("NRestarts")) or 0,
    )


def parse_timestamp(value: str) -> datetime | None:
    """A systemctl timestamp, `@1700000000` or `Tue 2023-11-14 22:13:20 UTC`, as aware UTC."""
    value = value.strip()
    if value.startswith("@"):
        seconds = int(value[1:])
        return datetime.fromtimestamp(seconds, UTC) if seconds else None
    match = re.fullmatch(r"\w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", value)
    if match:
        return datetime.fromisoformat(match[1]).replace(tzinfo=UTC)
    return None  # "", "n/a": never entered


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


# --- systemctl -----------------------------------------------------------------------


def _systemctl(*args: str, timeout: float = QUICK, check: bool = True,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `systemctl --user ARGS`. Raises UserError for a missing systemctl or manager,
    a timeout, and (with `check`) a failure."""
    argv = ["systemctl", "--user", "--no-pager", *args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False,
                              env={**os.environ, **env} if env else None)
    except FileNotFoundError:
        raise UserError(NO_SYSTEMCTL) from None
    except subprocess.TimeoutExpired:
        raise UserError(f"`systemctl --user {' '.join(args)}` did not finish within "
                        f"{timeout:g} s; see `systemctl --user status`") from None
    if done.returncode != 0 and "Failed to connect to bus" in done.stderr:
        raise UserError(NO_MANAGER)
    if check and done.returncode != 0:
        reason = done.stderr.strip().splitlines()[0] if done.stderr.strip() else "no reason given"
        raise UserError(f"`systemctl --user {' '.join(args)}` failed: {reason}")
    return done


# --- the daemons sharing the database (several machines) ---------------------------
