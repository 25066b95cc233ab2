"""The chaos run, longer than the test suite's (tests/reliability/test_chaos.py).

Several daemons as real subprocesses on one SQLite file and on one PostgreSQL
database, watching a mailbox on Dovecot (IDLE); hundreds of nudges fall due
while the run SIGKILLs, SIGTERMs and SIGHUPs daemons at random, restarts
PostgreSQL and Dovecot (about every 30 s each), makes the SMTP server slow
(answers after --slow seconds) or drop connections, and an Apprise endpoint
fails half the time. Prints, per run and engine, the figures: nudges, kills,
reloads, restarts, repeats and the kill that explains each, lost; with
--details, every repeat copy by copy. Exit status 1 when a run lost a nudge,
repeated one that no kill explains, missed the mailbox reply sent after a
Dovecot restart, or a daemon did not exit cleanly.

    .venv/bin/python bench/chaos.py                       # 2 runs x both engines, 120 s
    .venv/bin/python bench/chaos.py --runs 5 --seconds 60 --nudges 100 --engine sqlite

Everything runs in a private work folder (its own XDG_* folders and HOME) with its
own Dovecot and PostgreSQL, removed at the end (kept when a run failed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reliability"))

from chaos import Figures, private_servers, run

from support.daemon import World
from support.postgres import binaries


def private_environment(root: Path) -> None:
    """XDG folders, HOME and a file keyring of the run's own (never the user's)."""
    home = root / "home"
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME",
                 "XDG_RUNTIME_DIR"):
        folder = home / name.lower()
        folder.mkdir(parents=True, mode=0o700)
        os.environ[name] = str(folder)
    os.environ["HOME"] = str(home)
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = f"unix:path={home}/no-system-bus"
    for name in ("FOLLOWUP_CONFIG", "DBUS_SESSION_BUS_ADDRESS", "NOTIFY_SOCKET",
                 "WATCHDOG_USEC", "JOURNAL_STREAM", "DISPLAY"):
        os.environ.pop(name, None)


def passed(figures: Figures) -> bool:
    """Nothing lost, clean exits, every repeat explained by a kill, the mailbox watch
    back after Dovecot's restart. Deliveries recorded in doubt (a stop while the SMTP
    server took longer than the stop grace) are DESIGN's outcome of such a stop:
    reported (how many, how many arrived all the same), neither lost nor repeats."""
    return (all(not lost for lost in figures.lost.values()) and not figures.bad_exits
            and not figures.unexplained() and figures.reply_applied)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--nudges", type=int, default=200)
    parser.add_argument("--daemons", type=int, default=3)
    parser.add_argument("--slow", type=float, default=10.0,
                        help="seconds the slow SMTP server takes to answer")
    parser.add_argument("--engine", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--details", action="store_true",
                        help="print every repeat, copy by copy, and what explains it")
    args = parser.parse_args(argv)
    engines = args.engine or ["sqlite", "postgresql"]
    if "postgresql" in engines and binaries() is None:
        print("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        return 1
    if shutil.which("dovecot") is None:
        print("Dovecot is not installed (Debian: apt-get install dovecot-imapd)")
        return 1
    root = Path(tempfile.mkdtemp(prefix="followup-chaos-"))
    private_environment(root)
    results: list[tuple[Figures, int, bool]] = []
    try:
        for number in range(args.runs):
            for engine in engines:
                seed = (args.seed if args.seed is not None else int(time.time())) + number
                folder = root / f"run-{number}-{engine}"
                folder.mkdir()
                with private_servers(engine == "postgresql",
                                     Path(os.environ["HOME"])) as (servers, url):
                    figures = run(World(folder, database_url=url), servers,
                                  nudges=args.nudges, daemons=args.daemons,
                                  seconds=args.seconds, seed=seed, slow_seconds=args.slow,
                                  engine=engine)
                ok = passed(figures)
                results.append((figures, seed, ok))
                print(f"[chaos] {'PASS' if ok else 'FAIL'} {figures.line()} (seed {seed})",
                      flush=True)
                if args.details or not ok:
                    print(figures.details(), flush=True)
    finally:
        if all(ok for _, _, ok in results):
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"the failed runs' folders (daemon logs, what the command received) are "
                  f"kept in {root}")
    good = sum(ok for _, _, ok in results)
    print(f"\n{good} of {len(results)} chaos runs passed")
    return 0 if good == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
