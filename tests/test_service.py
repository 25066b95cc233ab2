"""The systemd user service: the unit file, its installation through a real user
manager, and (end to end) the real daemon running under it."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from followup import present, service
from followup.errors import UserError

if TYPE_CHECKING:
    from support.systemd import UserManager

pytest_plugins = ("support.systemd",)  # the user_manager fixture

REPO = Path(__file__).resolve().parents[1]
FOLLOWUP = service.executable()


def analyze(*args: str, runtime: Path) -> subprocess.CompletedProcess[str]:
    if not Path("/lib/systemd/systemd").exists():
        pytest.skip("systemd is not installed")
    runtime.mkdir(mode=0o700, exist_ok=True)
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True,
                          timeout=60, check=False, stdin=subprocess.DEVNULL,
                          env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)})


def unit_settings(text: str) -> dict[str, list[str]]:
    """`Section.Key` -> values, in order, from a unit file."""
    settings: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(f"{section}.{key}", []).append(value)
    return settings


# --- the unit file -----------------------------------------------------------------


def test_the_repository_and_the_package_ship_the_same_unit():
    reference = (REPO / "systemd" / "followup.service").read_bytes()
    assert (REPO / "src" / "followup" / "followup.service").read_bytes() == reference
    assert files("followup").joinpath("followup.service").read_bytes() == reference


@pytest.mark.parametrize("config", [None, Path("/home/ada/my files/followup.toml")])
def test_the_rendered_unit_passes_systemd_analyze_verify(tmp_path, config):
    unit = tmp_path / "followup.service"
    unit.write_text(service.render_unit(FOLLOWUP, config), encoding="utf-8")
    done = analyze("--user", "--man=no", "verify", str(unit), runtime=tmp_path / "run")
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_unit_keeps_the_service_contract():
    settings = unit_settings(service.render_unit("/opt/followup/bin/followup", None))
    expected = {
        "Service.Type": ["notify"],
        "Service.NotifyAccess": ["main"],
        "Service.ExecStart": ["/opt/followup/bin/followup run"],
        "Service.ExecReload": ["/bin/kill -HUP $MAINPID"],
        "Service.Restart": ["on-failure"],
        "Service.RestartSec": ["10s"],
        "Service.RestartPreventExitStatus": ["78"],
        "Service.WatchdogSec": ["120s"],
        "Service.TimeoutStopSec": ["20s"],
        "Service.RestrictAddressFamilies": ["AF_UNIX AF_INET AF_INET6"],
        "Install.WantedBy": ["default.target"],
    }
    assert {key: settings.get(key) for key in expected} == expected
    assert settings["Unit.Description"]


def test_the_sandbox_exposure_does_not_regress(tmp_path):
    unit = tmp_path / "followup.service"
    unit.write_text(service.render_unit(FOLLOWUP, None), encoding="utf-8")
    done = analyze("security", "--offline=yes", "--user", "--no-pager", str(unit),
                   runtime=tmp_path / "run")
    score = re.search(r"Overall exposure level for followup\.service: ([\d.]+)", done.stdout)
    assert score, done.stdout + done.stderr
    assert float(score[1]) <= 6.4  # measured with systemd 252; lower is better


@pytest.mark.parametrize(("executable", "config", "exec_start"), [
    ("/home/ada/.local/bin/followup", None, "/home/ada/.local/bin/followup run"),
    ("/opt/my apps/followup", None, '"/opt/my apps/followup" run'),
    (["/usr/bin/python3", "-m", "followup"], Path("/home/ada/followup.toml"),
     "/usr/bin/python3 -m followup --config /home/ada/followup.toml run"),
    ("/srv/100%/followup", Path("/home/$USER/f.toml"),
     "/srv/100%%/followup --config /home/$$USER/f.toml run"),
    ("/srv/followup", Path('/home/ada/say "hi"\\there.toml'),
     '/srv/followup --config "/home/ada/say \\"hi\\"\\\\there.toml" run'),
    ("/srv/followup", Path("/home/ada/tab\there;.toml"),
     '/srv/followup --config "/home/ada/tab\\x09here;.toml" run'),
    ("/home/zoë/.local/bin/followup", None, "/home/zoë/.local/bin/followup run"),
    ("/srv/$dir/followup", None, "/srv/$dir/followup run"),  # no variables in the path
])
def test_render_unit_quotes_words_the_systemd_way(executable, config, exec_start):
    settings = unit_settings(service.render_unit(executable, config))
    assert settings["Service.ExecStart"] == [exec_start]


# --- where things are ------------------------------------------------------------------


def test_executable_is_the_console_script_beside_the_interpreter():
    script = Path(sys.executable).parent / "followup"
    assert script.is_file()
    assert service.executable() == [str(script)]


def test_executable_falls_back_to_path_then_to_python_m(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "interpreter" / "bin" / "python3"))
    on_path = tmp_path / "on-path"
    on_path.mkdir()
    script = on_path / "followup"
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(on_path))
    assert service.executable() == [str(script)]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert service.executable() == [str(tmp_path / "interpreter/bin/python3"), "-m", "followup"]


def test_unit_path_is_under_the_xdg_config_home(monkeypatch, private_home):
    monkeypatch.setenv("XDG_CONFIG_HOME", "/home/ada/conf")
    assert service.unit_path() == Path("/home/ada/conf/systemd/user/followup.service")
    for unusable in ("", "relative/conf"):
        monkeypatch.setenv("XDG_CONFIG_HOME", unusable)
        assert service.unit_path() == private_home / ".config/systemd/user/followup.service"


@pytest.mark.parametrize(("text", "expected"), [
    ("@1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ("@0", None),
    ("Tue 2023-11-14 22:13:20 UTC", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ("", None),
    ("n/a", None),
])
def test_systemctl_timestamps_become_aware_datetimes(text, expected):
    assert service.parse_timestamp(text) == expected


# --- no systemd to talk to -----------------------------------------------------------------


def test_without_a_user_manager_the_error_says_what_to_do():
    # conftest gives every test an empty XDG_RUNTIME_DIR: no manager listens there.
    with pytest.raises(UserError) as raised:
        service.status()
    assert raised.value.message == service.NO_MANAGER
    assert "loginctl enable-linger" in service.NO_MANAGER
    with pytest.raises(UserError, match="no systemd user manager"):
        service.install(None)
    assert not service.unit_path().exists()  # nothing written
    service.uninstall()  # nothing installed: nothing to do
    service.unit_path().parent.mkdir(parents=True)
    service.unit_path().write_text("[Service]\n", encoding="utf-8")
    with pytest.raises(UserError, match="no systemd user manager"):
        service.uninstall()
    assert service.unit_path().exists()  # it may still run: nothing removed


def test_without_systemctl_the_error_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError) as raised:
        service.status()
    assert raised.value.message == service.NO_SYSTEMCTL


# --- a real user manager ---------------------------------------------------------------------


def test_install_without_start_enables_the_unit_and_is_repeatable(user_manager):
    first = service.install(None, start=False)
    path = service.unit_path()
    assert first.path == path
    assert path.read_text(encoding="utf-8") == service.render_unit(FOLLOWUP, None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert (first.changed, first.started, first.exec_start) == (True, False, tuple(FOLLOWUP))
    state = service.status()
    assert (state.installed, state.unit_file_state, state.active_state) == (
        True, "enabled", "inactive")
    assert (path.parent / "default.target.wants" / "followup.service").exists()

    assert service.install(None, start=False).changed is False

    service.uninstall()
    service.uninstall()
    assert not path.exists()
    assert not (path.parent / "default.target.wants" / "followup.service").exists()
    listed = user_manager.systemctl("list-unit-files", "followup.service")
    assert "followup.service" not in listed.stdout


def test_exec_start_words_reach_the_program_intact(user_manager, tmp_path):
    """The quoting is checked by systemd's own parser: the unit records its argv."""
    record = tmp_path / "argv.json"
    code = (f"import json, sys; open({str(record)!r}, 'w').write(json.dumps(sys.argv))"
            "  # 100% of $HOME, \"quoted\", back\\slash")
    config = tmp_path / "my \"odd\" 50% $HOME \\ 'dir'" / "zoë.toml"
    python = tmp_path / "a $dir with 100% spaces" / "python"
    python.parent.mkdir()
    python.symlink_to(sys.executable)
    path = service.unit_path()
    path.parent.mkdir(parents=True)
    path.write_text(service.render_unit([str(python), "-c", code], config), encoding="utf-8")
    user_manager.systemctl("daemon-reload")
    user_manager.systemctl("start", "followup.service")  # fails: it never sends READY=1
    user_manager.wait_until(record.exists, 30, "the unit ran")
    assert json.loads(record.read_text()) == ["-c", "--config", str(config), "run"]


