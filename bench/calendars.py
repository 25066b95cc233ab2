"""The calendar benchmarks: a table of three figures against their budgets.

    .venv/bin/python bench/calendars.py               # about 9 minutes
    .venv/bin/python bench/calendars.py --quick       # about 3 minutes (shorter idle window)

1. Event put into CalDAV (Radicale on 127.0.0.1) / written into a watched file ->
   interview in the database, p50 and p99, with `poll_seconds = 5`
   (budget: p99 <= poll + 1 s for CalDAV; <= 1 s for a file, watched with inotify).
2. `followup import` of a 5,000-event calendar (a year of a busy person's
   calendar: one-off meetings, weekly series, twenty interviews): wall time
   (budget <= 10 s) and peak RSS of the process.
3. Idle cost of a daemon watching a file, a feed and a CalDAV collection at the
   default `poll_seconds` (300): CPU seconds per hour (budget <= 1) and wakeups
   (voluntary context switches, all threads) per minute (budget <= 10).

Everything runs in a private work folder (see probe.Workspace), removed at the end.
The exit status is 1 when a figure is over its budget.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import probe
from report import Figure, print_table

POLL = 5


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def vevent(uid: str, summary: str, start: datetime, extra: str = "") -> str:
    end = start + timedelta(minutes=45)
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261201T080000Z\r\n"
            f"DTSTART:{stamp(start)}\r\nDTEND:{stamp(end)}\r\nSUMMARY:{summary}\r\n"
            f"ORGANIZER;CN=Dana Smith:mailto:dana@{summary.split()[-1].lower()}.example\r\n"
            f"{extra}END:VEVENT\r\n")


def vcalendar(body: str) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//followup bench//EN\r\n"
            "X-WR-TIMEZONE:Europe/Berlin\r\n" + body + "END:VCALENDAR\r\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Radicale:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        (root / "users").write_text("jo:secret\n")
        exe = Path(sys.executable).with_name("radicale")
        self.process = subprocess.Popen(
            [str(exe), "--config", "", "--server-hosts", f"127.0.0.1:{self.port}",
             "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(root / "users"),
             "--auth-htpasswd-encryption", "plain",
             "--storage-filesystem-folder", str(root / "radicale")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        probe.wait_for(self._answers, 30, "radicale")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def client(self):
        import caldav

        return caldav.DAVClient(url=f"http://127.0.0.1:{self.port}", username="jo",
                                password="secret", auth_type="basic", timeout=30)

    def new_calendar(self) -> str:
        url = f"http://127.0.0.1:{self.port}/jo/{uuid.uuid4().hex[:10]}/"
        assert self.client().request(url, "MKCALENDAR", "").status == 201
        return url

    def put(self, collection: str, uid: str, text: str) -> None:
        answer = self.client().put(f"{collection}{uid}.ics", text,
                                   {"Content-Type": "text/calendar"})
        assert answer.status in (201, 204), answer.status

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class Feed:
    """A feed that never changes: answers 304 to a conditional request."""

    def __init__(self, body: bytes) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.headers.get("If-None-Match") == '"v1"':
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", '"v1"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/basic.ics"

    def stop(self) -> None:
        self.server.shutdown()


def config(work: probe.Workspace, name: str, calendar: dict) -> Path:
    path = work.root / f"{name}.toml"
    lines = ['timezone = "Europe/Berlin"', "[database]",
             f'url = "sqlite:///{work.root / name}.db"', "[notify.desktop]", "enabled = false",
             "[calendar]", 'username = "jo"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in calendar.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def store_password(work: probe.Workspace) -> None:
    probe.store_password(work.env, "jo", "secret", "calendar")


# --- 1. latency ---------------------------------------------------------------------------------


def latency(work: probe.Workspace, radicale: Radicale, samples: int) -> list[Figure]:
    ics = work.root / "watched.ics"
    ics.write_text(vcalendar(""))
    collection = radicale.new_calendar()
    path = config(work, "latency", {"files": [str(ics)], "caldav": collection,
                                    "poll_seconds": POLL})
    daemon = probe.Daemon(work, path, "latency")
    probe.wait_for(daemon.poll_started, 60, "the daemon")
    database = work.root / "latency.db"
    events: list[str] = []
    waits: dict[str, list[float]] = {"file": [], "caldav": []}
    start = datetime.now(UTC) + timedelta(days=3)
    try:
        for n in range(samples):
            for kind in ("file", "caldav"):
                time.sleep(random.uniform(0, POLL))  # land anywhere in the poll cycle
                uid = f"{kind}-{n}"
                event = vevent(uid, f"Interview with Co{kind}{n}", start + timedelta(hours=n))
                began = time.monotonic()
                if kind == "file":
                    events.append(event)
                    temporary = ics.with_suffix(".tmp")
                    temporary.write_text(vcalendar("".join(events)))
                    temporary.replace(ics)
                else:
                    radicale.put(collection, uid, vcalendar(event))
                probe.wait_for(lambda uid=uid: _has(database, uid), 4 * POLL + 30, uid,
                               every=0.01)
                waits[kind].append(time.monotonic() - began)
            say(f"latency sample {n + 1}/{samples}: file {waits['file'][-1]:.2f} s, "
                f"caldav {waits['caldav'][-1]:.2f} s")
    finally:
        daemon.stop()
    figures = []
    for kind, what in (("caldav", "event put into CalDAV"), ("file", "event written to a file")):
        values = waits[kind]
        note = f"{len(values)} samples, poll_seconds = {POLL}"
        figures.append(Figure(f"{what} -> interview, p50", None, probe.percentile(values, 50),
                              "s", None, note))
        # Files are watched with inotify: read at once, whatever the poll.
        budget = 1.0 if kind == "file" else POLL + 1
        figures.append(Figure(f"{what} -> interview, p99", None, probe.percentile(values, 99),
                              "s", budget, note))
    return figures


def _has(database: Path, uid: str) -> bool:
    with sqlite3.connect(database, timeout=10) as conn:
        return conn.execute("SELECT 1 FROM interviews WHERE event_uid = ?", (uid,)).fetchone() \
            is not None


# --- 2. a big import ----------------------------------------------------------------------------


def busy_year(now: datetime, total: int = 5000, interviews: int = 20) -> str:
    """A year of a busy person's calendar: weekly series, one-off meetings, interviews."""
    rng = random.Random(7)
    base = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=300)
    titles = ["Team sync", "1:1 with manager", "Design review", "Lunch", "Dentist",
              "Planning", "Retro", "Coffee chat", "Customer call", "Gym"]
    parts = []
    for n in range(40):  # weekly series over the year
        start = base + timedelta(days=n % 7, hours=8 + n % 9)
        parts.append(vevent(f"series-{n}", f"{titles[n % 10]} series{n}", start,
                            "RRULE:FREQ=WEEKLY;COUNT=52\r\n"))
    for n in range(total - 40 - interviews):
        start = base + timedelta(days=rng.randrange(365), hours=rng.randrange(8, 19))
        parts.append(vevent(f"one-{n}", f"{rng.choice(titles)} meeting{n}", start))
    for n in range(interviews):
        start = base + timedelta(days=240 + 6 * n, hours=10)  # the last 60 days on
        parts.append(vevent(f"interview-{n}", f"Interview with Company{n}", start))
    rng.shuffle(parts)
    return vcalendar("".join(parts))


