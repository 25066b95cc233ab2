"""The store against real databases: SQLite files and a PostgreSQL server (each test
that takes `db` runs on both): migrations, privacy, the claim, the CAS."""

from __future__ import annotations

import multiprocessing
import sqlite3
import stat
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from followup import store as store_module
from followup.errors import NotFound
from followup.models import DeliveryStatus, Interview, Status
from followup.store import SCHEMA_HEAD, Store

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def interview(**fields) -> Interview:
    values = {"id": 0, "company": "Acme", "role": "Engineer", "interview_at": T0} | fields
    return Interview(**values)


BOTH_ENGINES = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """A store on each engine: a SQLite file under tmp_path/data, a PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'data' / 'followup.db'}"
    else:
        url = request.getfixturevalue("postgres_url")()
    store = Store.open(url)
    yield store
    store.close()


@pytest.fixture
def sqlite_db(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'data' / 'followup.db'}")
    yield store
    store.close()


def revision(path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_schema_head_names_the_newest_migration():
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(store_module.alembic_config())
    assert scripts.get_current_head() == SCHEMA_HEAD


def test_an_empty_database_reaches_head(tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    Store.open(f"sqlite:///{path}").close()
    assert revision(path) == SCHEMA_HEAD


def test_a_database_at_the_first_revision_reaches_head_keeping_its_rows(tmp_path):
    path = tmp_path / "old.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    store_module.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO interviews (company, role, interviewer, email, notes, interview_at, "
            "status, created_at, updated_at) VALUES ('Old Co', 'Dev', '', '', '', "
            "'2026-01-05 10:00:00', 'waiting', '2026-01-05 10:00:00', '2026-01-05 10:00:00')")
    engine.dispose()
    assert revision(path) == "0001"
    store = Store.open(f"sqlite:///{path}")
    assert revision(path) == SCHEMA_HEAD
    assert [r.interview.company for r in store.records()] == ["Old Co"]
    with sqlite3.connect(path) as conn:
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(interviews)")}
    assert "ix_interviews_status" in indexes
    store.close()


def test_upgrading_to_0003_keeps_the_history_of_recreated_interviews(tmp_path):
    path = tmp_path / "old.db"
    old = Store.open(f"sqlite:///{path}", migrate=False)
    store_module.upgrade(old.engine, "0002")
    with old.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO interviews (company, role, interview_at, status, created_at, "
            "updated_at) VALUES ('Old Co', 'Dev', '2026-01-05 10:00:00', 'heard', "
            "'2026-01-05 10:00:00', '2026-01-05 10:00:00')")
        conn.exec_driver_sql("INSERT INTO followups (interview_id, number, sent_at) "
                             "VALUES (1, 1, '2026-01-08 10:00:00')")
    old.close()
    store = Store.open(f"sqlite:///{path}")
    [record] = store.records()
    assert record.followups_sent == 1  # not cascaded away by the table's recreation
    assert record.interview.heard_via == "manual"
    store.close()


def test_ids_are_never_reused(db):
    first = db.add_interview(interview(), T0)
    db.delete_interview(first.id)
    second = db.add_interview(interview(), T0)
    assert second.id > first.id


def test_new_interview_fields_round_trip(db):
    added = db.add_interview(interview(topics="the event pipeline",
                                       domains=("acme.example", "acme-jobs.example"),
                                       source="calendar", event_uid="abc@google.com",
                                       zone="Europe/Berlin"), T0)
    got = db.get(added.id).interview
    assert got.domains == ("acme.example", "acme-jobs.example")
    assert (got.topics, got.source, got.event_uid, got.zone) == (
        "the event pipeline", "calendar", "abc@google.com", "Europe/Berlin")
    changed = db.update_interview(added.id, {"domains": ("acme.example",)}, T0)
    assert changed.interview.domains == ("acme.example",)


def test_the_installation_id_is_made_once(db):
    first = db.installation_id()
    assert len(first) == 16
    assert db.installation_id() == first


def test_the_database_is_private_and_in_wal_mode(sqlite_db, tmp_path):
    db = sqlite_db
    folder = tmp_path / "data"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "followup.db").stat().st_mode) == 0o600
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_datetimes_come_back_aware_in_utc(db):
    berlin = datetime(2026, 3, 29, 3, 30).astimezone()  # any aware time
    added = db.add_interview(interview(interview_at=berlin), T0)
    back = db.get(added.id).interview.interview_at
    assert back == berlin and back.tzinfo == UTC


def test_update_delete_and_not_found(db):
    added = db.add_interview(interview(), T0)
    record = db.update_interview(added.id, {"status": Status.HEARD, "outcome": "offer"}, T0)
    assert record.interview.status is Status.HEARD and record.interview.outcome == "offer"
    db.add_followup(added.id, T0 + timedelta(days=3), "sent", T0, 0)
    db.delete_interview(added.id)
    with pytest.raises(NotFound):
        db.get(added.id)
    with pytest.raises(NotFound):
        db.delete_interview(added.id)
    with pytest.raises(NotFound):
        db.update_interview(999, {"company": "x"}, T0)
    with db.engine.connect() as conn:  # the history went with it (foreign keys cascade)
        assert conn.execute(sa.text("SELECT count(*) FROM followups")).scalar() == 0


def test_followups_are_numbered_in_order(db):
    added = db.add_interview(interview(), T0)
    db.add_followup(added.id, T0 + timedelta(days=3), "first", T0, 0)
    record = db.add_followup(added.id, T0 + timedelta(days=9), "second", T0, 1)
    assert [(f.number, f.note) for f in record.followups] == [(1, "first"), (2, "second")]


def test_a_nudge_is_claimed_once(db):
    added = db.add_interview(interview(), T0)
    first = db.claim_nudge(added.id, 1, T0, ["desktop", "email"], T0, "me", lambda r: True)
    assert first is not None and first.nudges == ()
    assert db.claim_nudge(added.id, 1, T0, ["desktop"], T0, "other", lambda r: True) is None
    nudge = db.get(added.id).nudges[0]
    assert [(d.channel, d.status) for d in nudge.deliveries] == [
        ("desktop", DeliveryStatus.PENDING), ("email", DeliveryStatus.PENDING)]


def test_the_claim_asks_the_rules_inside_the_transaction(db):
    added = db.add_interview(interview(), T0)
    seen = []
    assert db.claim_nudge(added.id, 1, T0, ["desktop"], T0, "me",
                          lambda r: seen.append(r) or False) is None
    assert seen[0].interview.id == added.id
    assert db.get(added.id).nudges == ()


def test_a_delivery_is_taken_by_one_owner_at_a_time(db):
    added = db.add_interview(interview(), T0)
    db.claim_nudge(added.id, 1, T0, ["email"], T0, "dead-daemon", lambda r: True)
    # Held by another process: taken only once its lease ended (here: the process is
    # known dead) or lapsed; then by one taker.
    assert not db.take_delivery(added.id, 1, "email", "me", T0)
    db.end_leases("dead-daemon")
    assert db.take_delivery(added.id, 1, "email", "me", T0)
    assert not db.take_delivery(added.id, 1, "email", "you", T0)
    retry_at = T0 + timedelta(minutes=1)
    db.record_delivery(added.id, 1, "email", DeliveryStatus.RETRYING, T0, "421",
                       retry_at)
    assert not db.take_delivery(added.id, 1, "email", "me", T0)  # not due yet
    assert [p.channel for p in db.undelivered()] == ["email"]
    assert db.take_delivery(added.id, 1, "email", "me", retry_at)
    db.record_delivery(added.id, 1, "email", DeliveryStatus.DELIVERED, retry_at)
    delivery = db.get(added.id).nudges[0].deliveries[0]
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == (
        DeliveryStatus.DELIVERED, 2, retry_at)
    assert db.undelivered() == []
    assert not db.take_delivery(added.id, 1, "email", "me", retry_at)


def _claim_all(url: str, owner: str, count: int, results) -> None:
    store = Store.open(url)
    won = sum(store.claim_nudge(i, 1, T0, ["command"], T0, owner, lambda r: True) is not None
              for i in range(1, count + 1))
    results.put(won)
    store.close()


@BOTH_ENGINES
def test_two_processes_racing_claim_each_nudge_once(database_url):
    url = database_url()
    store = Store.open(url)
    for _ in range(60):
        store.add_interview(interview(), T0)
    store.close()
    won = _race(_claim_all, [(url, f"p{n}", 60) for n in range(2)])
    assert sum(won) == 60
    store = Store.open(url)
    assert sum(len(r.nudges) for r in store.records()) == 60
    store.close()


def test_records_below_the_cap_leave_out_interviews_with_nothing_left(db):
    fresh = db.add_interview(interview(company="Fresh"), T0)
    sent_twice = db.add_interview(interview(company="Sent twice"), T0)
    nudged_twice = db.add_interview(interview(company="Nudged twice"), T0)
    halfway = db.add_interview(interview(company="Halfway"), T0)
    for number in (1, 2):
        db.add_followup(sent_twice.id, T0 + timedelta(days=number), "", T0, number - 1)
        db.claim_nudge(nudged_twice.id, number, T0, [], T0, "me", lambda r: True)
    db.add_followup(halfway.id, T0 + timedelta(days=1), "", T0, 0)
    db.claim_nudge(halfway.id, 1, T0, ["email"], T0, "me", lambda r: True)
    below = [r.interview.company for r in db.records([Status.WAITING], below=2)]
    assert below == ["Fresh", "Halfway"]
    assert len(db.records([Status.WAITING])) == 4
    light, full = db.records(below=2)[1], db.records(with_deliveries=True)[3]
    assert light.nudges[0].deliveries == ()
    assert [d.channel for d in full.nudges[0].deliveries] == ["email"]
    assert fresh.id == db.records()[0].interview.id


@pytest.mark.parametrize("final", [DeliveryStatus.GAVE_UP, DeliveryStatus.CANCELLED])
def test_a_finished_delivery_is_never_taken_up_again(db, final):
    added = db.add_interview(interview(), T0)
    db.claim_nudge(added.id, 1, T0, ["email", "command"], T0, "me", lambda r: True)
    db.record_delivery(added.id, 1, "email", final, T0, "why")
    db.record_delivery(added.id, 1, "command", DeliveryStatus.RETRYING, T0, "421", T0)
    assert [p.channel for p in db.undelivered()] == ["command"]
    assert not db.take_delivery(added.id, 1, "email", "me", T0 + timedelta(days=1))
    [email] = [d for d in db.get(added.id).nudges[0].deliveries if d.channel == "email"]
    # Cancelling is not an attempt; giving up follows one.
    assert (email.status, email.attempts) == (final, 0 if final is DeliveryStatus.CANCELLED
                                               else 1)


def test_a_snoozed_nudge_is_claimed_again_once_with_new_deliveries(db):
    added = db.add_interview(interview(), T0)
    db.claim_nudge(added.id, 1, T0, ["email"], T0, "me", lambda r: True)
    db.record_delivery(added.id, 1, "email", DeliveryStatus.DELIVERED, T0)
    later = T0 + timedelta(days=1)
    before = db.claim_again(added.id, 1, ["email", "command"], later, "me", lambda r: True)
    assert before is not None and before.nudges[0].fired_at == T0
    assert db.claim_again(added.id, 1, ["email"], later, "you", lambda r: True) is None
    record = db.get(added.id)
    assert [(n.number, n.fired_at) for n in record.nudges] == [(1, later)]
    assert sorted((d.channel, d.status, d.attempts) for d in record.nudges[0].deliveries) == [
        ("command", DeliveryStatus.PENDING, 0), ("email", DeliveryStatus.PENDING, 0)]


def test_claiming_again_is_refused_while_a_delivery_is_being_attempted(db):
    added = db.add_interview(interview(), T0)
    db.claim_nudge(added.id, 1, T0, ["email"], T0, "me", lambda r: True)  # owned, in flight
    assert db.claim_again(added.id, 1, ["email"], T0 + timedelta(days=1), "me",
                          lambda r: True) is None


def _claim_again_all(url: str, owner: str, count: int, when: datetime, results) -> None:
    store = Store.open(url)
    won = sum(store.claim_again(i, 1, ["command"], when, owner, lambda r: True) is not None
              for i in range(1, count + 1))
    results.put(won)
    store.close()


def test_two_processes_racing_to_claim_again_win_each_nudge_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'again.db'}"
    store = Store.open(url)
    for _ in range(40):
        added = store.add_interview(interview(), T0)
        store.claim_nudge(added.id, 1, T0, ["command"], T0, "old", lambda r: True)
        store.record_delivery(added.id, 1, "command", DeliveryStatus.DELIVERED, T0)
    store.close()
    won = _race(_claim_again_all,
                [(url, f"p{n}", 40, T0 + timedelta(days=1 + n)) for n in range(2)])
    # The second process finds every nudge moved already: its `fired_at` no longer
    # matches what the first read, or the first one's delivery is held.
    assert sum(won) == 40



def _race(target, argsets: list[tuple]) -> list:
    """Run `target(*args, results)` in a spawned process per argument set, all at once;
    what each put on `results`, in the order they finished."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=target, args=(*args, results)) for args in argsets]
    for worker in workers:
        worker.start()
    found = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    return found

