"""PostgreSQL as a first-class store: the URL, the password in ~/.pgpass and never in
the URL, clear errors when the server is away, migrations from old revisions."""

from __future__ import annotations

import json
import socket

import pytest
import sqlalchemy as sa

from followup import store as store_module
from followup.store import SCHEMA_HEAD, Store
from support.cli import run
from support.postgres import ROLE


def config(tmp_path, url: str) -> str:
    path = tmp_path / "followup.toml"
    path.write_text(f'timezone = "Europe/Berlin"\n[database]\nurl = "{url}"\n')
    return str(path)


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://followup:hunter2secret@db.example/followup",
    "postgresql+psycopg://followup@db.example/followup?password=hunter2secret",
    "postgresql+psycopg://:hunter2secret@db.example/followup",
])
def test_a_password_in_the_url_is_a_configuration_error_that_does_not_echo_it(
        capsys, tmp_path, url):
    outcome = run(capsys, "--config", config(tmp_path, url), "list")
    assert outcome.code == 78
    assert "[database] url: a password does not go in the database URL" in outcome.err
    assert "hunter2secret" not in outcome.err + outcome.out


def test_the_commands_work_on_postgresql(capsys, tmp_path, postgres_url):
    path = config(tmp_path, postgres_url())
    added = run(capsys, "--config", path, "add", "--company", "Acme", "--role", "Engineer",
                "--at", "2026-11-20T10:00", "--json")
    assert added.code == 0, added.err
    number = added.json()["id"]
    assert run(capsys, "--config", path, "sent", str(number), "--json").code == 0
    shown = run(capsys, "--config", path, "show", str(number), "--json").json()
    assert (shown["company"], shown["followups_sent"]) == ("Acme", 1)
    listed = run(capsys, "--config", path, "list", "--json").json()
    assert [i["id"] for i in listed] == [number]
    assert run(capsys, "--config", path, "rm", str(number)).code == 0
    assert json.loads(run(capsys, "--config", path, "list", "--json").out) == []


def test_an_unreachable_server_is_one_line_and_exit_1(capsys, tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://{ROLE}@127.0.0.1:{port}/followup"
    outcome = run(capsys, "--config", config(tmp_path, url), "list")
    assert outcome.code == 1
    assert outcome.err.startswith("error: cannot open the database: connection")
    assert "refused" in outcome.err and len(outcome.err.strip().splitlines()) == 1


def test_a_refused_login_is_one_line_and_exit_1(capsys, tmp_path, postgres_url,
                                                private_home):
    url = postgres_url()
    (private_home / ".pgpass").write_text("*:*:*:*:not-the-password\n")
    outcome = run(capsys, "--config", config(tmp_path, url), "list")
    assert outcome.code == 1
    assert "password authentication failed" in outcome.err
    assert len(outcome.err.strip().splitlines()) == 1 and "not-the-password" not in outcome.err


def test_a_database_at_the_first_revision_reaches_head_keeping_its_rows(postgres_url):
    url = postgres_url()
    old = Store.open(url, migrate=False)
    store_module.upgrade(old.engine, "0001")
    with old.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO interviews (company, role, interviewer, email, notes, interview_at, "
            "status, created_at, updated_at) VALUES ('Old Co', 'Dev', '', '', '', "
            "'2026-01-05 10:00:00', 'heard', '2026-01-05 10:00:00', '2026-01-05 10:00:00')"))
        conn.execute(sa.text("INSERT INTO followups (interview_id, number, sent_at) "
                             "VALUES (1, 1, '2026-01-08 10:00:00')"))
    old.close()
    store = Store.open(url)
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")
                            ).scalar() == SCHEMA_HEAD
    [record] = store.records()
    assert (record.interview.company, record.followups_sent) == ("Old Co", 1)
    assert record.interview.heard_via == "manual"
    store.close()


def test_stores_opened_together_on_a_new_database_migrate_it_once(postgres_url):
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(3):
        url = postgres_url()
        with ThreadPoolExecutor(4) as pool:
            stores = list(pool.map(Store.open, [url] * 4))
        for store in stores:
            assert store.records() == []
            store.close()


def test_a_url_without_a_driver_uses_psycopg(postgres_url):
    url = postgres_url().replace("postgresql+psycopg://", "postgresql://")
    store = Store.open(url)
    assert store.engine.dialect.driver == "psycopg" and store.records() == []
    store.close()
