"""The stored plan (store.plan) on both engines: it is the rules' cache, kept in
step by every write and rebuilt once when the settings change; a command with
other settings than a running daemon's reads through the rules and leaves the
plan alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from followup import rules
from followup.models import DeliveryStatus, Interview, Policy, Status, columns_of
from followup.store import Store
from followup.store import plan as stored_plan
from followup.store.records import parse_utc
from followup.store.tables import interviews, meta

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = Policy(zone=BERLIN)
AROUND_THE_CLOCK = Policy(zone=BERLIN, first_after_days=1, business_days=False,
                          work_days=frozenset(range(7)), start=time(0), end=None)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'data' / 'followup.db'}"
    else:
        url = request.getfixturevalue("postgres_url")()
    store = Store.open(url)
    yield store
    store.close()


def add(db: Store, **fields) -> int:
    values = {"id": 0, "company": "Acme", "role": "Engineer", "interview_at": T0} | fields
    return db.add_interview(Interview(**values), T0).id


def plan_rows(db: Store) -> dict[int, tuple]:
    with db.engine.connect() as conn:
        return {row[0].interview_id: row[0] for row in stored_plan.read(conn, sa.true())}


def expected(db: Store, policy: Policy) -> dict[int, object]:
    return {r.interview.id: p for r in db.records()
            if (p := rules.planned_nudge(r, policy)) is not None}


# --- random histories and settings ---------------------------------------------------------

ZONES = ("Europe/Berlin", "America/New_York", "UTC", "Australia/Lord_Howe", "Pacific/Chatham")
moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2029, 12, 31),
                       timezones=st.sampled_from(ZONES).map(ZoneInfo))
offsets = st.timedeltas(min_value=timedelta(days=-30), max_value=timedelta(days=400))


@st.composite
def policies(draw) -> Policy:
    start = draw(st.times(max_value=time(22, 59)))
    return Policy(
        zone=ZoneInfo(draw(st.sampled_from(ZONES))),
        first_after_days=draw(st.integers(0, 60)),
        second_after_days=draw(st.integers(1, 90)),
        business_days=draw(st.booleans()),
        max_followups=draw(st.integers(1, 3)),
        stale_after_days=draw(st.integers(1, 400)),
        work_days=draw(st.frozensets(st.integers(0, 6), min_size=1)),
        start=start,
        end=draw(st.none() | st.times(min_value=time(start.hour + 1, 0))),
        holidays=draw(st.frozensets(st.dates(date(2025, 1, 1), date(2031, 12, 31)),
                                    max_size=20)),
    )


@st.composite
def histories(draw) -> dict:
    at = draw(moments)
    return {"at": at, "status": draw(st.sampled_from(Status)),
            "reply_by": draw(st.none() | st.dates(date(2025, 1, 1), date(2030, 12, 31))),
            "snooze": draw(st.none() | offsets.map(lambda o: at + o)),
            "sent": draw(st.lists(offsets.map(lambda o: at + o), max_size=3)),
            "fired": draw(st.lists(offsets.map(lambda o: at + o), max_size=3)),
            "later_snooze": draw(st.none() | offsets.map(lambda o: at + o))}


def write(db: Store, history: dict) -> None:
    """One interview and its history, through the store's own writes."""
    new = add(db, interview_at=history["at"], reply_by=history["reply_by"],
              status=history["status"], snoozed_until=history["snooze"])
    for number, fired_at in enumerate(history["fired"], 1):
        db.claim_nudge(new, number, fired_at, [], fired_at, "test/1/1", lambda _: True)
    for count, sent_at in enumerate(history["sent"]):
        db.add_followup(new, sent_at, "", T0, count)
    if history["later_snooze"] is not None:
        db.update_interview(new, {"snoozed_until": history["later_snooze"]}, T0)


def empty(db: Store) -> None:
    with db.engine.begin() as conn:
        conn.execute(interviews.delete())
        conn.execute(meta.delete().where(meta.c.key.in_(
            [stored_plan.POLICY_KEY, stored_plan.FINGERPRINT_KEY])))


def test_the_stored_plan_is_what_the_rules_say(db):
    """For random histories written before and after a change of settings, each row
    is `rules.planned_nudge` under the new settings, and at a random `now` the plan
    read back gives what `rules.next_nudge` says."""

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(before=st.lists(histories(), max_size=3), after=st.lists(histories(), max_size=3),
           first=policies(), second=policies(), now_offset=offsets)
    def check(before, after, first, second, now_offset):
        empty(db)
        db.adopt_plan(first, force=True)
        for history in before:
            write(db, history)
        db.adopt_plan(second, force=True)  # the settings changed: rebuilt once
        for history in after:
            write(db, history)
        assert plan_rows(db) == expected(db, second)
        now = T0 + now_offset
        read = [pair for page in db.planned_records(second, None, page=2) for pair in page]
        assert [(r.interview.id, rules.nudge_at(p, second, now)) for r, p in read] == [
            (r.interview.id, rules.next_nudge(r, second, now)) for r in db.records()]

    check()