def _open(url: str, barrier, results) -> None:
    barrier.wait(30)
    try:
        Store.open(url).close()
        results.put("ok")
    except Exception as error:  # the test reports what went wrong
        results.put(f"{type(error).__name__}: {error}")


def test_several_processes_opening_a_fresh_database_at_once_all_succeed(tmp_path):
    for attempt in range(3):
        url = f"sqlite:///{tmp_path / f'fresh-{attempt}.db'}"
        barrier = multiprocessing.get_context("spawn").Barrier(6)
        outcomes = _race(_open, [(url, barrier)] * 6)
        assert outcomes == ["ok"] * 6
        assert revision(tmp_path / f"fresh-{attempt}.db") == SCHEMA_HEAD


def test_failed_deliveries_become_retrying_or_gave_up_at_0004(tmp_path):
    path = tmp_path / "old.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    store_module.upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO interviews (company, role, interviewer, email, notes, interview_at, "
            "status, created_at, updated_at) VALUES ('Old Co', 'Dev', '', '', '', "
            "'2026-01-05 10:00:00', 'waiting', '2026-01-05 10:00:00', '2026-01-05 10:00:00')")
        conn.exec_driver_sql("INSERT INTO nudges (interview_id, number, opens_at, fired_at) "
                             "VALUES (1, 1, '2026-01-08 10:00:00', '2026-01-08 10:00:00')")
        conn.exec_driver_sql(
            "INSERT INTO deliveries (nudge_id, channel, status, attempts, next_attempt_at) "
            "VALUES (1, 'email', 'failed', 3, '2026-01-08 11:00:00'), "
            "(1, 'command', 'failed', 2, NULL), (1, 'desktop', 'delivered', 1, NULL)")
    engine.dispose()
    Store.open(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT channel, status FROM deliveries ORDER BY id").fetchall()
    assert rows == [("email", "retrying"), ("command", "gave up"), ("desktop", "delivered")]


def test_upgrading_to_0011_adds_the_language_and_clears_the_old_placeholder_role(tmp_path):
    # Issue 19: interviews keep following [me] language (NULL), and a calendar
    # interview whose title named no role loses the placeholder "open".
    path = tmp_path / "old.db"
    old = Store.open(f"sqlite:///{path}", migrate=False)
    store_module.upgrade(old.engine, "0008")
    with old.engine.begin() as conn:
        for company, role, source in [("Cal Co", "open", "calendar"), ("Hand Co", "open", "manual"),
                                      ("Cal Two", "Dev", "calendar")]:
            conn.exec_driver_sql(
                "INSERT INTO interviews (company, role, source, interview_at, created_at, "
                f"updated_at) VALUES ('{company}', '{role}', '{source}', "
                "'2026-01-05 10:00:00', '2026-01-05 10:00:00', '2026-01-05 10:00:00')")
    old.close()
    store = Store.open(f"sqlite:///{path}")
    found = {r.interview.company: (r.interview.role, r.interview.language)
             for r in store.records()}
    assert found == {"Cal Co": ("", None), "Hand Co": ("open", None), "Cal Two": ("Dev", None)}
    store.close()


@pytest.mark.parametrize("language", ["de", None])
def test_the_language_round_trips(db, language):
    added = db.add_interview(interview(language=language), T0)
    assert db.get(added.id).interview.language == language
    assert db.update_interview(added.id, {"language": "fr"}, T0).interview.language == "fr"


def test_a_database_made_by_a_newer_followup_is_one_line_and_exit_78(tmp_path):
    from support.cli import spawn

    path = tmp_path / "newer.db"
    Store.open(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999'")
    config = tmp_path / "followup.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{path}"\n')
    for args in (["list"], ["run"]):
        done = spawn("--config", str(config), *args, timeout=60)
        assert done.code == 78, (args, done.err)
        assert done.err.strip().splitlines()[-1] == (
            "error: this database was made by a newer followup (schema 0999); "
            "upgrade followup"), (args, done.err)
        assert "Traceback" not in done.err
    assert len(spawn("--config", str(config), "list").err.strip().splitlines()) == 1
    assert revision(path) == "0999"  # nothing changed
