"""Several machines on one PostgreSQL database, measured beside SQLite.

    .venv/bin/python bench/postgres.py            # about 8 minutes
    .venv/bin/python bench/postgres.py --quick    # about 4 minutes

Starts its own PostgreSQL server (Debian's, as the tests do: tests/support/
postgres.py) and prints:

- cross-machine pickup: `add` run with one runtime folder, the daemon with
  another (no local poke can help, only NOTIFY), p50/p99 over 20 changes from
  the CLI's exit to the nudge on the command channel's stdin;
- the daemon CPU spent on one CLI change at 100k interviews, SQLite and
  PostgreSQL (the incremental pickup; a full rescan was about 2 s);
- the idle daemon at 100k interviews on both engines: CPU per hour, wakeups
  per minute, resident memory;
- `followup due` at 100k interviews on both engines.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import dataset
import probe
from report import Figure, print_table
from run import compile_followup, config_text, floor_seconds

from support.postgres import PostgresServer, binaries, write_pgpass

SIZE = 100_000
# The stack's floor on PostgreSQL, reported beside the budget's (bench/run.py FLOOR):
# psycopg and SQLAlchemy's dialect for it, which every command on PostgreSQL imports.
DRIVER_FLOOR = "sqlalchemy, click, psycopg, sqlalchemy.dialects.postgresql.psycopg"
TABLES = ("interviews", "followups", "nudges", "deliveries")


def copy_to_postgresql(source: Path, url: str) -> None:
    """The SQLite benchmark database's rows, copied into a PostgreSQL database."""
    import psycopg

    from followup.store import Store
    from followup.store.engine import connection_arguments

    Store.open(url).close()  # the schema, by the migrations
    conninfo, _ = connection_arguments(url)
    with sqlite3.connect(source) as lite, psycopg.connect(conninfo) as pg:
        for table in TABLES:
            cursor = lite.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cursor.description]
            with pg.cursor() as out, out.copy(
                    f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in cursor:
                    copy.write_row(row)
            pg.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                       f"(SELECT max(id) FROM {table}))")
        pg.execute("ANALYZE")


