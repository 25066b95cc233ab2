"""Ten processes writing through the command line at once, while the daemon claims
and records nudges in the same database: no "database is locked" reaches a user,
every command exits 0, and every write is there afterwards."""

from __future__ import annotations

import json
import multiprocessing
import re
import time

import contention_worker
import pytest
from faults import query

from support.daemon import wait_for

pytestmark = pytest.mark.reliability

WORKERS = 10


def test_ten_writers_and_a_daemon_never_see_a_locked_database(world, report):
    w = world()
    # A command that costs almost nothing, so that the daemon's claims and records
    # keep pace with the writers and the database sees all three kinds of writer. Each
    # nudge goes to a file of its own: commands appending to one file at once can mix
    # their writes (the JSON reaches `cat` in pieces), which once merged two lines.
    text = w.config.read_text()
    argv = re.search(r"^argv = .*$", text, re.MULTILINE).group(0)
    received = w.delivered_file.parent / "received"
    received.mkdir()
    w.config.write_text(text.replace(
        argv, f'argv = ["/bin/sh", "-c", "cat > $(mktemp -p {received} nudge.XXXXXX)"]'))
    daemon = w.start()
    daemon.wait_started()

    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    with context.Pool(WORKERS) as pool:
        outcomes = pool.starmap(contention_worker.run,
                                [(str(w.config), n) for n in range(WORKERS)], chunksize=1)
    seconds = time.monotonic() - started

    calls = [call for outcome in outcomes for call in outcome]
    failed = [(argv[2:], code, err.strip()) for argv, code, err in calls if code != 0]
    locked = [call for call in calls if "locked" in call[2]]
    interviews, followups, snoozed = query(
        w, "SELECT (SELECT count(*) FROM interviews), (SELECT count(*) FROM followups), "
           "(SELECT count(*) FROM interviews WHERE snoozed_until IS NOT NULL)")[0]
    # The daemon catches up with the nudges falling due (those not snoozed first).
    wait_for(lambda: query(w, "SELECT count(*) FROM deliveries WHERE status != 'delivered'")
             == [(0,)], timeout=60, what="the daemon to deliver what fell due")
    assert daemon.stop() == 0
    nudges = query(w, "SELECT count(*) FROM nudges")[0][0]
    report(f"contention: {WORKERS} processes x {len(calls) // WORKERS} writes in "
           f"{seconds:.1f} s with a daemon delivering {nudges} nudges: {len(failed)} "
           f"failed, {len(locked)} 'database is locked'")
    assert failed == []
    assert len(calls) == WORKERS * 100
    adds = contention_worker.ADDS
    assert (interviews, followups, snoozed) == (WORKERS * adds, WORKERS * (adds - 10),
                                                WORKERS * (adds - 10))
    delivered = [json.loads(path.read_text()) for path in received.iterdir()]
    assert len(delivered) == nudges
    assert len({(d["interview_id"], d["number"]) for d in delivered}) == nudges  # each once
    log = daemon.text()
    assert "locked" not in log and "Traceback" not in log and "ERROR" not in log
