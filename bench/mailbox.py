"""The mailbox watch's figures, against a private Dovecot (as the tests start it).

    .venv/bin/python bench/mailbox.py                 # about 5 minutes
    .venv/bin/python bench/mailbox.py --idle-seconds 60

1. First scan of 10,000 messages: `followup mailbox scan --json` as a process
   on a 1,000-interview database, the messages (dated over the lookback) put
   straight into the server's maildir; wall time and the process's peak RSS
   (`wait4`). Budget: <= 60 s, <= 150 MB.
2. Idle cost with the watch on: the daemon on that database, IDLE on INBOX and
   Sent; CPU seconds per hour and voluntary context switches per minute (all
   threads) over the idle window, as bench/run.py measures them. The window
   opens 70 s after the watch started, past the daemon's first rescan (which
   looks again after the watch's own start-up writes: start-up, not idle).
   Budget: <= 1 CPU-s/h, <= 10 wakeups/min.
3. Reply -> heard: 20 times, a reply is APPENDed to INBOX and the database is
   polled (every 10 ms) until its interview is heard; p50 and p99.
   Budget: p99 <= 5 s (aim: <= 1 s).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import dataset  # noqa: E402
import probe  # noqa: E402
from report import Figure, print_table  # noqa: E402
from run import config_text  # noqa: E402

from support.imap import PASSWORD, USER, Dovecot, mailbox_section, message  # noqa: E402

MESSAGES = 10_000
INTERVIEWS = 1_000
REPLIES = 20


def fill_maildir(server: Dovecot, count: int, now: datetime) -> None:
    """`count` messages in INBOX, written as maildir files (APPEND of 10,000 takes
    minutes); their times (INTERNALDATE) spread over the last 50 days. A few are
    from the interviews' own addresses, the rest from elsewhere."""
    server.append("INBOX", message("hello@start.example", USER, "hello", now))  # makes the maildir
    cur = next(server.root.glob("home/*/Maildir/cur"))
    for n in range(count):
        date = now - timedelta(minutes=7 * n + 1)
        sender = f"alex{n % INTERVIEWS + 1}@example.com" if n % 200 == 0 \
            else f"news{n % 97}@shop{n % 13}.example"
        raw = message(sender, USER, f"Newsletter {n}: offers of the week", date,
                      body="x" * 2000)
        path = cur / f"{int(date.timestamp())}.bench{n}.host:2,S"
        path.write_bytes(raw)
        stamp = date.timestamp()
        os.utime(path, (stamp, stamp))


def first_scan(work: probe.Workspace, config: Path) -> tuple[float, float, str]:
    """Wall time and peak RSS (MB) of `followup mailbox scan --json`, and a note."""
    out, err = work.root / "scan.json", work.root / "scan.err"
    started = time.perf_counter()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen([probe.FOLLOWUP, "--config", str(config), "mailbox",
                                    "scan", "--json"], stdout=stdout, stderr=stderr,
                                   env=work.env)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"mailbox scan failed: {err.read_text()}")
    findings = out.read_text().count('"kind"')
    return wall, usage.ru_maxrss / 1024, f"{findings} findings"


def add_bench_interviews(database: Path, now: datetime) -> list[int]:
    from followup.models import Interview
    from followup.store import Store

    store = Store.open(f"sqlite:///{database}")
    ids = [store.add_interview(Interview(0, f"Bench{n} Ltd", "Engineer",
                                         now - timedelta(hours=1),
                                         email=f"dana@bench{n}.example"), now).id
           for n in range(REPLIES)]
    store.close()
    return ids


def heard(database: Path, interview_id: int) -> bool:
    with sqlite3.connect(database, timeout=10) as conn:
        row = conn.execute("SELECT status FROM interviews WHERE id = ?",
                           (interview_id,)).fetchone()
    return row is not None and row[0] == "heard"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=120)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="followup-bench-mailbox-"))
    work = probe.Workspace(root)
    work.env["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    server = Dovecot()
    figures: list[Figure] = []
    daemon = None
    try:
        server.start()
        probe.store_password(work.env, USER, PASSWORD, "mailbox")
        now = datetime.now(UTC)
        database, config = root / "db.sqlite", root / "config.toml"
        text = (config_text(f"sqlite:///{database}", work.recorder, root / "delivered.txt")
                + mailbox_section(server.port) + "lookback_days = 60\n")
        config.write_text(text)
        dataset.generate(database, INTERVIEWS, dataset.settings_for(text), now)
        ids = add_bench_interviews(database, now)
        print(f"filling INBOX with {MESSAGES:,} messages", flush=True)
        fill_maildir(server, MESSAGES, now)

        wall, rss, note = first_scan(work, config)
        figures.append(Figure("first scan of 10,000 messages: wall time", INTERVIEWS, wall,
                              "s", 60, note=note))
        figures.append(Figure("first scan of 10,000 messages: peak RSS", INTERVIEWS, rss,
                              "MB", 150))

        daemon = probe.Daemon(work, config, "mailbox")
        probe.wait_for(lambda: daemon.poll_started() and "mailbox: watching" in daemon.log(),
                       120, "the daemon and its mailbox watch")
        # Settle: the daemon's first rescan (60 s) looks again after the watch's own
        # start-up writes (its state, the folders' places); that is start-up, not idle.
        time.sleep(70)
        first = probe.sample(daemon.pid)
        print(f"idle window: {args.idle_seconds:.0f} s", flush=True)
        time.sleep(args.idle_seconds)
        last = probe.sample(daemon.pid)
        span = last.at - first.at
        figures.append(Figure("idle CPU with the mailbox watch on (IDLE)", INTERVIEWS,
                              (last.cpu - first.cpu) / span * 3600, "s/h", 1.0,
                              note=f"over {span:.0f} s; resolution "
                                   f"{3600 / probe.TICK / span:.2f} s/h"))
        figures.append(Figure("idle wakeups with the mailbox watch on", INTERVIEWS,
                              (last.voluntary - first.voluntary) / span * 60, "/min", 10,
                              note=f"{last.threads} threads"))

        lags = []
        for n, interview_id in enumerate(ids):
            reply = message(f"Dana <dana@bench{n}.example>", USER, "Re: Thank you",
                            datetime.now(UTC))
            started = time.perf_counter()
            server.append("INBOX", reply)
            probe.wait_for(lambda i=interview_id: heard(database, i), 60, "the reply",
                           every=0.01)
            lags.append(time.perf_counter() - started)
        figures.append(Figure("reply appended -> interview heard, p50", REPLIES,
                              probe.percentile(lags, 50), "s", 1.0))
        figures.append(Figure("reply appended -> interview heard, p99", REPLIES,
                              probe.percentile(lags, 99), "s", 5.0,
                              note=f"max {max(lags):.2f} s, IDLE"))
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