class Bench:
    def __init__(self, args: argparse.Namespace, root: Path, server: PostgresServer) -> None:
        self.args = args
        self.root = root
        self.server = server
        self.work = probe.Workspace(root)
        home = root / "home"
        home.mkdir()
        write_pgpass(home, server)
        self.work.env["HOME"] = str(home)
        self.figures: list[Figure] = []
        self.configs: dict[str, Path] = {}

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def add(self, *args, **kwargs) -> None:
        self.figures.append(Figure(*args, **kwargs))

    def other_machine(self) -> dict:
        """The CLI's environment on "another machine": a runtime folder of its own."""
        env = dict(self.work.env)
        runtime = self.root / "other-runtime"
        runtime.mkdir(mode=0o700, exist_ok=True)
        env["XDG_RUNTIME_DIR"] = str(runtime)
        return env

    # --- the databases -------------------------------------------------------------------

    def make_databases(self) -> None:
        lite = self.root / "db-100k.sqlite"
        text = config_text(f"sqlite:///{lite}", self.work.recorder, self.root / "out-sqlite")
        made = dataset.generate(lite, SIZE, dataset.settings_for(text), datetime.now(UTC))
        self.say(f"generated {SIZE:,} interviews in {made.seconds:.0f} s")
        pg_url = self.server.url(self.server.create_database())
        started = time.monotonic()
        os.environ["HOME"] = self.work.env["HOME"]  # .pgpass, for this process too
        copy_to_postgresql(lite, pg_url)
        self.say(f"copied them into PostgreSQL in {time.monotonic() - started:.0f} s")
        for engine, url in (("sqlite", f"sqlite:///{lite}"), ("postgresql", pg_url)):
            config = self.root / f"config-{engine}.toml"
            config.write_text(config_text(url, self.work.recorder, self.root / f"out-{engine}"))
            self.configs[engine] = config

    # --- the command line ----------------------------------------------------------------

    def due(self) -> None:
        repeats = 3 if self.args.quick else 5
        floor = floor_seconds(self.work.env, repeats)
        self.add("floor: python -c \"import sqlalchemy, click\" (median)", None, floor, "s")
        for engine, config in self.configs.items():
            wall, _ = self.work.cli("--config", str(config), "due")  # computes the plan
            self.add(f"first command on a new database (plan computed), {engine}", SIZE,
                     wall, "s")
            self.work.cli("--config", str(config), "due")  # warm the caches; not counted
            walls, floors, drivers = [], [], []
            for _ in range(repeats):  # side by side with the floor (see run.cli_times)
                floors.append(floor_seconds(self.work.env, 1, warm=False))
                if engine == "postgresql":  # and with the driver, which the floor lacks
                    drivers.append(floor_seconds(self.work.env, 1, False, DRIVER_FLOOR))
                walls.append(self.work.cli("--config", str(config), "due")[0])
            here, wall = probe.median(floors), probe.median(walls)
            note = f"floor + {wall - here:.3f} s (its floor, side by side: {here:.3f} s)"
            if drivers:
                driver = probe.median(drivers)
                note += (f"; the floor with the driver ({driver:.3f} s, {driver - here:+.3f} "
                         f"s) + {wall - driver:.3f} s")
            self.add(f"followup due wall time, {engine} (median of {repeats})", SIZE,
                     wall, "s", here + 0.4, note=note)

    # --- the daemons at 100k ----------------------------------------------------------------

    def daemons(self) -> None:
        running = {engine: probe.Daemon(self.work, config, f"100k-{engine}")
                   for engine, config in self.configs.items()}
        try:
            probe.wait_for(lambda: all(d.poll_started() for d in running.values()), 600,
                           "the daemons to start", every=0.1)
            time.sleep(5)  # settle: the first rescan's threads, lazy imports
            rates = self.idle(running)
            for engine, daemon in running.items():
                self.change_cost(engine, daemon, rates[engine])
        finally:
            for daemon in running.values():
                daemon.stop()

    def idle(self, running: dict) -> dict[str, float]:
        """The idle figures; returns each daemon's idle CPU seconds per second."""
        window = 65 if self.args.quick else 185  # at least one rescan (60 s) inside
        first = {engine: probe.sample(d.pid) for engine, d in running.items()}
        self.say(f"idle window: {window} s, both daemons side by side")
        time.sleep(window)
        rates = {}
        for engine, daemon in running.items():
            last = probe.sample(daemon.pid)
            span = last.at - first[engine].at
            rates[engine] = (last.cpu - first[engine].cpu) / span
            self.add(f"idle CPU, {engine}", SIZE, (last.cpu - first[engine].cpu) / span * 3600,
                     "s/h", 5.0, note=f"over {span:.0f} s")
            self.add(f"idle wakeups per minute, {engine}", SIZE,
                     (last.voluntary - first[engine].voluntary) / span * 60, "/min", 10,
                     note=f"{last.threads} threads")
            self.add(f"idle resident memory, {engine}", SIZE, last.rss_kb / 1024, "MB", 150)
        return rates

    def change_cost(self, engine: str, daemon: probe.Daemon, idle_rate: float) -> None:
        """One `add` (from this machine on SQLite, poking the daemon; from another on
        PostgreSQL, through NOTIFY): the daemon's CPU over a window that holds the
        pickup (70 s on SQLite, past the next 60 s rescan; 5 s on PostgreSQL), less
        what it spends idle in as long."""
        costs = []
        env = self.work.env if engine == "sqlite" else self.other_machine()
        window = 70.0 if engine == "sqlite" else 5.0
        for n in range(1 if self.args.quick else 3):
            at = (datetime.now().astimezone() + timedelta(days=30)).isoformat(timespec="seconds")
            before = probe.sample(daemon.pid)
            subprocess.run([probe.FOLLOWUP, "--config", str(self.configs[engine]), "add",
                            "--company", f"Change {n}", "--role", "Engineer", "--at", at],
                           env=env, check=True, capture_output=True, timeout=300)
            time.sleep(window)  # the measuring window, not a wait for a condition
            after = probe.sample(daemon.pid)
            costs.append(after.cpu - before.cpu - idle_rate * (after.at - before.at))
        self.add(f"daemon CPU for one CLI change, {engine}", SIZE, probe.median(costs), "s",
                 0.05, note=f"{', '.join(f'{c:.3f}' for c in costs)}; over {window:.0f} s "
                            f"less idle; resolution {1 / probe.TICK:.2f} s")

    # --- cross-machine pickup --------------------------------------------------------------

    def pickup(self) -> None:
        url = self.server.url(self.server.create_database())
        out = self.root / "out-pickup"
        config = self.root / "config-pickup.toml"
        config.write_text(config_text(url, self.work.recorder, out, rescan_seconds=600,
                                      always_open=True))
        daemon = probe.Daemon(self.work, config, "pickup")
        lags, from_start = [], []
        try:
            probe.wait_for(daemon.poll_started, 120, "the daemon to start")
            probe.wait_for(lambda: "listening for changes" in daemon.log(), 60, "the LISTEN")
            for n in range(20):
                at = (datetime.now().astimezone() - timedelta(hours=1)).isoformat(
                    timespec="seconds")
                started = time.time()
                done = subprocess.run(
                    [probe.FOLLOWUP, "--config", str(config), "add", "--company",
                     f"Pickup {n}", "--role", "Engineer", "--at", at, "--json"],
                    env=self.other_machine(), capture_output=True, text=True, timeout=300,
                    check=True)
                exited = time.time()
                key = (json.loads(done.stdout)["id"], 1)
                arrived = probe.wait_for(lambda key=key: probe.read_arrivals(out).get(key), 60,
                                         "the nudge", every=0.005)[0]
                lags.append(arrived - exited)
                from_start.append(arrived - started)
        finally:
            daemon.stop()
        self.add("cross-machine pickup p50 (CLI exit -> delivered)", None,
                 probe.percentile(lags, 50), "s", None, note="20 adds; PostgreSQL NOTIFY")
        self.add("cross-machine pickup p99", None, probe.percentile(lags, 99), "s", 1.0,
                 note=f"min {min(lags):.3f}, max {max(lags):.3f} (negative: delivered before "
                      "the CLI had finished exiting)")
        self.add("cross-machine pickup p99 from the CLI's start", None,
                 probe.percentile(from_start, 99), "s", None,
                 note=f"p50 {probe.percentile(from_start, 50):.3f} s")

    def run(self) -> None:
        if "due" in self.args.skip and "daemons" in self.args.skip:
            self.args.skip.append("databases")  # only the pickup: no 100k database needed
        compile_followup()
        for name, step in (("databases", self.make_databases), ("due", self.due),
                           ("pickup", self.pickup), ("daemons", self.daemons)):
            if name in self.args.skip:
                continue
            self.say(name)
            step()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows and repeats")
    parser.add_argument("--skip", action="append", default=[],
                        help="skip a step: 'due', 'pickup' or 'daemons'")
    args = parser.parse_args(argv)
    bin_dir = binaries()
    if bin_dir is None:
        print("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        return 1
    root = Path(tempfile.mkdtemp(prefix="followup-bench-pg-"))
    server = PostgresServer(bin_dir)
    try:
        server.init()
        server.start()
        server.create_role()
        bench = Bench(args, root, server)
        bench.run()
    finally:
        server.remove()
        shutil.rmtree(root, ignore_errors=True)
    print_table(bench.figures)
    missed = [f for f in bench.figures if f.met is False]
    print(f"\n{len(bench.figures)} figures, {len(missed)} over budget")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