def big_import(work: probe.Workspace) -> list[Figure]:
    ics = work.root / "busy-year.ics"
    ics.write_text(busy_year(datetime.now(UTC)))
    path = config(work, "import", {})
    work.cli("--config", str(path), "list")  # create the database first: not part of the figure
    out_path = work.root / "import.json"
    began = time.perf_counter()
    with out_path.open("wb") as out:
        child = subprocess.Popen([probe.FOLLOWUP, "--config", str(path), "import", str(ics),
                                  "--json"], stdout=out, stderr=subprocess.DEVNULL, env=work.env)
        _, status, usage = os.wait4(child.pid, 0)  # its own peak RSS, not its siblings'
    wall = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"import failed with status {status}")
    added = sum(f["kind"] == "added" for f in json.loads(out_path.read_text())["findings"])
    peak = usage.ru_maxrss / 1024
    note = f"{ics.stat().st_size / 2**20:.1f} MB, {added} interviews added"
    return [Figure("import of a 5,000-event calendar, wall time", None, wall, "s", 10, note),
            Figure("import of a 5,000-event calendar, peak RSS", None, peak, "MB", None,
                   "ru_maxrss of the import process")]


# --- 3. idle ------------------------------------------------------------------------------------


def idle(work: probe.Workspace, radicale: Radicale, window: float) -> list[Figure]:
    ics = work.root / "idle.ics"
    ics.write_text(busy_year(datetime.now(UTC), total=500, interviews=2))
    feed = Feed(busy_year(datetime.now(UTC), total=500, interviews=2).encode())
    collection = radicale.new_calendar()
    path = config(work, "idle", {"files": [str(ics)], "feeds": [feed.url], "caldav": collection,
                                 "export": str(work.root / "export.ics")})
    daemon = probe.Daemon(work, path, "idle")
    try:
        probe.wait_for(daemon.poll_started, 60, "the idle daemon")
        time.sleep(15)  # the first round (reading all three) is not idle
        first = probe.sample(daemon.pid)
        say(f"idle window: {window:.0f} s (poll_seconds = 300)")
        time.sleep(window)
        last = probe.sample(daemon.pid)
    finally:
        daemon.stop()
        feed.stop()
    span = last.at - first.at
    cpu = (last.cpu - first.cpu) / span * 3600
    wakeups = (last.voluntary - first.voluntary) / span * 60
    note = f"file + feed + CalDAV + export, {span:.0f} s window"
    return [Figure("idle CPU with the calendar watch", None, cpu, "s/h", 1.0, note),
            Figure("idle wakeups with the calendar watch", None, wakeups, "/min", 10.0, note),
            Figure("idle resident memory with the calendar watch", None, last.rss_kb / 1024,
                   "MB", None, "VmRSS")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, shorter idle")
    parser.add_argument("--samples", type=int, default=0, help="latency samples per kind")
    parser.add_argument("--idle-seconds", type=float, default=0,
                        help="the idle window (default 320: more than one poll)")
    args = parser.parse_args()
    samples = args.samples or (10 if args.quick else 40)
    window = args.idle_seconds or (120 if args.quick else 320)
    root = Path(tempfile.mkdtemp(prefix="followup-bench-calendar-"))
    work = probe.Workspace(root)
    work.env["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    store_password(work)
    radicale = Radicale(root)
    figures: list[Figure] = []
    try:
        say("import of a 5,000-event calendar")
        figures += big_import(work)
        say(f"latency: {samples} samples per kind")
        figures += latency(work, radicale, samples)
        figures += idle(work, radicale, window)
    finally:
        radicale.stop()
        shutil.rmtree(root, ignore_errors=True)
    print_table(figures)
    return 0 if all(f.met is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
