"""kill -9 at random moments while nudges are being delivered: nothing is lost, and a
nudge reaches the channel twice only when a kill falls between the channel accepting
it and the daemon recording that (at most once per kill)."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from datetime import timedelta

import pytest
from faults import add_interviews, delivered

from support.daemon import wait_for

pytestmark = pytest.mark.reliability

ROUNDS = 20
NUDGES = 50

# The command channel's recorder, slowed down (20-50 ms a nudge) so that kills land
# in the middle of deliveries, not only between them.
SLOW_RECORDER = """\
import json, random, sys, time
data = json.loads(sys.stdin.read())
time.sleep(random.uniform(0.02, 0.05))
with open(sys.argv[1], "a") as out:
    out.write(json.dumps(data) + "\\n")
"""


def test_kill_9_during_deliveries_loses_nothing(world, report):
    seed = int(os.environ.get("RELIABILITY_SEED") or time.time())
    rng = random.Random(seed)
    w = world()
    (w.folder / "recorder.py").write_text(SLOW_RECORDER)
    # Falling due over the first 15 s of the rounds, so that kills keep landing while
    # deliveries are under way, not only in the first rounds.
    ids = add_interviews(w, NUDGES, ago=timedelta(0), spread=timedelta(seconds=15))
    wanted = {(i, 1) for i in ids}

    seen_per_round = []
    for _ in range(ROUNDS):
        daemon = w.start()
        time.sleep(rng.uniform(0.1, 1.5))  # the fault's random moment, not a wait
        daemon.process.kill()
        daemon.process.wait(10)
        daemon.log.close()
        seen_per_round.append(len(w.delivered()))
    last = w.start()
    last.wait_started()
    wait_for(lambda: wanted <= set(w.nudges_seen()), timeout=120, what="every nudge")
    wait_for(lambda: wanted <= delivered(w, "command").keys(), timeout=30,
             what="every delivery recorded")
    assert last.stop() == 0

    counts = Counter(w.nudges_seen())
    lost = len(wanted - counts.keys())
    duplicated = sum(n - 1 for n in counts.values())
    mid = sum(1 for before, after in zip([0, *seen_per_round], seen_per_round, strict=False)
              if before < after and len(set(w.nudges_seen()[:after])) < NUDGES)
    report(f"kill -9: {ROUNDS} rounds, {NUDGES} nudges, lost {lost}, duplicated "
           f"{duplicated} (seed {seed}; {mid} kills while deliveries were under way; "
           f"recorded after each round: {seen_per_round})")
    assert lost == 0
    assert set(counts) == wanted  # nothing else was delivered (no nudge 2: a week away)
    assert duplicated <= ROUNDS