# --- literal cases ----------------------------------------------------------------------------


def test_each_write_that_moves_the_next_nudge_moves_its_row(db):
    db.adopt_plan(AROUND_THE_CLOCK)
    new = add(db)
    assert plan_rows(db)[new].number == 1
    assert plan_rows(db)[new].fire_at == T0 + timedelta(days=1)
    fired = T0 + timedelta(days=1)
    db.claim_nudge(new, 1, fired, ["email"], fired, "t/1/1", lambda _: True)
    assert new not in plan_rows(db)  # nudge 1 reached nobody yet: no window for nudge 2
    db.record_delivery(new, 1, "email", DeliveryStatus.DELIVERED, fired)
    assert plan_rows(db)[new].number == 2  # it reached the user: nudge 2 is planned
    db.update_interview(new, {"snoozed_until": T0 + timedelta(days=3)}, T0)
    assert (plan_rows(db)[new].number, plan_rows(db)[new].again) == (1, True)
    db.add_followup(new, T0 + timedelta(days=2), "", T0, 0)
    assert (plan_rows(db)[new].number, plan_rows(db)[new].again) == (2, False)
    db.update_interview(new, {"status": Status.HEARD}, T0)
    assert new not in plan_rows(db)
    db.update_interview(new, {"status": Status.WAITING}, T0)
    db.delete_interview(new)
    assert plan_rows(db) == {}


def test_due_reads_the_rows_falling_due_by_fire_time(db):
    db.adopt_plan(AROUND_THE_CLOCK)
    soon = add(db, interview_at=T0)
    later = add(db, interview_at=T0 + timedelta(days=30))
    gone_stale = add(db, interview_at=T0 - timedelta(days=400))
    found = db.planned_due(AROUND_THE_CLOCK, T0 + timedelta(days=14), T0 + timedelta(hours=1))
    assert [counted.interview.id for counted, _ in found] == [gone_stale, soon]  # by time
    assert later in plan_rows(db)


def test_new_settings_rebuild_the_plan_once_and_keep_their_fingerprint(db):
    new = add(db)
    assert plan_rows(db) == {}  # no plan until someone reads it
    db.adopt_plan(OFFICE)
    assert db.meta(stored_plan.FINGERPRINT_KEY) == stored_plan.fingerprint(OFFICE)
    assert plan_rows(db)[new].fire_at == datetime(2026, 11, 25, 9, tzinfo=UTC)
    db.adopt_plan(AROUND_THE_CLOCK)
    assert db.meta(stored_plan.FINGERPRINT_KEY) == stored_plan.fingerprint(AROUND_THE_CLOCK)
    assert plan_rows(db)[new].fire_at == T0 + timedelta(days=1)


def test_a_command_with_other_settings_than_a_running_daemon_leaves_the_plan_alone(db):
    new = add(db)
    db.adopt_plan(OFFICE, force=True)  # the daemon's settings
    db.register_daemon("server/2/2", "server", 2, "server-place", ["email"], T0)
    assert db.adopt_plan(AROUND_THE_CLOCK) is False
    assert db.planned_due(AROUND_THE_CLOCK, T0 + timedelta(days=14), T0) is None
    [[(record, planned)]] = db.planned_records(AROUND_THE_CLOCK, None)  # from the rules
    assert record.interview.id == new
    assert planned.fire_at == T0 + timedelta(days=1)
    assert db.meta(stored_plan.FINGERPRINT_KEY) == stored_plan.fingerprint(OFFICE)
    assert plan_rows(db)[new].fire_at == datetime(2026, 11, 25, 9, tzinfo=UTC)
    db.daemon_stopped("server/2/2")
    [[(_, planned)]] = db.planned_records(AROUND_THE_CLOCK, None)  # nobody runs: ours
    assert planned.fire_at == T0 + timedelta(days=1)
    assert db.meta(stored_plan.FINGERPRINT_KEY) == stored_plan.fingerprint(AROUND_THE_CLOCK)
    assert plan_rows(db)[new].fire_at == T0 + timedelta(days=1)


def test_writers_with_other_settings_write_rows_under_the_stored_ones(db):
    db.adopt_plan(OFFICE, force=True)
    new = add(db)  # whoever adds it, the row follows the plan's settings
    assert plan_rows(db)[new] == rules.planned_nudge(db.get(new), OFFICE)


def test_a_daemon_reads_only_the_nudges_due_within_its_horizon_and_not_stale(db):
    db.adopt_plan(AROUND_THE_CLOCK, force=True)
    soon = add(db, company="Soon", interview_at=T0)  # fires T0 + 1 day
    add(db, company="Later", interview_at=T0 + timedelta(days=30))
    add(db, company="Stale", interview_at=T0 - timedelta(days=400))
    now = T0 + timedelta(days=1) - timedelta(hours=6)
    found = db.planned_within(AROUND_THE_CLOCK, now + timedelta(hours=12), now)
    assert [(planned.interview_id, company) for planned, company in found] == [(soon, "Soon")]


