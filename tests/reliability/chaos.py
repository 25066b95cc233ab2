"""The chaos run (DESIGN "Exactly once"): several daemons as real subprocesses on one
database, watching a mailbox (IMAP IDLE), while nudges fall due and the run SIGKILLs,
SIGTERMs and SIGHUPs daemons at random, restarts PostgreSQL and Dovecot, makes the
SMTP server slow or drop connections, and an Apprise endpoint fails half the time.
At the end it counts what each channel received, and traces every repeat to the kill
that explains it (chaos_trace).

Used by tests/reliability/test_chaos.py (short) and bench/chaos.py (longer).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.controller import Controller
from chaos_trace import Arrival, Kill, Repeat, explained_by_kill, trace
from senders import Senders

from support.daemon import Daemon, World, add_interviews, wait_for
from support.endpoint import Endpoint
from support.imap import PASSWORD, USER, Dovecot, mailbox_section, message
from support.postgres import PostgresServer, binaries, write_pgpass
from support.smtp import free_port

# The command channel's recorder, slowed down (20-50 ms a nudge) so that kills land in
# the middle of deliveries, not only between them. It notes which daemon ran it (from
# the environment: its parent may be dead by the time it writes) and when it wrote.
SLOW_RECORDER = """\
import json, os, random, sys, time
data = json.loads(sys.stdin.read())
data["daemon"] = int(os.environ["CHAOS_DAEMON"])
time.sleep(random.uniform(0.02, 0.05))
data["at"] = time.time()
with open(sys.argv[1], "a") as out:
    out.write(json.dumps(data) + "\\n")
"""
COMPANY = re.compile(r"Chaos (\d+)\b")
CHANNELS = ("command", "email", "apprise")
WATCHED = "dana@watch.example"  # the employer of the interview the mailbox reply stops


class ChaosSMTP:
    """Keeps each message it receives; `mode` is "ok", "slow" (answers after
    `slow_seconds`: the message is received, the answer is late) or "drop" (closes
    the connection before answering: not received). `arrived` hears of each message
    received: its companies and the client's port (while the client is connected)."""

    def __init__(self, slow_seconds: float,
                 arrived: Callable[[frozenset[int], int], None]) -> None:
        self.mode = "ok"
        self.slow_seconds = slow_seconds
        self.arrived = arrived

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.mode == "drop":
            server.transport.close()
            return "421 never seen"
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        text = str(message["Subject"]) + "\n" + message.get_body(("plain",)).get_content()
        self.arrived(_companies(text), session.peer[1])  # the server has it: it delivers it
        if self.mode == "slow":  # however late it answers, or if the client is gone
            await asyncio.sleep(self.slow_seconds)
        return "250 Message accepted for delivery"


@dataclass
class Servers:
    """The servers the run restarts: the mailbox's Dovecot, and PostgreSQL when the
    database is on it. Both come back on the same port."""

    dovecot: Dovecot
    postgres: PostgresServer | None = None

    def names(self) -> list[str]:
        return ["dovecot"] + (["postgresql"] if self.postgres is not None else [])

    def restart(self, name: str) -> None:
        if name == "postgresql":
            self.postgres.restart()  # "fast": what was committed stays committed
        else:
            self.dovecot.stop()
            self.dovecot.start()


