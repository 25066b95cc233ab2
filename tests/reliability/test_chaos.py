"""The chaos run, short (see chaos.py; bench/chaos.py runs it longer): three daemons on
one SQLite file and on one PostgreSQL database, watching a mailbox on Dovecot, killed,
stopped and reloaded at random while nudges fall due; PostgreSQL and Dovecot restart,
the SMTP server is slow or drops connections, the Apprise endpoint fails half the
time. Every nudge reaches every channel, and every repeat is traced to a SIGKILL that
fell between that copy's send and its record (DESIGN "Exactly once"). A delivery a
stop recorded "in doubt" (the slow server outlasted the stop grace) is DESIGN's
honest outcome: counted apart, neither lost nor repeated."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from chaos import CHANNELS, private_servers, run

from support.postgres import binaries

pytestmark = pytest.mark.reliability

NUDGES = 30
SECONDS = 15


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_chaos_loses_nothing_and_repeats_only_what_a_kill_interrupted(engine, world, report):
    if shutil.which("dovecot") is None:
        pytest.skip("dovecot is not installed (Debian: dovecot-imapd)")
    if engine == "postgresql" and binaries() is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    seed = int(os.environ.get("RELIABILITY_SEED") or time.time())
    with private_servers(engine == "postgresql", Path(os.environ["HOME"])) as (servers, url):
        w = world(database_url=url)
        figures = run(w, servers, nudges=NUDGES, daemons=3, seconds=SECONDS, seed=seed,
                      engine=engine)
    report(figures.line() + f" (seed {seed})")
    assert figures.unexplained() == [], figures.details()
    assert figures.lost == {channel: [] for channel in CHANNELS}
    assert figures.bad_exits == []
    assert figures.reply_applied
