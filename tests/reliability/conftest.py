"""Shared pieces of the reliability suite: the counts (worlds come from support.daemon).

Each test reports what it counted (rounds, nudges, lost, duplicated, ...) with
`report`; the lines are printed as they come (outside pytest's capture, so CI
logs show them) and again together at the end of the run.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

REPORTED = pytest.StashKey[list[str]]()


@pytest.fixture
def report(request, capsys) -> Callable[[str], None]:
    lines = request.config.stash.setdefault(REPORTED, [])

    def say(line: str) -> None:
        lines.append(line)
        with capsys.disabled():
            print(f"\n[reliability] {line}", flush=True)

    return say


def pytest_terminal_summary(terminalreporter, config) -> None:
    lines = config.stash.get(REPORTED, [])
    if lines:
        terminalreporter.section("reliability counts")
        for line in lines:
            terminalreporter.write_line(line)
