"""The labelled corpus of real calendars (tests/data/calendars/corpus/): `followup
import --dry-run --json` of each, in-process, at the time of the calendar's first
event (so its events fall in the window read).

The configuration matches many everyday words, so that most events of these
test calendars are read, expanded and planned as if they were interviews: the
run proves that nothing in them reaches the user as a traceback. Which of them
are interviews under the default `match` / `exclude` is counted apart.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).resolve().parent.parent / "data" / "calendars" / "corpus"
LABELS = FOLDER / "labels.tsv"
BROAD = ["event", "meeting", "test", "lunch", "party", "holiday", "birthday", "conference",
         "call", "appointment", "daily", "weekly", "monthly", "yearly", "day", "work",
         "summary", "new", "one", "two", "1", "2", "3", "interview"]


@dataclass(frozen=True)
class Label:
    file: str
    exit: int  # 0: read; 1: not an iCalendar file (one line)
    interviews: int  # events a careful person takes for interviews
    note: str = ""


@dataclass(frozen=True)
class Outcome:
    exit: int
    err: str
    interviews: int  # added under the default match / exclude
    read: int  # findings under the broad words


def labels() -> list[Label]:
    with LABELS.open(newline="", encoding="utf-8") as file:
        rows = [row for row in csv.reader(file, delimiter="\t") if row]
    return [Label(r[0], int(r[1]), int(r[2]), r[3] if len(r) > 3 else "") for r in rows[1:]]


def moment(data: bytes) -> str:
    """Noon UTC of the calendar's first DTSTART date, or a fixed day."""
    found = re.search(rb"DTSTART[^:\r\n]*:(\d{4})(\d\d)(\d\d)", data)
    if not found or not (1970 <= int(found[1]) <= 2100):
        return "2026-12-01T12:00:00+00:00"
    year, month, day = (int(x) for x in found.groups())
    return f"{year:04}-{max(month, 1):02}-{min(max(day, 1), 28):02}T12:00:00+00:00"


def import_file(name: str, folder: Path) -> Outcome:
    """`followup import FILE --dry-run --json` in this process, at the calendar's time."""
    from freezegun import freeze_time

    from followup.cli import execute
    from followup.config import EXCLUDE, MATCH
    from followup.sources.calendar.events import matches

    path = FOLDER / name
    config = folder / "followup.toml"
    words = ", ".join(json.dumps(w) for w in BROAD)
    config.write_text(f'timezone = "Europe/Berlin"\n[database]\nurl = "sqlite:///{folder}/c.db"'
                      f'\n[calendar]\nmatch = [{words}]\nexclude = []\n')
    out, err = io.StringIO(), io.StringIO()
    with freeze_time(moment(path.read_bytes())), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        code = execute(["--config", str(config), "import", str(path), "--dry-run", "--json"])
    findings = json.loads(out.getvalue())["findings"] if code == 0 else []
    interviews = sum(1 for f in findings if f["kind"] == "added"
                     and matches(f["summary"], (), MATCH, EXCLUDE))
    return Outcome(code, err.getvalue(), interviews, len(findings))
