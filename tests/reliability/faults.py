"""Helpers of the reliability suite: reading the database."""

from __future__ import annotations

import sqlite3

from support.daemon import World, add_interviews  # noqa: F401 (the suite's import)


def query(world: World, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(world.database) as conn:
        return conn.execute(sql, args).fetchall()


def delivered(world: World, channel: str) -> dict[tuple[int, int], int]:
    """(interview id, nudge number) -> attempts, for deliveries recorded as delivered."""
    rows = query(world, "SELECT n.interview_id, n.number, d.attempts FROM deliveries d "
                        "JOIN nudges n ON n.id = d.nudge_id "
                        "WHERE d.channel = ? AND d.status = 'delivered'", channel)
    return {(i, n): attempts for i, n, attempts in rows}
