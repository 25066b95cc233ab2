"""Every test runs in its own private world: XDG folders in a temporary
directory, a file keyring there, no session bus, no user configuration."""

from __future__ import annotations

import pytest

# Fixtures for real parts: SMTP servers (aiosmtpd) and daemons in worlds of their own.
pytest_plugins = ["support.smtp", "support.daemon", "support.calendars", "support.imap",
                  "support.oauth2", "support.postgres"]


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        folder = home / name.lower()
        folder.mkdir()
        monkeypatch.setenv(name, str(folder))
    runtime = home / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("TZ", "Europe/Berlin")
    # The daemon listens for logind's resume signal; never on the machine's own bus.
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={home}/no-system-bus")
    for name in ("FOLLOWUP_CONFIG", "DBUS_SESSION_BUS_ADDRESS", "NOTIFY_SOCKET",
                 "WATCHDOG_USEC", "JOURNAL_STREAM", "DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    return home
