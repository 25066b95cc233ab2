"""Helpers of the reliability suite: adding interviews fast, reading the database."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from support.daemon import World


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


def query(world: World, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(world.database) as conn:
        return conn.execute(sql, args).fetchall()


def delivered(world: World, channel: str) -> dict[tuple[int, int], int]:
    """(interview id, nudge number) -> attempts, for deliveries recorded as delivered."""
    rows = query(world, "SELECT n.interview_id, n.number, d.attempts FROM deliveries d "
                        "JOIN nudges n ON n.id = d.nudge_id "
                        "WHERE d.channel = ? AND d.status = 'delivered'", channel)
    return {(i, n): attempts for i, n, attempts in rows}
