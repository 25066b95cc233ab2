"""Shared pieces of the reliability suite: worlds with a real daemon, and the counts.

Each test reports what it counted (rounds, nudges, lost, duplicated, ...) with
`report`; the lines are printed as they come (outside pytest's capture, so CI
logs show them) and again together at the end of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from support.daemon import World

REPORTED = pytest.StashKey[list[str]]()


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
