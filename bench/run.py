"""The followup benchmarks: one command, a table, and bench/results/latest.json.

    .venv/bin/python bench/run.py            # full: about 6 minutes
    .venv/bin/python bench/run.py --quick    # smoke run: about 3 minutes

See bench/README.md for what each figure means and how it is measured.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dataset
import probe
from report import Figure, print_table

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (1_000, 10_000, 100_000)

ALWAYS_OPEN = """
[rules]
first_after_days = 0
business_days = false
[hours]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "24:00"
"""


def config_text(url: str, recorder: Path, out: Path, always_open: bool = False,
                rescan_seconds: int | None = None) -> str:
    """The benchmarks' configuration: the defaults (3 business days, Mon-Fri 09-17,
    rescan every 60 s unless given), the command channel only (no session bus here)."""
    daemon = f"[daemon]\nrescan_seconds = {rescan_seconds}\n" if rescan_seconds else ""
    text = f"""timezone = "Europe/Berlin"
[database]
url = "{url}"
{daemon}[notify.desktop]
enabled = false
[notify.command]
enabled = true
argv = {json.dumps([str(recorder), str(out)])}
"""
    return text + (ALWAYS_OPEN if always_open else "")


class Bench:
    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args = args
        self.quick = args.quick
        self.work = probe.Workspace(root)
        self.figures: list[Figure] = []
        self.details: dict = {}
        self.configs: dict[int, Path] = {}

    def add(self, *args, **kwargs) -> None:
        self.figures.append(Figure(*args, **kwargs))

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    # --- the databases -------------------------------------------------------------

    def make_databases(self) -> None:
        now = datetime.now(UTC)
        for size in self.args.sizes:
            database = self.work.root / f"db-{size}.sqlite"
            config = self.work.root / f"config-{size}.toml"
            out = self.work.root / f"delivered-{size}.txt"
            text = config_text(f"sqlite:///{database}", self.work.recorder, out)
            config.write_text(text)
            made = dataset.generate(database, size, dataset.settings_for(text), now)
            self.configs[size] = config
            per_k = dataset.size_bytes(database) / (size / 1000)
            self.say(f"generated {size:,} interviews in {made.seconds:.1f} s: "
                     f"{dict(sorted(made.mix.items()))}")
            self.details[f"mix_{size}"] = dict(made.mix)
            self.add("database size per 1,000 interviews", size, per_k / 1e6, "MB")

    # --- the command line -------------------------------------------------------------

    def cli_times(self) -> None:
        repeats = 3 if self.quick else 7
        small, large = min(self.args.sizes), max(self.args.sizes)
        floor = floor_seconds(self.work.env, repeats)
        self.details["floor"] = floor
        self.add("floor: python -c \"import sqlalchemy, click\" (median)", None, floor, "s")
        for size in sorted({small, large}):  # the first command computes the stored plan
            wall, _ = self.work.cli("--config", str(self.configs[size]), "due")
            self.add("first command on a new database or new settings (plan computed)", size,
                     wall, "s")
        # Budgets: --help's in seconds; the others' over the floor measured beside them.
        cases = [("followup --help", None, ["--help"], 0.3),
                 ("followup list", small, ["--config", str(self.configs[small]), "list"],
                  0.15),
                 ("followup list", large, ["--config", str(self.configs[large]), "list"],
                  0.5),
                 ("followup list --json", large,
                  ["--config", str(self.configs[large]), "list", "--json"], None),
                 ("followup due", large, ["--config", str(self.configs[large]), "due"],
                  0.4)]
        for label, size, argv, budget in cases:
            self.work.cli(*argv)  # warm the page cache; not counted
            walls, floors = [], []
            for _ in range(repeats):  # side by side with the floor: a noisy machine's
                floors.append(floor_seconds(self.work.env, 1, warm=False))  # drift is in both
                walls.append(self.work.cli(*argv)[0])
            self.details[f"wall_{label}_{size}"] = walls
            self.details[f"floor_{label}_{size}"] = floors
            here = probe.median(floors)
            over = probe.median(walls) - here
            if budget is not None and size is not None:
                budget += here
            self.add(f"{label} wall time (median of {repeats})", size, probe.median(walls),
                     "s", budget,
                     note=f"floor + {over:.3f} s (its floor, side by side: {here:.3f} s)")

    def cron_cost(self) -> None:
        """What a cron job starting `followup due --json` every minute would cost."""
        runs = 2 if self.quick else 5
        for size in sorted({min(self.args.sizes), max(self.args.sizes)}):
            argv = ["--config", str(self.configs[size]), "due", "--json"]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            for _ in range(runs):
                self.work.cli(*argv)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            per_run = cpu / runs
            self.add("cron alternative: `due --json` once a minute, CPU per hour", size,
                     per_run * 60, "s/h", note=f"{per_run:.2f} s CPU a run, {runs} runs")

    # --- the idle daemon ------------------------------------------------------------------

    def idle(self) -> None:
        """All sizes' daemons idle side by side; each is measured by its own pid."""
        window = self.args.idle_seconds or (30 if self.quick else 150)
        daemons = {size: probe.Daemon(self.work, self.configs[size], f"idle-{size}")
                   for size in self.args.sizes}
        try:
            probe.wait_for(lambda: all(d.poll_started() for d in daemons.values()), 600,
                           "the daemons to start", every=0.05)
            for size, daemon in daemons.items():
                self.add("daemon start-up to \"started\" (CPU)", size, daemon.ready.cpu, "s",
                         0.5 if size >= 100_000 else None,
                         note=f"{daemon.ready_seconds:.1f} s wall")
            time.sleep(5)  # settle: the first rescan's thread pool, lazy imports
            first = {size: probe.sample(d.pid) for size, d in daemons.items()}
            self.say(f"idle window: {window} s, {len(daemons)} daemon(s) side by side")
            time.sleep(window)
            last = {size: probe.sample(d.pid) for size, d in daemons.items()}
            for size, daemon in daemons.items():
                self._idle_figures(size, first[size], last[size], daemon)
            self._full_scan_cost(daemons)
        finally:
            for daemon in daemons.values():
                daemon.stop()

    def _idle_figures(self, size: int, first: probe.Sample, last: probe.Sample,
                      daemon: probe.Daemon) -> None:
        span = last.at - first.at
        cpu_per_hour = (last.cpu - first.cpu) / span * 3600
        wakeups = (last.voluntary - first.voluntary) / span * 60
        budget_cpu = 1.0 if size <= 1000 else 5.0 if size >= 100_000 else None
        budget_rss = 80 if size <= 1000 else 150 if size >= 100_000 else None
        self.add("idle CPU, seconds per hour", size, cpu_per_hour, "s/h", budget_cpu,
                 note=f"over {span:.0f} s; resolution {3600 / probe.TICK / span:.2f} s/h")
        self.add("idle wakeups (voluntary switches per minute, all threads)", size, wakeups,
                 "/min", 10, note=f"{last.threads} threads; involuntary "
                                  f"{(last.involuntary - first.involuntary) / span * 60:.1f}/min")
        self.add("idle resident memory (VmRSS)", size, last.rss_kb / 1024, "MB", budget_rss,
                 note=f"peak {last.hwm_kb / 1024:.0f} MB")
        delivered = (self.work.root / f"delivered-{size}.txt")
        if delivered.exists():
            self.say(f"warning: {size}: nudges were delivered while idle")

    def _full_scan_cost(self, daemons: dict[int, probe.Daemon]) -> None:
        """The rescan does a full scan every 6 hours even when nothing changed (the
        horizon moves): poke each daemon to scan now, and take the CPU it used."""
        from followup.daemon import wake

        for size, daemon in daemons.items():
            url = f"sqlite:///{self.work.root / f'db-{size}.sqlite'}"
            before = probe.sample(daemon.pid)
            with os_environ_runtime(self.work.env):
                wake.poke(url, None)
            after = _settled(daemon.pid)
            scan = after.cpu - before.cpu
            self.add("full scan (6-hourly, and on any change), CPU", size, scan, "s",
                     0.3 if size >= 100_000 else None, note=f"adds {scan / 6:.3f} s/h to idle")
            budget_rss = 80 if size <= 1000 else 150 if size >= 100_000 else None
            self.add("idle resident memory after that full scan", size, after.rss_kb / 1024,
                     "MB", budget_rss, note=f"peak {after.hwm_kb / 1024:.0f} MB")

    # --- latency ------------------------------------------------------------------------

    def lag_world(self) -> tuple[Path, Path, Path]:
        database = self.work.root / "db-lag.sqlite"
        out = self.work.root / "delivered-lag.txt"
        config = self.work.root / "config-lag.toml"
        config.write_text(config_text(f"sqlite:///{database}", self.work.recorder, out,
                                      always_open=True))
        dataset.Store.open(f"sqlite:///{database}").close()
        return database, out, config

    def latency(self) -> None:
        database, out, config = self.lag_world()
        daemon = probe.Daemon(self.work, config, "lag")
        try:
            probe.wait_for(daemon.poll_started, 120, "the daemon to start")
            self._delivery_lag(database, out, daemon)
            self._pickup_lag(config, out)
        finally:
            daemon.stop()

    def _delivery_lag(self, database: Path, out: Path, daemon: probe.Daemon) -> None:
        from followup.daemon import wake

        count, spread = (50, 15.0) if self.quick else (200, 60.0)
        rng = random.Random(3)
        start = datetime.now(UTC) + timedelta(seconds=3)
        fire = sorted(start + timedelta(seconds=rng.uniform(0, spread)) for _ in range(count))
        ids = dataset.add_due(database, fire, datetime.now(UTC))
        with os_environ_runtime(self.work.env):
            wake.poke(f"sqlite:///{database}", None)  # as the CLI does after a write
        before = probe.sample(daemon.pid)
        wanted = {(i, 1) for i in ids}
        probe.wait_for(lambda: wanted <= probe.read_arrivals(out).keys(), spread + 120,
                       "every nudge", every=0.2)
        after = probe.sample(daemon.pid)
        arrivals = probe.read_arrivals(out)
        lags = [arrivals[(i, 1)][0] - at.timestamp() for i, at in zip(ids, fire, strict=True)]
        twice = sum(len(arrivals[key]) - 1 for key in wanted)
        self.details["delivery_lags"] = lags
        note = (f"{count} nudges over {spread:g} s; min {min(lags):.3f}, max {max(lags):.3f}; "
                f"{(after.cpu - before.cpu) / count * 1000:.0f} ms daemon CPU a nudge; "
                f"{twice} repeated")
        self.add("delivery lag p50 (fire time -> command stdin)", None,
                 probe.percentile(lags, 50), "s", 0.2, note=note)
        self.add("delivery lag p99", None, probe.percentile(lags, 99), "s", 1.0)

    def _pickup_lag(self, config: Path, out: Path) -> None:
        rounds = 5 if self.quick else 20
        from_start, from_exit = [], []
        for n in range(rounds):
            at = (datetime.now().astimezone() - timedelta(hours=1)).isoformat(timespec="seconds")
            started = time.time()
            _, done = self.work.cli("--config", str(config), "add", "--company", f"Pickup {n}",
                                    "--role", "Engineer", "--at", at, "--json")
            exited = time.time()
            key = (json.loads(done.stdout)["id"], 1)
            arrived = probe.wait_for(lambda key=key: probe.read_arrivals(out).get(key), 120,
                                     "the added nudge")[0]
            from_start.append(arrived - started)
            from_exit.append(arrived - exited)
        self.details["pickup_from_start"] = from_start
        self.details["pickup_from_exit"] = from_exit
        floor = self.details.get("floor")
        self.add("pickup lag p50 (`add` started -> delivered)", None,
                 probe.percentile(from_start, 50), "s",
                 None if floor is None else floor + 0.15,
                 note="budget: the floor + 0.15 s" if floor else "no floor measured")
        self.add("pickup lag p99 (`add` started -> delivered)", None,
                 probe.percentile(from_start, 99), "s", 2.0,
                 note=f"{rounds} adds; p50 {probe.percentile(from_start, 50):.3f} s; from the "
                      f"CLI's exit: p50 {probe.percentile(from_exit, 50):.3f}, "
                      f"p99 {probe.percentile(from_exit, 99):.3f} s (negative: delivered "
                      "before the CLI had exited)")

    # --- all of it -----------------------------------------------------------------------

    def run(self) -> None:
        self.say(f"work folder {self.work.root}")
        compile_followup()
        steps = [("databases", self.make_databases), ("command line", self.cli_times),
                 ("cron alternative", self.cron_cost), ("idle daemon", self.idle),
                 ("delivery and pickup lag", self.latency)]
        for name, step in steps:
            if name in self.args.skip:
                continue
            self.say(name)
            step()


