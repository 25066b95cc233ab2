"""Buttons pressed on a notification reach the use cases with the nudge's number
(issue 10, item 7): "I sent it" records follow-up k only while it is not recorded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from followup.app import App, InterviewInput
from followup.config import parse_text

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
def app(tmp_path):
    settings = parse_text(f'timezone = "Europe/Berlin"\n[database]\n'
                          f'url = "sqlite:///{tmp_path}/a.db"\n')
    found = App(settings, now=lambda: NOW)
    found.add(InterviewInput(company="Acme", role="Dev", at="2026-11-20T10:00"))
    return found


def test_i_sent_it_on_nudge_1_records_follow_up_1(app):
    asyncio.run(app.on_action("sent", 1, 1))
    assert app.show(1).record.followups_sent == 1


def test_i_sent_it_after_followup_sent_records_nothing_more(app):
    app.sent(1)
    asyncio.run(app.on_action("sent", 1, 1))  # nudge 1's button, pressed late
    asyncio.run(app.on_action("sent", 1, 1))  # and again
    record = app.show(1).record
    assert record.followups_sent == 1


def test_i_sent_it_on_nudge_2_records_follow_up_2_once(app):
    app.sent(1)
    asyncio.run(app.on_action("sent", 1, 2))
    asyncio.run(app.on_action("sent", 1, 2))
    assert app.show(1).record.followups_sent == 2


def test_snooze_from_a_notification_snoozes_a_day(app):
    asyncio.run(app.on_action("snooze", 1, 1))
    assert app.show(1).interview.snoozed_until == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
