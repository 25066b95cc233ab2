"""One writer of the contention test, run in a process of its own (multiprocessing
spawn): `followup add`, `snooze` and `sent` through the real command line entry
(`followup.cli.execute`), in this process to spare a thousand interpreter starts."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime, timedelta

ADDS = 40  # then a snooze and a `sent` for each of the first 30: 100 writes


def run(config: str, worker: int) -> list[tuple[list[str], int, str]]:
    """Do the worker's 100 writes; returns (argv, exit code, stderr) for each."""
    from followup.cli import execute

    at = (datetime.now().astimezone() - timedelta(hours=1)).isoformat(timespec="seconds")
    results: list[tuple[list[str], int, str]] = []

    def call(*args: str) -> str:
        out, err = io.StringIO(), io.StringIO()
        argv = ["--config", config, *args]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = execute(argv)
        results.append((argv, code, err.getvalue()))
        return out.getvalue()

    ids: list[int] = []
    for n in range(ADDS):
        printed = call("add", "--company", f"Worker {worker} company {n}", "--role",
                       "Engineer", "--at", at, "--json")
        with contextlib.suppress(ValueError):
            ids.append(json.loads(printed)["id"])
        if n >= 10:  # interleave: writes to older interviews between the adds
            older = ids[n - 10] if n - 10 < len(ids) else None
            if older is not None:
                call("snooze", str(older), "2h")
                call("sent", str(older), "--note", f"worker {worker}")
    return results
