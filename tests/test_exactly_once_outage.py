"""DESIGN "Exactly once" when the database goes away between a channel's send and its
record (found by the chaos run: a PostgreSQL restart). The send happened; the record
must still be written once the database is back, not dropped with the attempt, or a
later attempt sends the nudge again. The outage is an explicit hook in the test (a
store whose first records fail as the real store fails while the server is down).

The daemon runs in the test's own event loop (support.inprocess) on the real store
and the real command channel; each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio

import pytest

from support.attempts import held_command, statuses_in
from support.inprocess import running, until


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, world):
    if request.param == "sqlite":
        return world
    make_url = request.getfixturevalue("postgres_url")
    return lambda **options: world(database_url=make_url(), **options)


def test_a_record_the_database_refused_after_the_send_is_written_once_it_is_back(world):
    from followup.errors import UserError
    from followup.store import Store

    w = world(rescan_seconds=1)
    added = w.add("Acme")
    refused = []

    class AwayAtTheRecord(Store):
        def record_delivery(self, *args, **kwargs):
            if len(refused) < 2:  # the server is restarting: twice, as the store says it
                refused.append(args[:3])
                raise UserError("database error: server closed the connection unexpectedly")
            return super().record_delivery(*args, **kwargs)

    async def scenario() -> None:
        store = AwayAtTheRecord(Store.open(w.database_url).engine)
        async with running(w, store=store) as daemon:
            await until(lambda: len(refused) == 2 and w.nudges_seen(), what="the outage")
            await until(lambda: statuses_in(w, added) == ["delivered"], what="the record")
            await daemon.planner.rescan()  # whatever a rescan finds, nothing is due again
            await until(lambda: not daemon.handover.tasks and not any(
                job.id.startswith("retry-") for job in daemon.scheduler.get_jobs()),
                what="the daemon to settle")

    asyncio.run(scenario())
    assert w.nudges_seen() == [(added, 1)]


def test_a_reload_while_the_database_is_away_does_not_end_the_daemon(world):
    """SIGHUP while PostgreSQL restarts (found by the chaos run): the reload's own
    database steps (registering the daemon, the full scan) failed, the daemon exited,
    and the attempts it had sent but not yet recorded were sent again by another."""
    from followup.errors import UserError
    from followup.store import Store

    w = world(rescan_seconds=1)
    away = []

    class Restarting(Store):
        def _away(self):
            if away:
                raise UserError("database error: connection refused")

        def register_daemon(self, *args, **kwargs):
            self._away()
            return super().register_daemon(*args, **kwargs)

        def newest_change(self, *args, **kwargs):
            self._away()
            return super().newest_change(*args, **kwargs)

    async def scenario() -> None:
        store = Restarting(Store.open(w.database_url).engine)
        async with running(w, store=store) as daemon:
            await until(lambda: daemon.resume_watch is not None, what="the start's end")
            away.append(True)
            await daemon.reload()  # the server is restarting
            away.clear()
            added = await asyncio.to_thread(w.add, "Acme")
            await until(lambda: w.nudges_seen() == [(added, 1)], what="the next nudge")

    asyncio.run(scenario())



def test_a_database_error_in_one_channel_leaves_the_others_attempts_in_the_dispatch(world):
    """The database refused Apprise's read before its send (a PostgreSQL restart, found
    by the chaos run): the error ended the whole dispatch while the command channel
    was still sending, so its attempt was no longer waited for at a stop, nor its lease
    renewed. The other channels' attempts stay in the dispatch until they end."""

    from followup.errors import UserError
    from followup.store import Store
    from support.endpoint import Endpoint

    endpoint = Endpoint()
    w = world(rescan_seconds=600)
    urls = w.folder / "apprise.conf"
    urls.write_text(f"json://127.0.0.1:{endpoint.port}/\n")
    release = held_command(w)
    w.config.write_text(w.config.read_text()
                        + f'[notify.apprise]\nenabled = true\nconfig = "{urls}"\n')
    refused = []

    class AwayForApprise(Store):
        def reached(self, *args, **kwargs):
            if not refused:
                refused.append(args)
                raise UserError("database error: server closed the connection unexpectedly")
            return super().reached(*args, **kwargs)

    async def scenario() -> None:
        store = AwayForApprise(Store.open(w.database_url).engine)
        added = await asyncio.to_thread(w.add, "Acme")
        async with running(w, store=store) as daemon:
            await until(lambda: refused and (w.folder / "release.started").exists(),
                        what="Apprise refused while the command sends")
            assert daemon.handover.tasks, "the dispatch ended while the command was sending"
            release.touch()
            # Apprise's retry may be delivered by then too: only the command's is awaited.
            await until(lambda: statuses_in(w, added, "command") == ["delivered"],
                        what="the command's record")

    try:
        asyncio.run(scenario())
    finally:
        endpoint.close()
    assert len(w.nudges_seen()) == 1


def test_a_stop_past_its_grace_while_the_database_is_away_still_records_in_doubt(
        world, monkeypatch, caplog):
    """SIGTERM with a channel still sending, and the stop grace ends as PostgreSQL
    restarts (found by the chaos bench): the "in doubt" record was refused and given up,
    the attempt's lease lapsed, and another daemon sent the nudge again. The record is
    tried again until the database is back (within the stop's bound)."""

    from followup.daemon import loop
    from followup.errors import UserError
    from followup.models import DeliveryStatus
    from followup.store import Store

    monkeypatch.setattr(loop, "STOP_GRACE", 1.0)
    w = world(rescan_seconds=600)
    held_command(w)
    refused = []

    class AwayAtTheStop(Store):
        def record_delivery(self, interview_id, number, channel, status, *args, **kwargs):
            if status is DeliveryStatus.IN_DOUBT and len(refused) < 2:  # restarting
                refused.append(interview_id)
                raise UserError("database error: terminating connection due to "
                                "administrator command")
            return super().record_delivery(interview_id, number, channel, status, *args,
                                           **kwargs)

    async def scenario() -> None:
        store = AwayAtTheStop(Store.open(w.database_url).engine)
        async with running(w, store=store):
            await until(lambda: (w.folder / "release.started").exists(), what="the send")

    caplog.set_level("INFO")
    added = w.add("Acme")
    asyncio.run(scenario())
    assert len(refused) == 2
    assert statuses_in(w, added) == ["in doubt"]
