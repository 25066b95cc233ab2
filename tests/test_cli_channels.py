"""`followup notify-test` and `followup password` end to end, as subprocesses, against
an SMTP server on 127.0.0.1 and a file keyring in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys

from support.smtp import Login, Recorder, free_port


def followup(config, *args: str, stdin: str = "", env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "followup", "--config", str(config), *args],
                          input=stdin, capture_output=True, text=True, timeout=90,
                          env=env or os.environ.copy())


def write_config(tmp_path, port: int, username: str = "me", command: bool = True):
    recorder = tmp_path / "rec.py"
    recorder.write_text("import sys\nopen(sys.argv[1], 'a').write(sys.stdin.read())\n")
    path = tmp_path / "followup.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{tmp_path}/f.db"
[notify.desktop]
enabled = false
[notify.email]
enabled = true
to = "me@example.com"
from = "followup@example.com"
host = "127.0.0.1"
port = {port}
security = "none"
username = "{username}"
[notify.command]
enabled = {str(command).lower()}
argv = ["{sys.executable}", "{recorder}", "{tmp_path}/command.out"]
""")
    return path


def test_password_set_reads_stdin_and_notify_test_logs_in_with_it(tmp_path, smtp_server):
    login = Login("me", "s3cret pass")
    server = smtp_server(Recorder(), login=login)
    config = write_config(tmp_path, server.port)
    stored = followup(config, "password", "set", stdin="s3cret pass\n")
    assert stored.returncode == 0, stored.stderr
    assert "s3cret" not in stored.stdout + stored.stderr
    tested = followup(config, "notify-test")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.splitlines() == ["email: ok", "command: ok"]
    assert [r.login for r in server.handler.received] == ["me"]
    assert '"company": "Example Corp"' in (tmp_path / "command.out").read_text()
    cleared = followup(config, "password", "clear")
    assert cleared.returncode == 0 and "Removed" in cleared.stdout
    again = followup(config, "notify-test", "--channel", "email")
    assert again.returncode == 1
    assert again.stdout.startswith("email: needs a fix: ") and "password set" in again.stdout


def test_notify_test_reports_a_dead_channel_and_exits_1(tmp_path):
    config = write_config(tmp_path, free_port(), username="")
    tested = followup(config, "notify-test")
    assert tested.returncode == 1
    lines = tested.stdout.splitlines()
    assert lines[0].startswith("email: try again: ") and lines[1] == "command: ok"
    assert "Traceback" not in tested.stderr


def test_notify_test_names_an_unknown_or_disabled_channel(tmp_path):
    config = write_config(tmp_path, free_port(), command=False)
    unknown = followup(config, "notify-test", "--channel", "pager")
    assert unknown.returncode == 1 and "there is no channel 'pager'" in unknown.stderr
    disabled = followup(config, "notify-test", "--channel", "command")
    assert disabled.returncode == 1 and "[notify.command] enabled = true" in disabled.stderr


def test_password_without_a_keyring_is_one_clear_line(tmp_path):
    config = write_config(tmp_path, free_port())
    env = os.environ | {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    done = followup(config, "password", "set", stdin="x\n", env=env)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "keyring" in done.stderr
    assert "Traceback" not in done.stderr


def test_password_needs_a_username_and_a_value(tmp_path):
    config = write_config(tmp_path, free_port(), username="")
    assert "username" in followup(config, "password", "set", stdin="x\n").stderr
    config = write_config(tmp_path, free_port())
    empty = followup(config, "password", "set", stdin="\n")
    assert empty.returncode == 1 and "empty" in empty.stderr