@dataclass
class Figures:
    engine: str
    nudges: int
    daemons: int
    seconds: float
    kills: int = 0
    terms: int = 0
    reloads: int = 0
    restarts: Counter = field(default_factory=Counter)
    smtp_slow: int = 0
    smtp_drops: int = 0
    repeats: list[Repeat] = field(default_factory=list)
    lost: dict[str, list[int]] = field(default_factory=dict)
    in_doubt: int = 0  # deliveries recorded in doubt (counted neither lost nor repeated)
    in_doubt_arrived: int = 0  # of those, how many arrived all the same
    bad_exits: list[int] = field(default_factory=list)
    apprise_failed_posts: int = 0
    reply_applied: bool = False  # the reply put in the mailbox after its last restart

    def unexplained(self) -> list[Repeat]:
        return [r for r in self.repeats if r.unexplained]

    def line(self) -> str:
        lost = sum(len(v) for v in self.lost.values())
        explained = "; ".join(f"{cause}: {', '.join(what)}"
                              for cause, what in explained_by_kill(self.repeats).items())
        unexplained = ", ".join(f"{r.channel} {r.company}" for r in self.unexplained())
        restarts = ", ".join(f"{name} {n}" for name, n in sorted(self.restarts.items()))
        return (f"chaos on {self.engine}: {self.nudges} nudges x {len(CHANNELS)} channels, "
                f"{self.daemons} daemons, {self.seconds:.0f} s: {self.kills} SIGKILL, "
                f"{self.terms} SIGTERM, {self.reloads} SIGHUP, restarts: {restarts}; SMTP "
                f"slow {self.smtp_slow} / dropping {self.smtp_drops} times, "
                f"{self.apprise_failed_posts} Apprise POSTs failed; repeats "
                f"{len(self.repeats)}{f' ({explained})' if explained else ''}, unexplained "
                f"{len(self.unexplained())}{f' ({unexplained})' if unexplained else ''}, "
                f"lost {lost}, in doubt {self.in_doubt} ({self.in_doubt_arrived} arrived), bad "
                f"exits {len(self.bad_exits)}, "
                f"mailbox reply after the restart applied: {'yes' if self.reply_applied else 'NO'}")

    def details(self) -> str:
        """Every repeat, copy by copy: what explains it, or why nothing does."""
        lines = []
        for r in self.repeats:
            lines.append(f"{r.channel} {r.company}: {r.copies} copies")
            lines += [f"  explained: {cause}: {how}" for cause, how in r.explained_by]
            lines += [f"  UNEXPLAINED {how}" for how in r.unexplained]
        return "\n".join(lines)


class Run:
    """One chaos run's state: the daemons, which daemon sent what, the faults."""

    def __init__(self, w: World, servers: Servers, seed: int, figures: Figures,
                 slow_seconds: float) -> None:
        self.w = w
        self.servers = servers
        self.rng = random.Random(seed)
        self.figures = figures
        self.started = time.time()
        self.arrivals: list[Arrival] = []
        self.kills: list[Kill] = []
        self.pids: dict[int, int] = {}  # pid -> the daemon's index in w.daemons
        self.smtp = ChaosSMTP(slow_seconds, self._arrived("email"))
        self.controller = Controller(self.smtp, hostname="127.0.0.1", port=free_port(),
                                     server_hostname="localhost", ready_timeout=10.0)
        self.endpoint = Endpoint(failing=0.5, seed=seed)
        self.endpoint.on_accept = lambda body, port: self._arrived("apprise")(
            _companies(_text(body)), port)
        self.senders = Senders({self.controller.port, self.endpoint.port})

    def _arrived(self, channel: str) -> Callable[[frozenset[int], int], None]:
        def arrived(companies: frozenset[int], port: int) -> None:
            self.arrivals.append(Arrival(channel, companies,
                                         self.pids.get(self.senders.of(port)), time.time()))
        return arrived

    def start(self) -> Daemon:
        index = len(self.w.daemons)
        daemon = self.w.start(CHAOS_DAEMON=str(index))
        self.pids[daemon.process.pid] = index
        self.senders.started(daemon.process.pid)
        return daemon

    def index(self, daemon: Daemon) -> int:
        return self.pids[daemon.process.pid]

    def kill(self, daemon: Daemon) -> None:
        """SIGKILL, and reap at once (as systemd would): a zombie's pid still looks
        alive to the others, who would wait for its leases to lapse."""
        self.kills.append(Kill(self.index(daemon), time.time()))
        self.senders.kill(daemon.process.pid)
        daemon.process.wait(10)

    def received(self, ids: list[int]) -> list[Arrival]:
        """Every copy every channel received (the command channel's, from its file)."""
        commands = [Arrival("command", frozenset({ids.index(d["interview_id"])}),
                            d["daemon"], d["at"]) for d in self.w.delivered()]
        return commands + list(self.arrivals)


