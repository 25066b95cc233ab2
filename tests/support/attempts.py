"""What the exactly-once tests share: a command channel held until the test lets it
go (a channel that takes its time, then delivers), the states of an interview's
deliveries read from the database, and "the daemon has settled"."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HELD = """\
import json, os, sys, time
data = json.loads(sys.stdin.read())
with open(sys.argv[2] + ".started", "a") as started:
    started.write(str(data["interview_id"]) + "\\n")
deadline = time.monotonic() + 120
while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.05)
with open(sys.argv[1], "a") as out:
    out.write(json.dumps(data) + "\\n")
"""


def held_command(w) -> Path:
    """Make the world's command channel wait, once started (it adds a line, the
    interview's ID, to `release` + ".started"), until the test creates the returned path;
    then it delivers."""
    script, release = w.folder / "held.py", w.folder / "release"
    script.write_text(HELD)
    argv = json.dumps([sys.executable, str(script), str(w.delivered_file), str(release)])
    text = w.config.read_text()
    start = text.index("argv = ")
    w.config.write_text(text[:start] + f"argv = {argv}" + text[text.index("\n", start):])
    return release


def statuses_in(w, interview_id: int, channel: str | None = None) -> list[str]:
    """The states of an interview's deliveries (by one `channel`, or all by channel),
    read from the database directly."""
    import sqlalchemy as sa

    from followup.store import Store
    from followup.store.tables import deliveries, nudges

    store = Store.open(w.database_url)
    try:
        with store.engine.connect() as conn:
            return list(conn.execute(sa.select(deliveries.c.status)
                                     .join(nudges, deliveries.c.nudge_id == nudges.c.id)
                                     .where(nudges.c.interview_id == interview_id)
                                     .where(sa.true() if channel is None
                                            else deliveries.c.channel == channel)
                                     .order_by(deliveries.c.channel)).scalars())
    finally:
        store.close()


def settled(daemon) -> bool:
    """Nothing more will happen without a new change: no retry planned, no dispatch."""
    return (not any(job.id.startswith("retry-") for job in daemon.scheduler.get_jobs())
            and not daemon.handover.tasks and not daemon.handover.batch[1])