FLOOR = "sqlalchemy, click"


def floor_seconds(env: dict, repeats: int, warm: bool = True, imports: str = FLOOR) -> float:
    """The stack's own start, `python -c "import sqlalchemy, click"`, median wall:
    what the command line's budgets are counted from, measured in the same run
    (`imports`: another stack's, reported beside)."""
    walls = []
    for _ in range(repeats + warm):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {imports}"], check=True,
                       env=env, timeout=60)
        walls.append(time.perf_counter() - started)
    return probe.median(walls[warm:])  # the first warms the page cache


def compile_followup() -> None:
    """Byte-compile followup's own modules, as installing its wheel does: from an
    editable install, under PYTHONDONTWRITEBYTECODE (set on these machines), every
    command would compile them again (about 0.1 s) and the floor's libraries not."""
    import followup

    subprocess.run([sys.executable, "-m", "compileall", "-q",
                    str(Path(followup.__file__).parent)], check=True, timeout=300)


def os_environ_runtime(env: dict):
    """Run `wake.poke` with the benchmark's XDG_RUNTIME_DIR (it reads os.environ)."""
    import contextlib
    import os

    @contextlib.contextmanager
    def scope():
        saved = os.environ.get("XDG_RUNTIME_DIR")
        os.environ["XDG_RUNTIME_DIR"] = env["XDG_RUNTIME_DIR"]
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("XDG_RUNTIME_DIR", None)
            else:
                os.environ["XDG_RUNTIME_DIR"] = saved

    return scope()