@contextlib.contextmanager
def private_servers(postgresql: bool, home: Path) -> Iterator[tuple[Servers, str | None]]:
    """A Dovecot, and with `postgresql` a PostgreSQL server (its password in `home`'s
    .pgpass), for this run alone: restarting them disturbs nobody else, and a server
    that failed to come back cannot fail the tests after. Yields them and the URL of
    a fresh database (None: SQLite). Both start in a few seconds."""
    postgres = None
    dovecot = Dovecot()
    try:
        dovecot.start()
        if postgresql:
            postgres = PostgresServer(binaries())
            postgres.init()
            postgres.start()
            postgres.create_role()
            write_pgpass(home, postgres)
        url = postgres.url(postgres.create_database()) if postgres is not None else None
        yield Servers(dovecot, postgres), url
    finally:
        if postgres is not None:
            postgres.remove()
        dovecot.cleanup()


def run(w: World, servers: Servers, *, nudges: int, daemons: int, seconds: float, seed: int,
        slow_seconds: float = 3.0, engine: str = "sqlite") -> Figures:
    """The chaos run on `w`; returns what it counted (the caller asserts)."""
    figures = Figures(engine, nudges, daemons, seconds)
    chaos = Run(w, servers, seed, figures, slow_seconds)
    chaos.controller.start()
    try:
        _configure(w, chaos.controller.port, chaos.endpoint.port, servers.dovecot.port)
        watched = _watched_interview(w)
        ids = add_interviews(w, nudges, ago=timedelta(0), spread=timedelta(seconds=seconds / 2),
                             prefix="Chaos")
        running = [chaos.start() for _ in range(daemons)]
        stopping = _faults(chaos, running, seconds)
        chaos.smtp.mode = "ok"
        wanted = set(range(nudges))

        def missing() -> dict[str, set[int]]:
            """What no channel received yet, but for deliveries recorded in doubt."""
            got = {c: set() for c in CHANNELS}
            for arrival in chaos.received(ids):
                got[arrival.channel] |= arrival.companies
            if all(wanted <= g for g in got.values()):
                return {c: set() for c in CHANNELS}
            doubt = _in_doubt(w, ids)
            return {c: wanted - got[c] - doubt.get(c, set()) for c in CHANNELS}

        with contextlib.suppress(AssertionError):  # what is missing is counted, as lost
            wait_for(lambda: not any(missing().values())
                     and _status(w, watched) == "heard", timeout=180,
                     what="every nudge on every channel")
        figures.reply_applied = _status(w, watched) == "heard"
        _stop(running, stopping, figures)
        arrivals = chaos.received(ids)
        figures.lost = {channel: sorted(companies) for channel, companies in missing().items()}
        figures.repeats = trace(arrivals, ids, {i: d.text() for i, d in enumerate(w.daemons)},
                                chaos.kills, chaos.started)
        doubt = _in_doubt(w, ids)
        figures.in_doubt = sum(len(companies) for companies in doubt.values())
        figures.in_doubt_arrived = sum(
            len(companies & set().union(*(a.companies for a in arrivals if a.channel == c)))
            for c, companies in doubt.items())
        figures.apprise_failed_posts = (len(chaos.endpoint.received)
                                        - len(chaos.endpoint.accepted))
        return figures
    finally:
        w.stop_all()
        chaos.controller.stop()
        chaos.endpoint.close()


def _faults(chaos: Run, running: list[Daemon], seconds: float) -> list[Daemon]:
    """The faults, at random moments for `seconds`; each server is restarted at least
    once (after the last Dovecot restart, an employer's reply lands in the mailbox).
    `running` changes as daemons are replaced; returns the daemons asked to stop."""
    rng, figures, stopping = chaos.rng, chaos.figures, []
    every = max(1, round(seconds / 30))
    restarts = sorted((rng.uniform(0.2, 0.8) * seconds, name)
                      for name in chaos.servers.names() for _ in range(every))
    begun = time.monotonic()
    while time.monotonic() - begun < seconds:
        time.sleep(rng.uniform(0.2, 1.0))  # the fault's random moment, not a wait
        if restarts and restarts[0][0] <= time.monotonic() - begun:
            name = restarts.pop(0)[1]
            if name == "postgresql":  # not while one opens the database: it would exit
                for daemon in running:  # (as under systemd, which would start it again)
                    _started(daemon)
            chaos.servers.restart(name)
            figures.restarts[name] += 1
            if name == "dovecot" and all(n != "dovecot" for _, n in restarts):
                chaos.servers.dovecot.append("INBOX", message(
                    f"Dana <{WATCHED}>", USER, "Re: Thank you", datetime.now().astimezone()))
            continue
        action = rng.choice(["kill", "term", "hup", "smtp"])
        victim = rng.randrange(len(running))
        if action in ("term", "hup"):  # only once its signal handlers are in place
            started = [i for i, d in enumerate(running) if "started:" in d.text()]
            victim = rng.choice(started) if started else victim
            action = action if started else "kill"
        if action == "kill":
            figures.kills += 1
            chaos.kill(running.pop(victim))
            running.append(chaos.start())
        elif action == "term":
            figures.terms += 1
            stopping.append(running.pop(victim))
            stopping[-1].signal(signal.SIGTERM)
            running.append(chaos.start())
        elif action == "hup":
            figures.reloads += 1
            running[victim].signal(signal.SIGHUP)
        else:
            chaos.smtp.mode = rng.choice(["ok", "slow", "drop"])
            figures.smtp_slow += chaos.smtp.mode == "slow"
            figures.smtp_drops += chaos.smtp.mode == "drop"
    return stopping