# --- end to end: `followup run` under the user manager -----------------------------------------


def write_config(path: Path, delivered: Path) -> Path:
    """Nudge at once, any hour of any day, through a command that appends stdin to a file."""
    recorder = path.parent / "record-nudge.py"
    recorder.write_text("import sys\n"
                        "with open(sys.argv[1], 'a', encoding='utf-8') as out:\n"
                        "    out.write(sys.stdin.read() + '\\n')\n", encoding="utf-8")
    argv = json.dumps([sys.executable, str(recorder), str(delivered)])
    path.write_text(f"""timezone = "Europe/Berlin"

[rules]
first_after_days = 0
business_days = false

[hours]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "24:00"

[daemon]
rescan_seconds = 5

[notify.desktop]
enabled = false

[notify.command]
enabled = true
argv = {argv}
""", encoding="utf-8")
    return path


@pytest.fixture
def config(user_manager, tmp_path) -> Path:
    return write_config(tmp_path / "followup.toml", tmp_path / "delivered.txt")


def followup(manager: UserManager, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = manager.run(*FOLLOWUP, "--config", str(config), *args)
    assert done.returncode == 0, f"followup {' '.join(args)}: {done.stderr}"
    return done


def is_active(manager: UserManager) -> bool:
    return manager.systemctl("is-active", "followup.service").stdout.strip() == "active"


def test_install_starts_the_daemon_and_reload_keeps_it_running(user_manager, config):
    followup(user_manager, config, "service", "install")
    unit = unit_settings(service.unit_path().read_text(encoding="utf-8"))
    assert unit["Service.ExecStart"] == [f"{FOLLOWUP[0]} --config {config} run"]
    assert is_active(user_manager), user_manager.services_log()  # install waits for READY=1
    shown = json.loads(followup(user_manager, config, "service", "status", "--json").stdout)
    pid = int(user_manager.show("followup.service", "MainPID")["MainPID"])
    assert (shown["installed"], shown["active_state"], shown["main_pid"]) == (True, "active", pid)

    assert user_manager.systemctl("reload", "followup.service").returncode == 0
    running = {"ActiveState": "active", "SubState": "running"}
    user_manager.wait_until(lambda: user_manager.show("followup.service", *running) == running,
                            30, "active again after reload")
    assert user_manager.show("followup.service", "MainPID", "NRestarts") == {
        "MainPID": str(pid), "NRestarts": "0"}
    state = service.status()
    assert state.since is not None and state.status_text, state

    followup(user_manager, config, "service", "install")  # the same unit: left running
    assert user_manager.show("followup.service", "MainPID") == {"MainPID": str(pid)}
    moved = config.with_name("moved.toml")
    moved.write_text(config.read_text(encoding="utf-8"), encoding="utf-8")
    followup(user_manager, moved, "service", "install")  # a new unit: restarted
    assert is_active(user_manager)
    assert user_manager.show("followup.service", "MainPID") != {"MainPID": str(pid)}


def test_a_due_nudge_is_delivered_through_the_command_channel(user_manager, config, tmp_path):
    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds")
    followup(user_manager, config, "add", "--company", "Acme Robotics",
             "--role", "Backend Engineer", "--at", two_hours_ago)
    followup(user_manager, config, "service", "install")
    delivered = tmp_path / "delivered.txt"
    user_manager.wait_until(
        lambda: delivered.exists() and "Acme Robotics" in delivered.read_text(), 60,
        "the nudge reached the command channel")


def test_a_broken_configuration_stops_the_service_without_restarts(user_manager, config):
    followup(user_manager, config, "service", "install")
    config.write_text("this is [[ not toml\n", encoding="utf-8")
    assert user_manager.systemctl("restart", "followup.service").returncode != 0
    failed = {"ActiveState": "failed", "ExecMainStatus": "78", "NRestarts": "0"}
    user_manager.wait_until(lambda: user_manager.show("followup.service", *failed) == failed,
                            30, "failed with exit status 78")
    # RestartSec=10s: a restart would have happened within these 15 s.
    user_manager.holds_for(lambda: user_manager.show("followup.service", *failed) == failed,
                           15, "stays failed, not restarted")


def test_install_says_why_the_service_did_not_start(user_manager, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[rules]\nmax_followups = 9\n", encoding="utf-8")
    with pytest.raises(UserError) as raised:
        service.install(broken)  # the CLI refuses this; install trusts its caller
    assert raised.value.message == (
        "followup.service is installed but did not start (exit-code, exit status 78): "
        "the configuration is invalid: see `followup config check`")


def test_uninstall_stops_and_removes_the_service_even_with_a_broken_config(
        user_manager, config):
    followup(user_manager, config, "service", "install")
    assert is_active(user_manager)
    config.write_text("this is [[ not toml\n", encoding="utf-8")
    followup(user_manager, config, "service", "uninstall")
    path = service.unit_path()
    assert not path.exists()
    assert not (path.parent / "default.target.wants" / "followup.service").exists()
    listed = user_manager.systemctl("list-unit-files", "followup.service")
    assert "followup.service" not in listed.stdout
    assert user_manager.show("followup.service", "LoadState", "ActiveState") == {
        "LoadState": "not-found", "ActiveState": "inactive"}
    followup(user_manager, config, "service", "uninstall")  # again: nothing to do


# --- the daemons sharing the database ------------------------------------------------


def test_the_daemons_block_says_who_delivers_what_and_when_each_was_heard_from():
    from zoneinfo import ZoneInfo

    from followup.store.daemons import DaemonInfo

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    found = [
        DaemonInfo("server/10/1", "server", 10, ("email", "command"),
                   now - timedelta(days=2), now - timedelta(seconds=20), None),
        DaemonInfo("laptop/20/2", "laptop", 20, ("desktop",), now - timedelta(hours=5),
                   now - timedelta(hours=3), now - timedelta(hours=3)),
    ]
    assert present.daemons_text(found, now, ZoneInfo("Europe/Berlin")).splitlines() == [
        "daemons:      2 on this database",
        "  server (pid 10): email, command; since Sun 29 Nov 13:00, heartbeat just now",
        "  laptop (pid 20): desktop; since Tue 01 Dec 08:00, stopped 3 hours ago",
    ]
    assert present.daemons_text([], now, ZoneInfo("UTC")) == (
        "daemons:      none has used this database yet")
    shown = present.daemons_json(found, now)
    assert shown[0] | {"since": None} == {
        "host": "server", "pid": 10, "channels": ["email", "command"], "since": None,
        "heartbeat": "2026-12-01T11:59:40+00:00", "heartbeat_seconds_ago": 20,
        "stopped_at": None}


def test_status_shows_the_daemons_of_every_machine_on_the_database(user_manager, world,
                                                                   postgres_url, smtp_server):
    url = postgres_url()
    mail = smtp_server()
    server = world(database_url=url, own_runtime=True)
    laptop = world(database_url=url, own_runtime=True, command=False, extra=f"""
[notify.email]
enabled = true
to = "me@example.com"
from = "followup@example.com"
host = "{mail.host}"
port = {mail.port}
security = "none"
""")
    first, second = server.start(), laptop.start()
    first.wait_started(), second.wait_started()
    shown = json.loads(followup(user_manager, server.config, "service", "status",
                                "--json").stdout)
    channels = sorted(tuple(d["channels"]) for d in shown["daemons"])
    assert channels == [("command",), ("email",)]
    assert {d["pid"] for d in shown["daemons"]} == {first.process.pid, second.process.pid}
    assert all(d["stopped_at"] is None for d in shown["daemons"])
    text = followup(user_manager, laptop.config, "service", "status").stdout
    assert "daemons:      2 on this database" in text
    assert f"(pid {second.process.pid}): email; since" in text
    assert first.stop() == 0 and second.stop() == 0
