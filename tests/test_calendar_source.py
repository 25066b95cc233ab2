"""The calendar watch's pure parts: what the user is told, and how long it waits."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from followup.sources.calendar.events import EventKey, Step
from followup.sources.calendar.watch import backoff, notices

BERLIN = ZoneInfo("Europe/Berlin")
THU = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("step", "told"), [
    (Step("added", EventKey("u"), "Interview with Acme", 4, "",
          {"company": "Acme", "interview_at": THU}),
     [("Interview imported", "Interview with Acme on Thu 3 Dec, 10:00 imported from your "
                             "calendar")]),
    (Step("updated", EventKey("u"), "Phone screen - Beta", 4, "moved", {"interview_at": THU}),
     [("Interview moved", "Phone screen - Beta moved to Thu 3 Dec, 10:00")]),
    (Step("closed", EventKey("u"), "Interview with Acme", 4, "the event was cancelled",
          {"status": "closed"}),
     [("Interview cancelled", "Interview with Acme: the event was cancelled; nudges stopped")]),
    (Step("skipped", EventKey("u"), "Interview with Initrode", None,
          "broken event: no readable start"),
     [("A calendar event was skipped",
       "Interview with Initrode: broken event: no readable start")]),
    (Step("skipped", EventKey("u"), "Interview with Acme", 9, "already entered by hand"), []),
    (Step("unchanged", EventKey("u"), "Interview with Acme", 4), []),
])
def test_notices(step, told):
    assert notices([step], BERLIN) == told


@pytest.mark.parametrize(("poll", "failures", "wait"), [
    (300, 1, 300), (300, 2, 600), (300, 3, 1200), (300, 4, 2400), (300, 5, 3600),
    (300, 12, 3600), (5, 1, 5), (5, 6, 160), (7200, 3, 7200),
])
def test_backoff(poll, failures, wait):
    assert backoff(poll, failures) == wait