def _stop(running: list[Daemon], stopping: list[Daemon], figures: Figures) -> None:
    """One SIGTERM each to those still running (those stopping had theirs); each must
    exit cleanly."""
    for daemon in running:
        _started(daemon)
        if daemon.process.poll() is None:
            daemon.signal(signal.SIGTERM)
    for daemon in running + stopping:
        code = daemon.process.wait(30)
        daemon.log.close()
        if code not in (0, -signal.SIGKILL):
            figures.bad_exits.append(code)


def _started(daemon: Daemon) -> None:
    wait_for(lambda: "started:" in daemon.text() or daemon.process.poll() is not None,
             what="a daemon to start")


def _configure(w: World, smtp_port: int, apprise_port: int, imap_port: int) -> None:
    from followup import passwords

    (w.folder / "recorder.py").write_text(SLOW_RECORDER)
    urls = w.folder / "apprise.conf"
    urls.write_text(f"json://127.0.0.1:{apprise_port}/\n")
    urls.chmod(0o600)
    passwords.set_password(USER, PASSWORD, "mailbox")
    w.config.write_text(w.config.read_text() + f"""
[notify.email]
enabled = true
to = "me@example.org"
from = "followup@example.org"
host = "127.0.0.1"
port = {smtp_port}
security = "none"

[notify.apprise]
enabled = true
config = "{urls}"
""" + mailbox_section(imap_port))


def _watched_interview(w: World) -> int:
    """An interview whose employer will reply (its nudge snoozed out of the run)."""
    from followup import config
    from followup.app import App, InterviewInput

    app = App(config.load(w.config))
    try:
        at = (datetime.now().astimezone() - timedelta(minutes=5)).isoformat(timespec="seconds")
        interview = app.add(InterviewInput(company="Watched", role="Engineer", at=at,
                                           email=WATCHED)).interview
        app.snooze(interview.id, "2d")
        return interview.id
    finally:
        app.store.close()


def _companies(text: str) -> frozenset[int]:
    return frozenset(int(n) for n in COMPANY.findall(text))


def _text(post: dict) -> str:
    return f"{post.get('title', '')}\n{post.get('message', '')}"


def _query(w: World, sql: str, **params) -> list:
    import sqlalchemy as sa

    from followup.store import Store

    store = Store.open(w.database_url)
    try:
        with store.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).all()
    finally:
        store.close()


def _status(w: World, interview_id: int) -> str:
    return _query(w, "SELECT status FROM interviews WHERE id = :id", id=interview_id)[0][0]


def _in_doubt(w: World, ids: list[int]) -> dict[str, set[int]]:
    """The deliveries recorded in doubt (a stop while the channel was still sending):
    channel -> companies. DESIGN accepts them (never sent again; `show` says so)."""
    found: dict[str, set[int]] = {}
    for interview_id, channel in _query(
            w, "SELECT n.interview_id, d.channel FROM deliveries d JOIN nudges n "
               "ON n.id = d.nudge_id WHERE d.status = 'in doubt'"):
        found.setdefault(channel, set()).add(ids.index(interview_id))
    return found
