"""After an interview's last nudge, nothing more is due and the daemon goes quiet.

The case: the user sent follow-up 1 on their own, before nudge 1, so the daemon
delivers nudge 2 (the last, with max_followups = 2). The rules must count by
the highest number fired, not how many: counted, nudge 2 would stay due for
ever, claimed again at every rescan (and refused by the unique constraint).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from support.daemon import wait_for

pytestmark = pytest.mark.reliability


def test_after_the_last_nudge_nothing_is_due(world):
    w = world(first_after_days=30)  # nudge 1 is weeks away: follow-up 1 comes first
    added = w.add("Acme", ago=timedelta(days=10))
    sent_at = (datetime.now().astimezone() - timedelta(days=8)).isoformat(timespec="seconds")
    w.cli("sent", str(added), "--at", sent_at)  # so nudge 2 opened a day ago
    daemon = w.start()
    wait_for(lambda: w.nudges_seen() == [(added, 2)], what="nudge 2")
    wait_for(lambda: '"status": "delivered"' in w.cli("show", str(added), "--json").stdout,
             what="nudge 2 recorded")
    shown = json.loads(w.cli("show", str(added), "--json").stdout)
    assert daemon.stop() == 0
    assert w.nudges_seen() == [(added, 2)]
    assert (shown["next_nudge_number"], shown["next_nudge_at"]) == (None, None)
