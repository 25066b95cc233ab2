"""The daemon as a real subprocess, and the files its command channel writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

ALWAYS_OPEN = """
[hours]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "24:00"
"""

RECORDER = """\
import json, os, sys
data = json.loads(sys.stdin.read())
gate = os.environ.get("FOLLOWUP_TEST_GATE")
if gate and not os.path.exists(gate):
    sys.stderr.write("the gate is closed\\n")
    sys.exit(3)
with open(sys.argv[1], "a") as out:
    out.write(json.dumps(data) + "\\n")
"""


def wait_for(condition: Callable[[], object], timeout: float = 30.0, what: str = "") -> object:
    """Poll `condition` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.05)


class World:
    """A configuration, a database and a command channel recording to a file."""

    def __init__(self, folder: Path, extra: str = "", rescan_seconds: int = 1,
                 first_after_days: int = 0, command: bool = True,
                 database_url: str | None = None, own_runtime: bool = False) -> None:
        self.folder = folder
        self.database = folder / "followup.db"
        self.database_url = database_url or f"sqlite:///{self.database}"
        # A machine of its own: no poke through a runtime folder shared with another world.
        self.runtime = folder / "runtime" if own_runtime else None
        if self.runtime is not None:
            self.runtime.mkdir(mode=0o700)
        self.delivered_file = folder / "delivered.jsonl"
        self.gate = folder / "gate"
        recorder = folder / "recorder.py"
        recorder.write_text(RECORDER)
        argv = json.dumps([sys.executable, str(recorder), str(self.delivered_file)])
        self.config = folder / "followup.toml"
        self.config.write_text(textwrap.dedent(f"""\
            timezone = "Europe/Berlin"
            [database]
            url = "{self.database_url}"
            [rules]
            first_after_days = {first_after_days}
            second_after_days = 7
            business_days = false
            [daemon]
            rescan_seconds = {rescan_seconds}
            retry_base_seconds = 1
            retry_max_seconds = 2
            [notify.desktop]
            enabled = false
            [notify.command]
            enabled = {str(command).lower()}
            argv = {argv}
            """) + ALWAYS_OPEN + extra)
        self.daemons: list[Daemon] = []

    def env(self, **extra: str) -> dict[str, str]:
        env = os.environ.copy()
        if self.runtime is not None:
            env["XDG_RUNTIME_DIR"] = str(self.runtime)
        env.update(extra)
        return env

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "followup", "--config", str(self.config),
                               *args], capture_output=True, text=True, timeout=60,
                              env=self.env())
        if check and done.returncode != 0:
            raise AssertionError(f"followup {' '.join(args)} failed: {done.stderr}")
        return done

    def add(self, company: str, ago: timedelta = timedelta(hours=1)) -> int:
        at = (datetime.now().astimezone() - ago).isoformat(timespec="seconds")
        done = self.cli("add", "--company", company, "--role", "Engineer", "--at", at, "--json")
        return json.loads(done.stdout)["id"]

    def delivered(self) -> list[dict]:
        if not self.delivered_file.exists():
            return []
        lines = self.delivered_file.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def nudges_seen(self) -> list[tuple[int, int]]:
        return [(d["interview_id"], d["number"]) for d in self.delivered()]

    def start(self, **env: str) -> Daemon:
        daemon = Daemon(self, self.env(**env))
        self.daemons.append(daemon)
        return daemon

    def stop_all(self) -> None:
        for daemon in self.daemons:
            daemon.kill()


class Daemon:
    def __init__(self, world: World, env: dict[str, str]) -> None:
        self.log_path = world.folder / f"daemon-{len(world.daemons)}.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "followup", "--config", str(world.config), "run"],
            stdout=subprocess.DEVNULL, stderr=self.log, env=env, start_new_session=True)

    def text(self) -> str:
        return self.log_path.read_text()

    def wait_started(self, timeout: float = 30) -> None:
        wait_for(lambda: "started:" in self.text() or self.process.poll() is not None,
                 timeout, "the daemon to start")
        assert self.process.poll() is None, self.text()

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stop(self, timeout: float = 20) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self.log.close()
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


@pytest.fixture
def world(tmp_path) -> Iterator[Callable[..., World]]:
    """Make worlds (config, database, recording command channel); every daemon any
    of them started is killed at the end, whatever happened."""
    made: list[World] = []

    def make(**options) -> World:
        folder = tmp_path / f"w{len(made)}"
        folder.mkdir()
        made.append(World(folder, **options))
        return made[-1]

    yield make
    for w in made:
        w.stop_all()


def add_interviews(world: World, count: int, ago: timedelta = timedelta(hours=1),
                   spread: timedelta = timedelta(0), prefix: str = "Company") -> list[int]:
    """Add `count` interviews through the application (as `followup add` does, pokes
    included), in this process: 50 subprocesses would cost half a minute. They took
    place `ago`, or spread evenly from then over `spread` (with the World's
    first_after_days = 0, their nudges fall due at those times)."""
    from followup import config
    from followup.app import App, InterviewInput

    app = App(config.load(world.config))
    first = datetime.now().astimezone() - ago
    try:
        return [app.add(InterviewInput(
                    company=f"{prefix} {n}", role="Engineer",
                    at=(first + spread * n / count).isoformat(timespec="milliseconds")))
                .interview.id for n in range(count)]
    finally:
        app.store.close()
