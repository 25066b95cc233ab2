"""Nudge fire -> draft in Drafts, against a private Dovecot (as the tests start it).

    .venv/bin/python bench/drafts.py               # about a minute
    .venv/bin/python bench/drafts.py --count 200

The daemon runs with `[mailbox] drafts = true` and the command channel. Before it
starts, `--count` interviews are added whose first nudge falls due one after the
other, `--gap` seconds apart (first_after_days = 0, hours always open: each
nudge's fire time is its interview's time). For each, the lag is the time the
draft was recorded in the database, just after the server confirmed its APPEND
(mail_drafts.made_at), minus the nudge's planned fire time; also the part of it
after the claim (nudges.fired_at). p50 and p99. Budget: p99 <= 2 s.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import probe  # noqa: E402
from report import Figure, print_table  # noqa: E402
from run import config_text  # noqa: E402

from support.imap import PASSWORD, USER, Dovecot, mailbox_section  # noqa: E402

LEAD = timedelta(seconds=15)  # the daemon is up well before the first nudge


def add_interviews(database: Path, count: int, first: datetime, gap: float) -> None:
    from followup.models import Interview
    from followup.store import Store

    store = Store.open(f"sqlite:///{database}")
    now = datetime.now(UTC)
    for n in range(count):
        store.add_interview(Interview(0, f"Bench{n} Ltd", "Engineer",
                                      first + timedelta(seconds=gap * n),
                                      interviewer="Dana Smith",
                                      email=f"dana@bench{n}.example"), now)
    store.close()


def lags(database: Path) -> tuple[list[float], list[float]]:
    """(planned fire -> draft recorded, claimed -> draft recorded), in seconds."""
    def moment(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    with sqlite3.connect(database, timeout=10) as conn:
        rows = conn.execute(
            "SELECT i.interview_at, n.fired_at, d.made_at FROM mail_drafts d "
            "JOIN interviews i ON i.id = d.interview_id "
            "JOIN nudges n ON n.interview_id = d.interview_id AND n.number = d.number"
        ).fetchall()
    fire = [(moment(made) - moment(planned)).total_seconds() for planned, _, made in rows]
    claim = [(moment(made) - moment(fired)).total_seconds() for _, fired, made in rows]
    return fire, claim


def drafts_made(database: Path) -> int:
    with sqlite3.connect(database, timeout=10) as conn:
        return conn.execute("SELECT count(*) FROM mail_drafts").fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.5)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="followup-bench-drafts-"))
    work = probe.Workspace(root)
    work.env["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    server = Dovecot()
    figures: list[Figure] = []
    daemon = None
    try:
        server.start()
        probe.store_password(work.env, USER, PASSWORD, "mailbox")
        database, config = root / "db.sqlite", root / "config.toml"
        config.write_text(config_text(f"sqlite:///{database}", work.recorder,
                                      root / "delivered.txt", always_open=True)
                          + mailbox_section(server.port).replace("enabled = true",
                                                                 "enabled = false")
                          + "drafts = true\n")
        add_interviews(database, args.count, datetime.now(UTC) + LEAD, args.gap)
        daemon = probe.Daemon(work, config, "drafts")
        probe.wait_for(daemon.poll_started, 60, "the daemon")
        span = LEAD.total_seconds() + args.gap * args.count + 60
        probe.wait_for(lambda: drafts_made(database) >= args.count, span, "every draft")
        fire, claim = lags(database)
        note = f"{args.count} nudges {args.gap} s apart, max {max(fire):.2f} s"
        figures += [
            Figure("nudge fire -> draft in Drafts, p50", args.count,
                   probe.percentile(fire, 50), "s", None),
            Figure("nudge fire -> draft in Drafts, p99", args.count,
                   probe.percentile(fire, 99), "s", 2.0, note=note),
            Figure("nudge claimed -> draft in Drafts, p99", args.count,
                   probe.percentile(claim, 99), "s", None),
        ]
    finally:
        if daemon is not None:
            daemon.stop()
        server.cleanup()
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    print_table(figures)
    return 1 if any(f.met is False for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
