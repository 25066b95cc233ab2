"""`service status` and `service uninstall` where there is no user manager (a
container, WSL, a server without a login): what the database knows still shows."""

from __future__ import annotations

import json

import pytest
from freezegun import freeze_time

from followup.store import Store
from support.cli import run

NOW = "2026-11-23T10:00:00+01:00"


@pytest.fixture
def fu(capsys, tmp_path):
    config = tmp_path / "followup.toml"
    config.write_text(f'timezone = "Europe/Berlin"\n[database]\n'
                      f'url = "sqlite:///{tmp_path}/f.db"\n')

    def call(*args: str):
        return run(capsys, "--config", str(config), *args)
    call.database = f"sqlite:///{tmp_path}/f.db"
    return call


def test_uninstall_says_when_nothing_was_installed(fu):
    done = fu("service", "uninstall")
    assert done.code == 0
    assert done.out.startswith("Nothing was installed (") and "does not exist" in done.out


@freeze_time(NOW)
def test_status_without_a_user_manager_shows_the_sources_and_nudges(fu):
    assert fu("add", "--company", "Acme", "--role", "Dev", "--at", "2026-11-20T15:00").code == 0
    report = {"state": "retrying", "since": "2026-11-23T08:30:00+00:00",
              "detail": "login refused; next try at 10:05"}
    Store.open(fu.database).set_meta("source:mailbox", json.dumps(report))
    shown = fu("service", "status")
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0].startswith("service:      unknown: no systemd user manager is running")
    assert ("mailbox:      retrying since Mon 23 Nov 2026 09:30 (30 minutes ago): login "
            "refused; next try at 10:05") in lines
    assert any(line.startswith("calendar:     not reported") for line in lines)
    assert "  #1 Acme — follow-up 1, Wed 25 Nov 2026 15:00 (in 2 days)" in lines
    doc = fu("service", "status", "--json").json()
    assert doc["installed"] is False and "no systemd user manager" in doc["error"]
    assert doc["sources"] == {"channels": None, "mailbox": report, "calendar": None}
    assert [n["company"] for n in doc["next_nudges"]] == ["Acme"]
