"""Notification buttons against the real daemon on a private bus (issue 10, item 7):
"I sent it" pressed on nudge 1 after `followup sent` records nothing more."""

from __future__ import annotations

import json

from support.daemon import wait_for
from support.dbus import bus_address_fixture, notification_server_fixture  # noqa: F401


def test_i_sent_it_after_followup_sent_changes_nothing(world, notification_server,
                                                       bus_address):
    w = world(command=False)
    w.config.write_text(w.config.read_text().replace("[notify.desktop]\nenabled = false",
                                                     "[notify.desktop]\nenabled = true"))
    acme = w.add("Acme")
    daemon = w.start(DBUS_SESSION_BUS_ADDRESS=bus_address)
    [shown] = notification_server.wait_for_shown(1, timeout=30)
    wait_for(lambda: "by desktop" in daemon.text(), what="the delivery recorded")
    w.cli("sent", str(acme))  # the user recorded it by hand first
    notification_server.invoke_action(shown.id, "sent")  # then pressed the button
    wait_for(lambda: "already recorded" in daemon.text(), what="the button handled")

    shown_doc = json.loads(w.cli("show", str(acme), "--json").stdout)
    assert shown_doc["followups_sent"] == 1
    assert daemon.stop() == 0
