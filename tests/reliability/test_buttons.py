"""Notification buttons pressed on a real (private) session bus, twice."""

from __future__ import annotations

import json
import signal
from datetime import datetime

import pytest

from support.daemon import wait_for
from support.dbus import bus_address_fixture, notification_server_fixture  # noqa: F401

pytestmark = pytest.mark.reliability


def test_snooze_pressed_twice_brings_the_nudge_back_once(world, notification_server,
                                                         bus_address, report):
    w = world(command=False)
    w.config.write_text(w.config.read_text().replace("[notify.desktop]\nenabled = false",
                                                     "[notify.desktop]\nenabled = true"))
    added, other = w.add("Acme"), w.add("Beta")
    daemon = w.start(DBUS_SESSION_BUS_ADDRESS=bus_address)
    shown = notification_server.wait_for_shown(2, timeout=60)
    by_company = {s.summary.split()[-1]: s for s in shown}
    wait_for(lambda: daemon.text().count("by desktop") == 2, what="both recorded")

    def show(interview_id: int = added) -> dict:
        return json.loads(w.cli("show", str(interview_id), "--json").stdout)

    notification_server.invoke_action(by_company["Acme"].id, "snooze")
    notification_server.invoke_action(by_company["Acme"].id, "snooze")
    # Signals from one connection arrive in order: once Beta's press is seen, so was
    # Acme's second.
    notification_server.invoke_action(by_company["Beta"].id, "snooze")
    wait_for(lambda: f"recorded 'snooze' for interview {other}" in daemon.text(),
             what="the presses")
    assert daemon.text().count(f"recorded 'snooze' for interview {added} ") == 1
    first = show()["snoozed_until"]
    due = json.loads(w.cli("due", "--json").stdout)
    assert daemon.stop() == 0
    record = show()
    # One snooze; still one nudge; it comes again once, when the snooze ends.
    assert record["snoozed_until"] == first
    assert [n["number"] for n in record["nudges"]] == [1]
    assert sorted((d["interview_id"], d["number"]) for d in due) == [(added, 1), (other, 1)]
    fire_at = datetime.fromisoformat(next(d for d in due if d["interview_id"] == added)
                                     ["fire_at"])
    assert fire_at == datetime.fromisoformat(record["snoozed_until"])
    report(f"snooze pressed twice: nudge 1 comes again once, at {fire_at:%a %H:%M}")


def test_i_sent_it_after_a_reload_to_another_database_is_recorded_there(
        world, notification_server, bus_address, report):
    w = world(command=False)
    w.config.write_text(w.config.read_text().replace("[notify.desktop]\nenabled = false",
                                                     "[notify.desktop]\nenabled = true"))
    daemon = w.start(DBUS_SESSION_BUS_ADDRESS=bus_address)
    daemon.wait_started()
    moved = w.folder / "moved.db"
    w.config.write_text(w.config.read_text().replace(w.database_url, f"sqlite:///{moved}"))
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: "reloaded" in daemon.text(), what="the reload")
    added = w.add("Acme")  # in the new database only
    [shown] = notification_server.wait_for_shown(1, timeout=60)
    wait_for(lambda: "by desktop" in daemon.text(), what="the nudge recorded")
    notification_server.invoke_action(shown.id, "sent")
    wait_for(lambda: f"'sent' for interview {added}" in daemon.text()
             or "could not act" in daemon.text(), what="the press")
    record = json.loads(w.cli("show", str(added), "--json").stdout)
    assert daemon.stop() == 0
    assert "could not act" not in daemon.text()
    # Recorded in the new database, and nudge 1 is done with: the next is nudge 2.
    assert [f["number"] for f in record["followups"]] == [1]
    assert record["next_nudge_number"] == 2
    assert len(notification_server.shown) == 1
    report("\"I sent it\" after SIGHUP to another database: recorded in the new one")
