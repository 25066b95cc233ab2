"""The chaos run (DESIGN "Exactly once"): several daemons as real subprocesses on one
database, nudges falling due, while the run SIGKILLs, SIGTERMs and SIGHUPs daemons at
random, makes the SMTP server slow or drop connections, and an Apprise endpoint
fails half the time. At the end it counts what each channel received.

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
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller

from support.daemon import World, add_interviews, wait_for
from support.endpoint import Endpoint
from support.smtp import free_port

# The command channel's recorder, slowed down (20-50 ms a nudge) so that kills land in
# the middle of deliveries, not only between them.
SLOW_RECORDER = """\
import json, random, sys, time
data = json.loads(sys.stdin.read())
time.sleep(random.uniform(0.02, 0.05))
with open(sys.argv[1], "a") as out:
    out.write(json.dumps(data) + "\\n")
"""
COMPANY = re.compile(r"Chaos (\d+)\b")
CHANNELS = ("command", "email", "apprise")


class ChaosSMTP:
    """Keeps each message it receives; `mode` is "ok", "slow" (answers after
    `slow_seconds`: the message is received, the answer is late) or "drop" (closes
    the connection before answering: not received)."""

    def __init__(self, slow_seconds: float) -> None:
        self.mode = "ok"
        self.slow_seconds = slow_seconds
        self.received: list[set[int]] = []  # the companies of each message accepted

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.mode == "drop":
            server.transport.close()
            return "421 never seen"
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        text = str(message["Subject"]) + "\n" + message.get_body(("plain",)).get_content()
        self.received.append(_companies(text))  # the server has it: it delivers it
        if self.mode == "slow":  # however late it answers, or if the client is gone
            await asyncio.sleep(self.slow_seconds)
        return "250 Message accepted for delivery"


@dataclass
class Figures:
    engine: str
    nudges: int
    daemons: int
    seconds: float
    kills: int = 0
    terms: int = 0
    reloads: int = 0
    smtp_slow: int = 0
    smtp_drops: int = 0
    repeats: dict[str, list[int]] = field(default_factory=dict)  # channel -> companies
    lost: dict[str, list[int]] = field(default_factory=dict)
    in_doubt: int = 0
    bad_exits: list[int] = field(default_factory=list)
    apprise_failed_posts: int = 0

    def line(self) -> str:
        repeats = sum(len(v) for v in self.repeats.values())
        lost = sum(len(v) for v in self.lost.values())
        which = "; ".join(f"{c}: companies {sorted(v)}" for c, v in self.repeats.items() if v)
        return (f"chaos on {self.engine}: {self.nudges} nudges x {len(CHANNELS)} channels, "
                f"{self.daemons} daemons, {self.seconds:.0f} s: {self.kills} SIGKILL, "
                f"{self.terms} SIGTERM, {self.reloads} SIGHUP, SMTP slow {self.smtp_slow} / "
                f"dropping {self.smtp_drops} times, {self.apprise_failed_posts} Apprise "
                f"POSTs failed; repeats {repeats}{f' ({which})' if which else ''}, lost "
                f"{lost}, in doubt {self.in_doubt}, bad exits {len(self.bad_exits)}")


def run(w: World, *, nudges: int, daemons: int, seconds: float, seed: int,
        slow_seconds: float = 3.0, engine: str = "sqlite") -> Figures:
    """The chaos run on `w`; returns what it counted (the caller asserts)."""
    rng = random.Random(seed)
    smtp = ChaosSMTP(slow_seconds)
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port(),
                            server_hostname="localhost", ready_timeout=10.0)
    controller.start()
    endpoint = Endpoint(failing=0.5, seed=seed)
    figures = Figures(engine, nudges, daemons, seconds)
    try:
        _configure(w, controller.port, endpoint.port)
        ids = add_interviews(w, nudges, ago=timedelta(0), spread=timedelta(seconds=seconds / 2),
                             prefix="Chaos")
        running = [w.start() for _ in range(daemons)]
        stopping = []
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            time.sleep(rng.uniform(0.2, 1.0))  # the fault's random moment, not a wait
            action = rng.choice(["kill", "term", "hup", "smtp"])
            victim = rng.randrange(len(running))
            if action in ("term", "hup"):  # only once its signal handlers are in place
                started = [i for i, d in enumerate(running) if "started:" in d.text()]
                victim = rng.choice(started) if started else victim
                action = action if started else "kill"
            if action == "kill":
                figures.kills += 1
                running.pop(victim).process.kill()
                running.append(w.start())
            elif action == "term":
                figures.terms += 1
                stopping.append(running.pop(victim))
                stopping[-1].signal(signal.SIGTERM)
                running.append(w.start())
            elif action == "hup":
                figures.reloads += 1
                running[victim].signal(signal.SIGHUP)
            else:
                smtp.mode = rng.choice(["ok", "slow", "drop"])
                figures.smtp_slow += smtp.mode == "slow"
                figures.smtp_drops += smtp.mode == "drop"
        smtp.mode = "ok"
        wanted = set(range(nudges))

        def command_seen() -> Counter:
            return Counter(ids.index(d["interview_id"]) for d in w.delivered())

        def everything() -> bool:
            got = [set(command_seen()), set().union(*smtp.received),
                   set().union(*(_companies(_text(p)) for p in endpoint.accepted))]
            return all(wanted <= g for g in got)

        with contextlib.suppress(AssertionError):  # what is missing is counted, as lost
            wait_for(everything, timeout=180, what="every nudge on every channel")
        for daemon in running:  # one SIGTERM each (those stopping had theirs)
            wait_for(lambda d=daemon: "started:" in d.text() or d.process.poll() is not None,
                     what="a daemon to start")
            if daemon.process.poll() is None:
                daemon.signal(signal.SIGTERM)
        for daemon in running + stopping:
            code = daemon.process.wait(30)
            daemon.log.close()
            if code not in (0, -signal.SIGKILL):
                figures.bad_exits.append(code)
        counts = {"command": command_seen(),
                  "email": Counter(c for m in smtp.received for c in m),
                  "apprise": Counter(c for p in endpoint.accepted for c in _companies(_text(p)))}
        for channel, seen in counts.items():
            figures.repeats[channel] = sorted(c for c, n in seen.items() if n > 1)
            figures.lost[channel] = sorted(wanted - set(seen))
        figures.in_doubt = _in_doubt(w)
        figures.apprise_failed_posts = len(endpoint.received) - len(endpoint.accepted)
        return figures
    finally:
        w.stop_all()
        controller.stop()
        endpoint.close()


def _configure(w: World, smtp_port: int, apprise_port: int) -> None:
    (w.folder / "recorder.py").write_text(SLOW_RECORDER)
    urls = w.folder / "apprise.conf"
    urls.write_text(f"json://127.0.0.1:{apprise_port}/\n")
    urls.chmod(0o600)
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
""")


def _companies(text: str) -> set[int]:
    return {int(n) for n in COMPANY.findall(text)}


def _text(post: dict) -> str:
    return f"{post.get('title', '')}\n{post.get('message', '')}"


def _in_doubt(w: World) -> int:
    import sqlalchemy as sa

    from followup.store import Store

    store = Store.open(w.database_url)
    try:
        with store.engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT count(*) FROM deliveries WHERE status = 'in doubt'")).scalar()
    finally:
        store.close()
