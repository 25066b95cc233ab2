"""Running the command line in tests: in-process for speed, or as a real subprocess."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from followup.cli import execute


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def run(capsys, *args: str) -> Outcome:
    """`followup ARGS` in this process (freezegun can move its clock)."""
    capsys.readouterr()
    code = execute(list(args))
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def spawn(*args: str, env: dict | None = None, timeout: float = 60) -> Outcome:
    """`followup ARGS` as a real subprocess."""
    done = subprocess.run([sys.executable, "-m", "followup", *args], capture_output=True,
                          text=True, timeout=timeout, env=env or os.environ.copy())
    return Outcome(done.returncode, done.stdout, done.stderr)


def dump(database: Path) -> list[str]:
    """The database's content, row for row, to compare before and after."""
    with sqlite3.connect(database) as conn:
        return list(conn.iterdump())


def write_config(path: Path, database: Path, extra: str = "", zone: str = "Europe/Berlin"
                 ) -> Path:
    """A configuration file at `path`: the zone, `extra` lines, and a SQLite database."""
    path.write_text(f'timezone = "{zone}"\n{extra}\n[database]\nurl = "sqlite:///{database}"\n')
    return path
