"""DESIGN "Exactly once": the races, timeouts and stops that could deliver a nudge
twice (or never), each widened on purpose by an explicit hook in the test (a store
subclass that runs the racing step at the worst moment), never by a sleep.

The daemon runs in the test's own event loop (support.inprocess) on the real
store and the real command channel; each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio

import pytest

from support.attempts import held_command, settled, statuses_in
from support.inprocess import running, until


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, world):
    if request.param == "sqlite":
        return world
    make_url = request.getfixturevalue("postgres_url")
    return lambda **options: world(database_url=make_url(), **options)


def test_a_catch_up_reading_a_fresh_claim_does_not_deliver_it_a_second_time(world):
    """Item 1: the claim has committed, the dispatch has not started its attempt yet;
    a catch-up (a rescan, or the claim's own NOTIFY) reads the pending delivery,
    owned by this very process, in between. It must not be taken again."""
    from followup.store import Store

    w = world(rescan_seconds=600)
    added = w.add("Acme")
    caught_up = []

    class CatchUpAfterClaim(Store):
        daemon = None

        def claim_nudge(self, *args, **kwargs):
            record = super().claim_nudge(*args, **kwargs)
            if record is not None and not caught_up:  # committed; in this worker thread
                caught_up.append(True)
                planner = self.daemon.planner
                asyncio.run_coroutine_threadsafe(planner.catch_up(), self.loop).result(30)
                asyncio.run_coroutine_threadsafe(planner.rescan(), self.loop).result(30)
            return record

    async def scenario() -> None:
        store = CatchUpAfterClaim(Store.open(w.database_url).engine)
        store.loop = asyncio.get_running_loop()
        from followup.daemon.loop import Daemon

        class Hooked(Daemon):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                store.daemon = self

        async with running(w, store=store, daemon_class=Hooked) as daemon:
            await until(lambda: caught_up and w.nudges_seen(), what="the first delivery")
            await until(lambda: settled(daemon), what="the daemon to settle")
            await daemon.planner.rescan()
            await until(lambda: settled(daemon), what="the daemon to settle again")

    asyncio.run(scenario())
    assert w.nudges_seen() == [(added, 1)]


# --- item 2: an attempt's real outcome, and a stop in the middle of one ---------------------

def test_an_attempt_slower_than_the_dispatchers_bound_is_awaited_not_abandoned(
        world, monkeypatch, caplog):
    """Item 2: the dispatcher once gave up on a channel after its own bound and recorded
    a failure while the channel could still deliver; the retry then delivered again."""
    from followup.daemon import dispatch

    monkeypatch.setattr(dispatch, "ATTEMPT_TIMEOUT", 0.5, raising=False)
    monkeypatch.setattr(dispatch, "SLOW_ATTEMPT", 0.5, raising=False)
    w = world(rescan_seconds=1)
    release = held_command(w)
    added = w.add("Acme")

    async def scenario() -> None:
        async with running(w) as daemon:
            await until(lambda: "no answer within" in caplog.text
                        or "still sending" in caplog.text, what="a slow attempt")
            release.touch()
            await until(lambda: w.nudges_seen(), what="the delivery")
            await until(lambda: statuses_in(w, added) in (["delivered"], ["retrying"]),
                        what="a record")
            await until(lambda: settled(daemon) and statuses_in(w, added) == ["delivered"],
                        what="the daemon to settle")

    caplog.set_level("INFO")
    asyncio.run(scenario())
    assert w.nudges_seen() == [(added, 1)]


def test_a_stop_mid_attempt_records_it_in_doubt_and_no_later_daemon_sends_it_again(
        world, monkeypatch, caplog):
    """Item 2: SIGTERM while a channel is still sending: past the stop grace the attempt
    is recorded "in doubt" (it may have arrived), never taken up again by the next start;
    `show` says so."""
    import json

    from followup.daemon import loop

    monkeypatch.setattr(loop, "STOP_GRACE", 1.0)
    w = world(rescan_seconds=1)
    release = held_command(w)
    added = w.add("Acme")

    async def first() -> None:
        async with running(w):
            await until(lambda: "claimed nudge 1" in caplog.text, what="the claim")

    async def second() -> None:
        async with running(w) as daemon:
            await daemon.planner.rescan()
            await until(lambda: settled(daemon), what="the second daemon to settle")
            release.touch()  # too late: the stop ended the held program (its process group)
            await daemon.planner.rescan()
            await until(lambda: settled(daemon), what="the second daemon to settle again")

    caplog.set_level("INFO")
    asyncio.run(first())
    asyncio.run(second())
    assert w.nudges_seen() == []  # and the next daemon did not send it again
    assert statuses_in(w, added) == ["in doubt"]
    shown = w.cli("show", str(added)).stdout
    assert "in doubt" in shown, shown
    assert json.loads(w.cli("show", str(added), "--json").stdout)["nudges"][0][
        "deliveries"][0]["state"] == "in doubt"


def test_a_stop_begins_no_new_send_and_leaves_it_to_the_next_daemon(world, caplog):
    """Found by the chaos bench: two nudges for one channel in one dispatch; SIGTERM while
    the first is sending. Once the first ended, the stopping daemon went on to send the
    second, and a stop that ran out of time cut it between its send and its record: the
    next daemon sent it again. A stop begins no send; what was not begun is the next
    daemon's, at once (its lease ended), and it arrives once."""
    w = world(rescan_seconds=600)
    release = held_command(w)
    first, second = w.add("Acme"), w.add("Globex")
    started = w.folder / "release.started"

    def starts() -> list[int]:
        return [int(line) for line in started.read_text().split()] if started.exists() else []

    async def stopped_while_sending() -> None:
        async with running(w) as daemon:
            await until(lambda: starts(), what="the first send")
            daemon._on_stop()  # as SIGTERM does
            await until(lambda: "stopping" in caplog.text, what="the stop")
            release.touch()  # the first send ends during the stop

    async def next_daemon() -> None:
        async with running(w) as daemon:
            await until(lambda: len(w.nudges_seen()) == 2, what="the second nudge")
            await until(lambda: settled(daemon), what="the daemon to settle")

    caplog.set_level("INFO")
    asyncio.run(stopped_while_sending())
    assert len(starts()) == 1, f"the stopping daemon began another send: {starts()}"
    asyncio.run(next_daemon())
    assert sorted(w.nudges_seen()) == [(first, 1), (second, 1)]
    assert statuses_in(w, first) == ["delivered"] and statuses_in(w, second) == ["delivered"]


# --- item 3: a channel with several destinations ------------------------------------------


def test_apprise_retries_only_the_url_that_failed(world, caplog):
    """Item 3: two Apprise URLs, one failing: each retry goes to the failing one only,
    so the working one receives the nudge once however many retries there are."""
    from support.endpoint import Endpoint

    working, failing = Endpoint(), Endpoint()
    failing.status = 500
    try:
        w = world(command=False)
        urls = w.folder / "apprise.conf"
        urls.write_text(f"json://127.0.0.1:{working.port}/\n"
                        f"json://127.0.0.1:{failing.port}/\n")
        urls.chmod(0o600)
        w.config.write_text(w.config.read_text() + "\n[notify.apprise]\nenabled = true\n"
                            f'config = "{urls}"\n')
        added = w.add("Acme")

        async def scenario() -> None:
            async with running(w) as daemon:
                await until(lambda: len(failing.received) >= 3, what="three attempts")
                failing.status = 200
                await until(lambda: statuses_in(w, added) == ["delivered"],
                            what="the delivery")
                await until(lambda: settled(daemon), what="the daemon to settle")

        caplog.set_level("INFO")
        asyncio.run(scenario())
        assert len(working.received) == 1
        assert len(failing.received) >= 4
    finally:
        working.close()
        failing.close()


# --- item 4: "I sent it" racing the Sent folder -------------------------------------------


def _sent_folder_world(w):
    """An App on `w` with the user's address, an interview with the employer's address,
    and the user's follow-up to it as the Sent folder shows it (headers only)."""
    from datetime import datetime, timedelta

    from followup import config
    from followup.app import App, InterviewInput
    from followup.sources.mailbox.replies import Folder, Message

    w.config.write_text(w.config.read_text() + '\n[me]\naddresses = ["me@example.org"]\n')
    app = App(config.load(w.config))
    at = datetime.now().astimezone() - timedelta(days=2)
    added = app.add(InterviewInput(company="Acme", role="Engineer", email="hr@acme.example",
                                   at=at.isoformat(timespec="seconds"))).interview.id
    message = Message(Folder.SENT, "<f1@example.org>", "me@example.org",
                      datetime.now().astimezone() - timedelta(minutes=1),
                      subject="Thank you", recipients=("hr@acme.example",))
    return app, added, message


def test_i_sent_it_after_the_sent_folder_was_read_records_one_followup(world):
    """Item 4, one order: the mailbox pass decided "a follow-up was sent" (a read), the
    button records follow-up 1, then the pass writes: still one follow-up."""
    from followup.app.mailbox_ledger import MailboxLedger

    app, added, message = _sent_folder_world(world())
    try:
        ledger = MailboxLedger(app)
        findings = ledger.findings([message])
        assert [str(f.kind) for f in findings] == ["followup_sent"]
        assert app.sent_from_nudge(added, 1)  # between the pass's read and its write
        ledger.apply(findings, poke=False)
        assert app.store.get(added).followups_sent == 1
    finally:
        app.store.close()


def test_the_sent_folder_after_i_sent_it_was_read_records_one_followup(world):
    """Item 4, the other order, in two threads: the button read "follow-up 1 is not
    recorded", the mailbox pass records it meanwhile (in another thread, held there
    by a hook in the store), then the button writes: still one follow-up."""
    import threading

    from followup.app.mailbox_ledger import MailboxLedger

    app, added, message = _sent_folder_world(world())
    ledger = MailboxLedger(app)
    findings = ledger.findings([message])
    store, reads = app.store, []
    original_get = store.get

    def get_then_let_the_pass_write(interview_id):  # the hook: the button's read
        record = original_get(interview_id)
        if not reads:
            reads.append(record)
            other = threading.Thread(target=ledger.apply, args=(findings, False))
            other.start()
            other.join(30)
        return record

    store.get = get_then_let_the_pass_write
    try:
        app.sent_from_nudge(added, 1)
        store.get = original_get
        assert reads and app.store.get(added).followups_sent == 1
    finally:
        app.store.close()


# --- item 8: change-log reads applied in the order they were read --------------------------


def test_a_stale_rescan_read_never_overwrites_a_newer_catch_up(world):
    """Item 8: the rescan reads the change log ("heard"); before it applies that, the
    interview is reopened and a catch-up (a NOTIFY, a poke) reads and applies the
    reopen. The stale "heard" must not unplan the reopened interview."""
    import threading
    from datetime import timedelta

    from followup import config
    from followup.app import App

    w = world(rescan_seconds=600, first_after_days=1)
    added = w.add("Acme", ago=timedelta(hours=23))  # its nudge is due in about an hour
    app = App(config.load(w.config))
    armed, started = threading.Event(), threading.Event()

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with running(w) as daemon:
            planner = daemon.planner
            await until(lambda: added in planner.planned, what="the nudge planned")
            look_around = planner.look_around

            async def catch_up() -> None:
                started.set()
                await planner.catch_up()

            def reopened_after_the_read(last: int):  # the rescan's thread
                if armed.is_set():
                    app.heard(added)  # before the rescan's read of the log
                look = look_around(last)
                if armed.is_set():  # the rescan's read of the log is done
                    armed.clear()
                    app.reopen(added)
                    done = asyncio.run_coroutine_threadsafe(catch_up(), loop)
                    lock = getattr(planner, "reading", None)
                    while not (done.done() or (started.is_set() and lock is not None
                                               and lock.locked())):
                        threading.Event().wait(0.01)
                return look

            planner.look_around = reopened_after_the_read
            armed.set()
            await planner.rescan()
            await planner.catch_up()
            await until(lambda: started.is_set() and not armed.is_set(), what="the race")
            await planner.catch_up()
            assert added in planner.planned, "the stale 'heard' unplanned the reopened nudge"

    try:
        asyncio.run(scenario())
    finally:
        app.store.close()


# --- item 9: deliveries no attempt will finish ------------------------------------------------


def test_a_retry_for_a_channel_a_reload_removed_is_not_left_in_flight(world):
    """Item 9: a retry planned for a channel that a reload then disabled fires with the
    new dispatcher: the delivery must not be taken (owned, in flight, renewed) by an
    attempt that will never run; it stays free for a daemon that has the channel."""
    from datetime import datetime, timedelta

    from followup.daemon.work import Retry
    from followup.models import DeliveryStatus
    from followup.store import Store

    w = world(rescan_seconds=600)
    added = w.add("Acme", ago=timedelta(days=30))  # stale: the daemon does not nudge it
    store = Store.open(w.database_url)
    now = datetime.now().astimezone()
    try:
        store.claim_nudge(added, 1, now, ["apprise"], now, "before-the-reload",
                          lambda record: True)
        store.record_delivery(added, 1, "apprise", DeliveryStatus.RETRYING, now, "503", now)
    finally:
        store.close()

    async def scenario() -> None:
        async with running(w) as daemon:
            await daemon.dispatcher.dispatch([], [Retry(added, 1, "apprise")])
            assert daemon.in_flight == set()
            [pending] = await asyncio.to_thread(daemon.store.undelivered)
            assert (pending.owner, pending.attempt) == (None, None)

    asyncio.run(scenario())


@pytest.mark.parametrize(("state", "status"), [
    ("pending", "pending"),
    ("retrying", "failed"),
    ("delivered", "delivered"),
    ("gave up", "failed"),
    ("cancelled", "failed"),
    ("in doubt", "failed"),  # not confirmed: DESIGN's JSON knows only the three
])
def test_show_json_keeps_designs_three_statuses_beside_the_precise_state(state, status):
    from zoneinfo import ZoneInfo

    from followup.models import Delivery, DeliveryStatus
    from followup.present import delivery_json

    shown = delivery_json(Delivery("email", DeliveryStatus(state), 1), ZoneInfo("UTC"))
    assert (shown["status"], shown["state"]) == (status, state)
