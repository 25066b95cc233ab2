"""The chaos run, short (see chaos.py; bench/chaos.py runs it longer): three daemons on
one SQLite file and on one PostgreSQL database, killed, stopped and reloaded at
random while nudges fall due, the SMTP server slow or dropping connections and the
Apprise endpoint failing half the time. Every nudge reaches every channel; a repeat
only where a SIGKILL fell between a channel's send and its record (at most one per
kill and channel)."""

from __future__ import annotations

import os
import time

import pytest
from chaos import CHANNELS, run

pytestmark = pytest.mark.reliability

NUDGES = 30
SECONDS = 15


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_chaos_loses_nothing_and_repeats_only_what_a_kill_interrupted(engine, world,
                                                                       request, report):
    seed = int(os.environ.get("RELIABILITY_SEED") or time.time())
    url = request.getfixturevalue("postgres_url")() if engine == "postgresql" else None
    w = world(database_url=url)
    figures = run(w, nudges=NUDGES, daemons=3, seconds=SECONDS, seed=seed, engine=engine)
    report(figures.line() + f" (seed {seed})")
    assert figures.lost == {channel: [] for channel in CHANNELS}
    assert figures.bad_exits == []
    assert figures.in_doubt == 0
    for channel in CHANNELS:
        assert len(figures.repeats[channel]) <= figures.kills, (channel, figures.repeats)