def _settled(pid: int, quiet: float = 2.0, timeout: float = 300.0) -> probe.Sample:
    """Sample a process once its CPU time has stopped growing for `quiet` seconds."""
    last = probe.sample(pid)
    still_since = time.monotonic()
    deadline = still_since + timeout
    while time.monotonic() - still_since < quiet and time.monotonic() < deadline:
        time.sleep(0.25)
        now = probe.sample(pid)
        if now.cpu != last.cpu:
            still_since = time.monotonic()
        last = now
    return last


def environment() -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    return {"when": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(), "machine": platform.machine(),
            "cpus": len(__import__("os").sched_getaffinity(0)),
            "load": list(__import__("os").getloadavg()), "commit": commit}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="short windows and fewer repeats: a smoke run")
    parser.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")),
                        default=SIZES, help="interview counts (default 1000,10000,100000)")
    parser.add_argument("--idle-seconds", type=float, default=0,
                        help="the idle window (default 150, 30 with --quick)")
    parser.add_argument("--skip", action="append", default=[],
                        help="skip a step: 'command line', 'cron alternative', 'idle daemon', "
                             "'delivery and pickup lag'")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    started = time.monotonic()
    env = environment()
    folder = Path(tempfile.mkdtemp(prefix="followup-bench-"))
    bench = Bench(args, folder)
    try:
        bench.run()
    finally:
        if args.keep:
            print(f"work folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    env["seconds"] = round(time.monotonic() - started, 1)
    env["load_after"] = list(__import__("os").getloadavg())
    print_table(bench.figures)
    missed = [f for f in bench.figures if f.met is False]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(
        {"mode": "quick" if args.quick else "full", "environment": env,
         "figures": [f.as_json() for f in bench.figures], "details": bench.details},
        indent=2) + "\n")
    print(f"\n{len(bench.figures)} figures, {len(missed)} over budget; "
          f"written to {args.output} ({env['seconds']:.0f} s)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