def test_a_listing_counts_follow_ups_and_nudges_in_one_read(db):
    db.adopt_plan(AROUND_THE_CLOCK)
    new = add(db)
    fired = T0 + timedelta(days=1)
    db.claim_nudge(new, 1, fired, ["email"], fired, "t/1/1", lambda _: True)
    db.add_followup(new, T0 + timedelta(days=2), "", T0, 0)
    [[(counted, planned)]] = db.planned_records(AROUND_THE_CLOCK, None)
    assert (counted.followups_sent, counted.nudges_fired, planned.number) == (1, 1, 2)
    assert counted.interview == db.get(new).interview
    [row] = _rows(db.list_columns(AROUND_THE_CLOCK, None))  # the row `list` prints
    assert row[:3] == (new, counted.interview.company, counted.interview.role)
    assert parse_utc(row[3]) == counted.interview.interview_at
    assert (row[4], row[5], row[6]) == ("waiting", 1, 2)
    assert parse_utc(row[9]) == planned.fire_at


def _rows(columns: list[list]) -> list[tuple]:
    return list(zip(*columns, strict=True))


def test_list_reads_its_table_a_page_at_a_time_into_the_same_columns(db):
    """`list_columns` reads pages of rows into columns (models.columns_of): one row a
    page gives what one page of all rows gives; no interview, no columns."""
    db.adopt_plan(AROUND_THE_CLOCK)
    assert db.list_columns(AROUND_THE_CLOCK, None) == []
    for n in range(5):
        add(db, company=f"C{n}", interview_at=T0 - timedelta(days=n))
    whole = db.list_columns(AROUND_THE_CLOCK, None)
    assert [len(column) for column in whole] == [5] * 11
    assert whole[1] == ["C4", "C3", "C2", "C1", "C0"]  # by interview time
    assert db.list_columns(AROUND_THE_CLOCK, None, page=1) == whole
    assert db.list_columns(AROUND_THE_CLOCK, None, page=2) == whole
    assert columns_of([[(1, "a")], [], [(2, "b"), (3, "c")]]) == [[1, 2, 3], ["a", "b", "c"]]
    assert columns_of([]) == columns_of([[]]) == []


def _readings(rows: list[tuple]) -> list[tuple]:
    """Table rows with their timestamps read (the stored forms differ by engine and
    by path), sorted by interview id."""
    return sorted(tuple(parse_utc(cell) if isinstance(cell, str | datetime) and i in moments
                        else cell for i, cell in enumerate(row))
                  for row, moments in ((row, _moments(row)) for row in rows))


def _moments(row: tuple) -> set[int]:
    plan_from = len(row) - 5  # the plan's five cells end every row; a list row has its time
    return {plan_from + 1, plan_from + 2, plan_from + 3, plan_from + 4} | (
        {3} if len(row) == 11 else set())


def test_the_tables_read_from_the_rules_match_those_read_from_the_plan(db):
    """`list` and `due` read the plan's rows; while a daemon keeps the plan under other
    settings they come from the rules over the records instead: the same rows."""
    now = T0 + timedelta(hours=1)
    add(db, company="Soon", interview_at=T0)
    add(db, company="Later", interview_at=T0 + timedelta(days=30))
    add(db, company="Stale", interview_at=T0 - timedelta(days=400))
    heard = add(db, company="Heard", interview_at=T0 - timedelta(days=2))
    db.update_interview(heard, {"status": Status.HEARD}, T0)
    db.adopt_plan(OFFICE, force=True)  # the daemon's settings
    db.register_daemon("server/2/2", "server", 2, "server-place", ["email"], T0)
    horizon = T0 + timedelta(days=14)
    from_rules = (_rows(db.list_columns(AROUND_THE_CLOCK, None)),
                  _rows(db.list_columns(AROUND_THE_CLOCK, [Status.WAITING])),
                  db.due_rows(AROUND_THE_CLOCK, horizon, now))
    db.daemon_stopped("server/2/2")
    from_plan = (_rows(db.list_columns(AROUND_THE_CLOCK, None)),
                 _rows(db.list_columns(AROUND_THE_CLOCK, [Status.WAITING])),
                 db.due_rows(AROUND_THE_CLOCK, horizon, now))
    assert db.meta(stored_plan.FINGERPRINT_KEY) == stored_plan.fingerprint(AROUND_THE_CLOCK)
    assert [len(rows) for rows in from_plan] == [4, 3, 2]  # Later is past the horizon
    for rules_rows, plan_rows_ in zip(from_rules, from_plan, strict=True):
        assert _readings(rules_rows) == _readings(plan_rows_)
