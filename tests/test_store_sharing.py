"""The store's side of several daemons on one database, on both engines: the change
log, leases on the database's clock with a fencing check, and who delivers what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from followup.models import DeliveryStatus, Interview
from followup.store import Store
from followup.store import changes as change_log

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the machines' clocks: far from the database's

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def db(database_url):
    store = Store.open(database_url())
    yield store
    store.close()


def add(db: Store, company: str = "Acme") -> int:
    return db.add_interview(Interview(id=0, company=company, role="Engineer",
                                      interview_at=T0), T0).id


def test_every_write_is_in_the_change_log(db):
    start = db.newest_change()
    first, second = add(db), add(db, "Beta")
    found, records, _ = db.changed_since(start)
    assert found.interview_ids == {first, second} and not found.everything
    assert [r.interview.id for r in records] == [first, second]
    mark = found.newest
    db.update_interview(first, {"company": "Acme Corp"}, T0)
    db.add_followup(second, T0 + timedelta(days=1), "", T0, 0)
    assert db.changed_since(mark)[0].interview_ids == {first, second}
    mark = db.newest_change()
    db.delete_interview(first)
    found, records, _ = db.changed_since(mark)
    assert found.interview_ids == {first} and records == []  # gone: the daemon unplans it
    assert db.changed_since(found.newest)[0].interview_ids == frozenset()


def test_a_claim_is_a_change_and_brings_its_undelivered_deliveries(db):
    added = add(db)
    mark = db.newest_change()
    db.claim_nudge(added, 1, T0, ["email"], T0, "server", lambda r: True)
    found, _, pending = db.changed_since(mark)
    assert found.interview_ids == {added}
    assert [(p.channel, p.owner) for p in pending] == [("email", "server")]


def test_a_reader_behind_the_pruned_log_looks_at_everything(db):
    add(db)
    with db.engine.begin() as conn:  # an old change, as if a week had passed
        conn.execute(change_log.changes.update().values(made_at=datetime(2000, 1, 1)))
    assert db.prune_changes() == 1
    assert db.changed_since(0)[0].everything
    newest = db.newest_change()
    add(db)
    assert not db.changed_since(newest)[0].everything


def test_a_lease_is_taken_over_only_once_it_lapsed_on_the_database_clock(db):
    added = add(db)
    db.lease_seconds = 3600
    db.claim_nudge(added, 1, T0, ["email"], T0, "laptop", lambda r: True,
                   {"email": "laptop-1"})
    # The taker's own clock says a year later: it does not matter, the database decides.
    later = T0 + timedelta(days=365)
    assert not db.take_delivery(added, 1, "email", "server", later, "server-1")
    assert db.undelivered(lapsed_only=True) == []
    db.lease_seconds = -1  # the laptop's last renewal ran out a second ago
    assert db.renew_leases("laptop", {"laptop-1"}) == 1
    assert [p.owner for p in db.undelivered(lapsed_only=True)] == ["laptop"]
    db.lease_seconds = 3600
    assert db.take_delivery(added, 1, "email", "server", T0, "server-1")
    assert not db.take_delivery(added, 1, "email", "third", T0, "third-1")


def test_a_late_owner_cannot_record_a_delivery_it_lost(db):
    added = add(db)
    db.lease_seconds = -1  # lapsed at once
    db.claim_nudge(added, 1, T0, ["email"], T0, "laptop", lambda r: True,
                   {"email": "laptop-1"})
    db.lease_seconds = 3600
    assert db.take_delivery(added, 1, "email", "server", T0, "server-1")
    assert not db.record_delivery(added, 1, "email", DeliveryStatus.DELIVERED, T0,
                                  attempt="laptop-1")
    assert db.renew_leases("laptop", {"laptop-1"}) == 0
    assert db.record_delivery(added, 1, "email", DeliveryStatus.DELIVERED, T0,
                              attempt="server-1")
    delivery = db.get(added).nudges[0].deliveries[0]
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)


def test_two_attempts_of_one_process_are_told_apart_by_their_tokens(db):
    added = add(db)
    db.claim_nudge(added, 1, T0, ["email"], T0, "laptop", lambda r: True,
                   {"email": "first"})
    # The same process may not take its own delivery while the lease holds.
    assert not db.take_delivery(added, 1, "email", "laptop", T0, "second")
    db.end_attempts({"first"})  # the first attempt ended without a record
    assert db.take_delivery(added, 1, "email", "laptop", T0, "second")
    assert db.renew_leases("laptop", {"first"}) == 0
    assert not db.record_delivery(added, 1, "email", DeliveryStatus.DELIVERED, T0,
                                  attempt="first")
    assert db.record_delivery(added, 1, "email", DeliveryStatus.DELIVERED, T0,
                              attempt="second")


def test_a_delivery_owned_before_leases_existed_counts_as_lapsed(db):
    from followup.store.tables import deliveries

    added = add(db)
    db.claim_nudge(added, 1, T0, ["email"], T0, "old-daemon", lambda r: True)
    with db.engine.begin() as conn:  # as migration 0008 left it: owned, no lease
        conn.execute(deliveries.update().values(lease_until=None))
    assert [p.owner for p in db.undelivered(lapsed_only=True)] == ["old-daemon"]
    assert db.take_delivery(added, 1, "email", "server", T0, "server-1")


def test_a_claim_leaves_the_other_daemons_channels_waiting_for_them(db):
    db.register_daemon("laptop/1/1", "laptop", 1, "laptop-place", ["desktop"], T0)
    db.register_daemon("server/2/2", "server", 2, "server-place", ["email"], T0)
    added = add(db)
    db.claim_nudge(added, 1, T0, ["email"], T0, "server/2/2", lambda r: True)
    pending = {p.channel: p.owner for p in db.undelivered()}
    assert pending == {"email": "server/2/2", "desktop": None}
    # The laptop takes its desktop delivery when it gets to it.
    assert db.take_delivery(added, 1, "desktop", "laptop/1/1", T0)


def test_daemons_are_listed_with_heartbeats_on_the_database_clock(db):
    db.register_daemon("laptop/1/1", "laptop", 1, "laptop-place", ["desktop"], T0)
    db.register_daemon("server/2/2", "server", 2, "server-place", ["email", "command"], T0)
    assert db.heartbeat("server/2/2")
    db.daemon_stopped("laptop/1/1")
    now, found = db.known_daemons()
    by_host = {d.host: d for d in found}
    assert set(by_host) == {"laptop", "server"}
    assert by_host["server"].channels == ("email", "command")
    assert by_host["server"].since == T0 and by_host["server"].stopped_at is None
    assert by_host["laptop"].stopped_at is not None
    assert abs(now - by_host["server"].heartbeat) < timedelta(minutes=1)
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=1)
    # A restart at the same place replaces the earlier run's row.
    db.register_daemon("laptop/9/9", "laptop", 9, "laptop-place", [], T0)
    assert sorted(d.owner for d in db.known_daemons()[1]) == ["laptop/9/9", "server/2/2"]
    assert not db.heartbeat("laptop/1/1")
