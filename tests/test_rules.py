"""The rules, as a specification: when is the next nudge due?

Times are written as local ISO times with their offset, so each row says
what a person in that zone would read on the wall clock. Unless a policy says
otherwise: first window 3 days, second 7, business days, at most 2
follow-ups, stale after 30 days, Monday to Friday 09:00-17:00.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup.models import FollowUp, Interview, NextNudge, Nudge, Policy, Record, Status
from followup.rules import (
    add_days,
    can_snooze,
    first_working_instant,
    is_working_time,
    next_nudge,
    unreached_nudge,
    window_opens,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
EVERY_DAY = frozenset(range(7))

OFFICE = Policy(zone=BERLIN)
CALENDAR = Policy(zone=BERLIN, business_days=False)
LATE = Policy(zone=BERLIN, end=None)  # 09:00 to 24:00
CHRISTMAS = Policy(zone=BERLIN, holidays=frozenset({date(2026, 12, 25)}))
CHRISTMAS_CALENDAR = replace(CHRISTMAS, business_days=False)
ONE_ONLY = Policy(zone=BERLIN, max_followups=1)
# Every day from 02:30 to midnight: 02:30 is skipped in spring, repeated in autumn.
NIGHT_BERLIN = Policy(zone=BERLIN, business_days=False, work_days=EVERY_DAY,
                      start=time(2, 30), end=None)
NIGHT_NEW_YORK = replace(NIGHT_BERLIN, zone=NEW_YORK)
NY_OFFICE = Policy(zone=NEW_YORK, business_days=False)


class EveryDate:
    """A holiday calendar in which every day is a holiday."""

    def __contains__(self, day: object) -> bool:
        return True


NO_WORKING_DAY = Policy(zone=BERLIN, holidays=EveryDate())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def record(interview_at: str, *, reply_by: date | None = None, snoozed_until: str | None = None,
           status: Status = Status.WAITING, followups: tuple[FollowUp, ...] = (),
           nudges: tuple[Nudge, ...] = ()) -> Record:
    interview = Interview(id=7, company="Acme", role="Engineer", interview_at=at(interview_at),
                          reply_by=reply_by, status=status,
                          snoozed_until=at(snoozed_until) if snoozed_until else None)
    return Record(interview, followups, nudges)


def reached(number: int, fired_at: str, reached_at: str | None = None) -> Nudge:
    """A nudge that fired and reached the user (at `reached_at`, else as it fired)."""
    return Nudge(number, at(fired_at), reached_at=at(reached_at or fired_at))


def nudge(number: int, opens_at: str, fire_at: str, stale: bool = False,
          again: bool = False) -> NextNudge:
    return NextNudge(interview_id=7, number=number, opens_at=at(opens_at), fire_at=at(fire_at),
                     stale=stale, again=again)


# --- add_days ----------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "moment", "days", "expected"), [
    pytest.param(OFFICE, "2026-03-20 18:00+01:00", 3, "2026-03-25 18:00+01:00",
                 id="Friday evening + 3 business days = Wednesday evening"),
    pytest.param(OFFICE, "2026-03-21 10:00+01:00", 1, "2026-03-23 10:00+01:00",
                 id="Saturday + 1 business day = Monday, same time"),
    pytest.param(OFFICE, "2026-03-21 10:00+01:00", 0, "2026-03-21 10:00+01:00",
                 id="0 days = the same instant, even on a Saturday"),
    pytest.param(OFFICE, "2026-03-20 17:00+00:00", 3, "2026-03-25 18:00+01:00",
                 id="input in UTC, counted in Berlin"),
    pytest.param(OFFICE, "2026-03-20 23:30+00:00", 1, "2026-03-23 00:30+01:00",
                 id="Friday in UTC is Saturday in Berlin"),
    pytest.param(CALENDAR, "2026-03-25 10:00+01:00", 3, "2026-03-28 10:00+01:00",
                 id="calendar days count the weekend"),
    pytest.param(CHRISTMAS, "2026-12-24 10:00+01:00", 1, "2026-12-28 10:00+01:00",
                 id="a holiday does not count"),
    pytest.param(OFFICE, "2026-03-27 10:00+01:00", 1, "2026-03-30 10:00+02:00",
                 id="Berlin spring forward: same wall time, new offset"),
    pytest.param(CALENDAR, "2026-03-26 02:30+01:00", 3, "2026-03-29 03:30+02:00",
                 id="Berlin 02:30 does not exist on 29 March: one hour later"),
    pytest.param(CALENDAR, "2026-10-22 10:00+02:00", 3, "2026-10-25 10:00+01:00",
                 id="Berlin fall back: same wall time, new offset"),
    pytest.param(CALENDAR, "2026-10-22 02:30+02:00", 3, "2026-10-25 02:30+02:00",
                 id="Berlin 02:30 happens twice on 25 October: the first"),
    pytest.param(NY_OFFICE, "2026-03-05 10:00-05:00", 3, "2026-03-08 10:00-04:00",
                 id="New York spring forward"),
    pytest.param(NY_OFFICE, "2026-03-05 02:30-05:00", 3, "2026-03-08 03:30-04:00",
                 id="New York 02:30 does not exist on 8 March"),
    pytest.param(NY_OFFICE, "2026-10-29 10:00-04:00", 3, "2026-11-01 10:00-05:00",
                 id="New York fall back"),
    pytest.param(NY_OFFICE, "2026-10-29 01:30-04:00", 3, "2026-11-01 01:30-04:00",
                 id="New York 01:30 happens twice on 1 November: the first"),
])
def test_add_days(policy, moment, days, expected):
    assert add_days(at(moment), days, policy) == at(expected)


def test_add_days_returns_utc():
    assert add_days(at("2026-03-20 18:00+01:00"), 3, OFFICE).tzinfo is UTC


def test_add_days_with_no_business_day_at_all_raises():
    with pytest.raises(ValueError, match="no business day"):
        add_days(at("2026-03-20 18:00+01:00"), 1, NO_WORKING_DAY)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_days(datetime(2026, 3, 20, 18, 0), 1, OFFICE)


# --- working hours -------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "moment", "expected"), [
    pytest.param(OFFICE, "2026-03-23 09:00+01:00", True, id="Monday 09:00, the start"),
    pytest.param(OFFICE, "2026-03-23 08:59:59+01:00", False, id="Monday just before 09:00"),
    pytest.param(OFFICE, "2026-03-23 16:59:59+01:00", True, id="Monday just before 17:00"),
    pytest.param(OFFICE, "2026-03-23 17:00+01:00", False, id="Monday 17:00, the end"),
    pytest.param(OFFICE, "2026-03-23 08:30+00:00", True, id="09:30 Berlin, given in UTC"),
    pytest.param(OFFICE, "2026-03-21 12:00+01:00", False, id="Saturday noon"),
    pytest.param(CHRISTMAS, "2026-12-25 12:00+01:00", False, id="a holiday on a Friday"),
    pytest.param(CHRISTMAS, "2026-12-24 12:00+01:00", True, id="the day before the holiday"),
    pytest.param(LATE, "2026-03-23 23:59:59+01:00", True, id="end 24:00: Monday 23:59:59"),
    pytest.param(LATE, "2026-03-24 00:00+01:00", False, id="end 24:00: Tuesday 00:00"),
    pytest.param(NIGHT_BERLIN, "2026-03-29 03:29+02:00", False, id="before 02:30 in spring"),
    pytest.param(NIGHT_BERLIN, "2026-03-29 03:30+02:00", True, id="the 02:30 of spring"),
    pytest.param(NIGHT_BERLIN, "2026-10-25 02:29+02:00", False, id="autumn, first 02:29"),
    pytest.param(NIGHT_BERLIN, "2026-10-25 02:29+01:00", True, id="autumn, second 02:29"),
])
def test_is_working_time(policy, moment, expected):
    assert is_working_time(at(moment), policy) is expected


@pytest.mark.parametrize(("policy", "moment", "expected"), [
    pytest.param(OFFICE, "2026-03-24 11:15+01:00", "2026-03-24 11:15+01:00",
                 id="inside working hours: that very instant"),
    pytest.param(OFFICE, "2026-03-25 18:00+01:00", "2026-03-26 09:00+01:00",
                 id="Wednesday evening: Thursday 09:00"),
    pytest.param(OFFICE, "2026-03-24 17:00+01:00", "2026-03-25 09:00+01:00",
                 id="the end of the day: the next morning"),
    pytest.param(OFFICE, "2026-03-28 10:00+01:00", "2026-03-30 09:00+02:00",
                 id="Saturday: Monday 09:00, after the clocks changed"),
    pytest.param(LATE, "2026-03-23 23:00+01:00", "2026-03-23 23:00+01:00",
                 id="end 24:00: 23:00 is working time"),
    pytest.param(CHRISTMAS, "2026-12-24 17:30+01:00", "2026-12-28 09:00+01:00",
                 id="skips the holiday and the weekend"),
    pytest.param(NIGHT_BERLIN, "2026-03-29 00:00+01:00", "2026-03-29 03:30+02:00",
                 id="Berlin: a start in the spring gap resolves one hour later"),
    pytest.param(NIGHT_BERLIN, "2026-10-25 00:00+02:00", "2026-10-25 02:30+02:00",
                 id="Berlin: a start in the autumn overlap is the first one"),
    pytest.param(NIGHT_NEW_YORK, "2026-03-08 00:00-05:00", "2026-03-08 03:30-04:00",
                 id="New York: a start in the spring gap"),
    pytest.param(NIGHT_NEW_YORK, "2026-11-01 00:00-04:00", "2026-11-01 02:30-05:00",
                 id="New York: 02:30 after the autumn change"),
])
def test_first_working_instant(policy, moment, expected):
    assert first_working_instant(at(moment), policy) == at(expected)


def test_first_working_instant_is_none_when_every_day_is_a_holiday():
    assert first_working_instant(at("2026-03-23 10:00+01:00"), NO_WORKING_DAY) is None


# --- window_opens --------------------------------------------------------------------


def test_window_opens_looks_follow_ups_up_by_number_not_position():
    history = record("2026-03-02 10:00+01:00", followups=(
        FollowUp(2, at("2026-03-20 10:00+01:00")),
        FollowUp(1, at("2026-03-05 10:00+01:00")),
    ))
    assert window_opens(history, 2, OFFICE) == at("2026-03-16 10:00+01:00")


def test_window_opens_is_none_without_a_predecessor():
    assert window_opens(record("2026-03-02 10:00+01:00"), 2, OFFICE) is None


# Interview Monday 2 November 2026 10:00 Berlin; window 2 is 7 business days after its base.
@pytest.mark.parametrize(("followups", "nudges", "expected"), [
    pytest.param((FollowUp(1, at("2026-11-06 10:00+01:00")),),
                 (reached(1, "2026-11-20 09:00+01:00"),), "2026-11-17 10:00+01:00",
                 id="follow-up 1 recorded as sent on the 6th after the nudge fired on the 20th: "
                    "the 6th decides"),
    pytest.param((FollowUp(1, at("2026-11-06 10:00+01:00")),),
                 (reached(1, "2026-11-05 10:00+01:00"),), "2026-11-17 10:00+01:00",
                 id="follow-up 1 sent the day after the nudge: the follow-up decides"),
    pytest.param((FollowUp(1, at("2026-11-06 10:00+01:00")),), (), "2026-11-17 10:00+01:00",
                 id="follow-up 1 sent, no nudge at all"),
    pytest.param((), (reached(1, "2026-11-05 10:00+01:00"),), "2026-11-16 10:00+01:00",
                 id="no follow-up: the nudge reached the user as it fired"),
    pytest.param((), (reached(1, "2026-11-05 10:00+01:00", "2026-11-05 14:00+01:00"),),
                 "2026-11-16 14:00+01:00",
                 id="no follow-up: the nudge reached the user on a retry, hours after it fired"),
    pytest.param((), (Nudge(1, at("2026-11-05 10:00+01:00")),), None,
                 id="no follow-up, the nudge reached no channel: no window"),
    pytest.param((FollowUp(1, at("2026-11-09 08:00+01:00")),),
                 (Nudge(1, at("2026-11-05 10:00+01:00")),), "2026-11-18 08:00+01:00",
                 id="the nudge reached no channel, then follow-up 1 was recorded"),
])
def test_window_2_opens_after_what_the_user_recorded(followups, nudges, expected):
    history = record("2026-11-02 10:00+01:00", followups=followups, nudges=nudges)
    assert window_opens(history, 2, OFFICE) == (at(expected) if expected else None)


UNREACHED = Nudge(1, at("2026-11-05 10:00+01:00"))
UNDER_WAY = Nudge(1, at("2026-11-05 10:00+01:00"), settled=False)


@pytest.mark.parametrize(("followups", "nudges", "expected"), [
    pytest.param((), (UNREACHED,), UNREACHED, id="every delivery gave up"),
    pytest.param((), (UNDER_WAY,), UNDER_WAY, id="deliveries still under way"),
    pytest.param((), (reached(1, "2026-11-05 10:00+01:00"),), None, id="reached the user"),
    pytest.param((FollowUp(1, at("2026-11-09 08:00+01:00")),), (UNREACHED,), None,
                 id="follow-up 1 recorded"),
    pytest.param((), (), None, id="no nudge yet"),
])
def test_unreached_nudge(followups, nudges, expected):
    history = record("2026-11-02 10:00+01:00", followups=followups, nudges=nudges)
    assert unreached_nudge(history) == expected


def test_a_nudge_that_reached_no_channel_brings_no_next_nudge():
    history = record("2026-11-02 10:00+01:00", nudges=(UNREACHED,))
    assert next_nudge(history, OFFICE, at("2026-12-01 10:00+01:00")) is None


# --- next_nudge ------------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "history", "now", "expected"), [
    pytest.param(OFFICE, record("2026-03-20 18:00+01:00"), "2026-03-20 19:00+01:00",
                 nudge(1, "2026-03-25 18:00+01:00", "2026-03-26 09:00+01:00"),
                 id="Friday evening: opens Wednesday evening, fires Thursday 09:00"),
    pytest.param(CALENDAR, record("2026-03-25 10:00+01:00"), "2026-03-25 11:00+01:00",
                 nudge(1, "2026-03-28 10:00+01:00", "2026-03-30 09:00+02:00"),
                 id="calendar days: opens Saturday, fires Monday 09:00"),
    pytest.param(NIGHT_BERLIN, record("2026-03-26 01:00+01:00"), "2026-03-26 01:00+01:00",
                 nudge(1, "2026-03-29 01:00+01:00", "2026-03-29 03:30+02:00"),
                 id="Berlin spring-forward night"),
    pytest.param(CALENDAR, record("2026-10-22 10:00+02:00"), "2026-10-22 11:00+02:00",
                 nudge(1, "2026-10-25 10:00+01:00", "2026-10-26 09:00+01:00"),
                 id="Berlin fall-back night"),
    pytest.param(OFFICE, record("2026-10-23 10:00+02:00"), "2026-10-23 11:00+02:00",
                 nudge(1, "2026-10-28 10:00+01:00", "2026-10-28 10:00+01:00"),
                 id="Berlin: business days across the fall-back night"),
    pytest.param(NY_OFFICE, record("2026-03-05 16:00-05:00"), "2026-03-05 17:00-05:00",
                 nudge(1, "2026-03-08 16:00-04:00", "2026-03-09 09:00-04:00"),
                 id="New York spring-forward night"),
    pytest.param(NY_OFFICE, record("2026-10-29 16:30-04:00"), "2026-10-29 17:00-04:00",
                 nudge(1, "2026-11-01 16:30-05:00", "2026-11-02 09:00-05:00"),
                 id="New York fall-back night"),
    pytest.param(LATE, record("2026-03-19 21:00+01:00"), "2026-03-19 22:00+01:00",
                 nudge(1, "2026-03-24 21:00+01:00", "2026-03-24 21:00+01:00"),
                 id="end 24:00: fires at 21:00 the day it opens"),
    pytest.param(OFFICE, record("2026-03-19 21:00+01:00"), "2026-03-19 22:00+01:00",
                 nudge(1, "2026-03-24 21:00+01:00", "2026-03-25 09:00+01:00"),
                 id="end 17:00: the same window waits for the next morning"),
    pytest.param(CHRISTMAS, record("2026-12-22 14:00+01:00"), "2026-12-22 15:00+01:00",
                 nudge(1, "2026-12-28 14:00+01:00", "2026-12-28 14:00+01:00"),
                 id="business days skip the holiday"),
    pytest.param(CHRISTMAS_CALENDAR, record("2026-12-22 14:00+01:00"),
                 "2026-12-22 15:00+01:00",
                 nudge(1, "2026-12-25 14:00+01:00", "2026-12-28 09:00+01:00"),
                 id="a window opening on a holiday fires on the next working day"),
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00", reply_by=date(2026, 3, 13)),
                 "2026-03-02 11:00+01:00",
                 nudge(1, "2026-03-14 00:00+01:00", "2026-03-16 09:00+01:00"),
                 id="reply_by: not before the day after it"),
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00", reply_by=date(2026, 3, 2)),
                 "2026-03-02 11:00+01:00",
                 nudge(1, "2026-03-05 10:00+01:00", "2026-03-05 10:00+01:00"),
                 id="reply_by before the window changes nothing"),
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00",
                                snoozed_until="2026-03-06 15:30+01:00"),
                 "2026-03-02 11:00+01:00",
                 nudge(1, "2026-03-05 10:00+01:00", "2026-03-06 15:30+01:00"),
                 id="snoozed into working hours"),
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00",
                                snoozed_until="2026-03-06 20:00+01:00"),
                 "2026-03-02 11:00+01:00",
                 nudge(1, "2026-03-05 10:00+01:00", "2026-03-09 09:00+01:00"),
                 id="snoozed into Friday evening: Monday 09:00"),
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00",
                                snoozed_until="2026-03-03 12:00+01:00"),
                 "2026-03-02 11:00+01:00",
                 nudge(1, "2026-03-05 10:00+01:00", "2026-03-05 10:00+01:00"),
                 id="a snooze ending before the window changes nothing"),
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00"), "2026-03-07 12:00+01:00",
                 nudge(1, "2026-03-05 10:00+01:00", "2026-03-09 09:00+01:00"),
                 id="overdue on Saturday (downtime): Monday 09:00"),
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00",
                                followups=(FollowUp(1, at("2026-03-06 11:00+01:00")),)),
                 "2026-03-06 12:00+01:00",
                 nudge(2, "2026-03-17 11:00+01:00", "2026-03-17 11:00+01:00"),
                 id="second window: 7 business days after the follow-up sent"),
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00",
                                nudges=(reached(1, "2026-03-05 10:00+01:00"),)),
                 "2026-03-05 10:00+01:00",
                 nudge(2, "2026-03-16 10:00+01:00", "2026-03-16 10:00+01:00"),
                 id="second window: 7 business days after the nudge reached the user"),
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00",
                                followups=(FollowUp(1, at("2026-03-09 08:00+01:00")),),
                                nudges=(reached(1, "2026-03-05 10:00+01:00"),)),
                 "2026-03-09 08:00+01:00",
                 nudge(2, "2026-03-18 08:00+01:00", "2026-03-18 09:00+01:00"),
                 id="second window: the follow-up sent after the nudge decides"),
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00",
                                followups=(FollowUp(1, at("2026-03-05 09:30+01:00")),),
                                nudges=(reached(1, "2026-03-05 10:00+01:00"),)),
                 "2026-03-05 10:00+01:00",
                 nudge(2, "2026-03-16 09:30+01:00", "2026-03-16 09:30+01:00"),
                 id="second window: the follow-up sent before the nudge decides"),
    pytest.param(OFFICE, record("2026-01-05 10:00+01:00"), "2026-02-09 10:00+01:00",
                 nudge(1, "2026-01-08 10:00+01:00", "2026-02-09 10:00+01:00", stale=True),
                 id="window opened 32 days ago: stale"),
    pytest.param(OFFICE, record("2026-01-05 10:00+01:00"), "2026-02-07 10:00+01:00",
                 nudge(1, "2026-01-08 10:00+01:00", "2026-02-09 09:00+01:00"),
                 id="window opened exactly 30 days ago: not yet stale"),
    pytest.param(ONE_ONLY, record("2026-03-02 10:00+01:00"), "2026-03-02 11:00+01:00",
                 nudge(1, "2026-03-05 10:00+01:00", "2026-03-05 10:00+01:00"),
                 id="max_followups 1: the first is still due"),
])
def test_next_nudge(policy, history, now, expected):
    assert next_nudge(history, policy, at(now)) == expected


SENT = FollowUp(1, at("2026-03-06 11:00+01:00"))
SENT_2 = FollowUp(2, at("2026-03-18 11:00+01:00"))
FIRED = reached(1, "2026-03-05 10:00+01:00")
FIRED_2 = reached(2, "2026-03-16 10:00+01:00")


@pytest.mark.parametrize(("policy", "history"), [
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00", followups=(SENT, SENT_2)),
                 id="two follow-ups sent"),
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00", nudges=(FIRED, FIRED_2)),
                 id="two nudges fired"),
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00", followups=(SENT,),
                                nudges=(FIRED, FIRED_2)),
                 id="one sent, two fired"),
    pytest.param(ONE_ONLY, record("2026-03-02 10:00+01:00", nudges=(FIRED,)),
                 id="max_followups 1, one nudge fired"),
    pytest.param(ONE_ONLY, record("2026-03-02 10:00+01:00", followups=(SENT,)),
                 id="max_followups 1, one follow-up sent"),
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00", status=Status.HEARD),
                 id="heard back"),
    pytest.param(OFFICE, record("2026-03-02 10:00+01:00", status=Status.CLOSED),
                 id="closed"),
    pytest.param(NO_WORKING_DAY, record("2026-03-02 10:00+01:00"),
                 id="no working day in sight"),
])
def test_no_nudge(policy, history):
    assert next_nudge(history, policy, at("2026-03-10 10:00+01:00")) is None


# --- snoozes --------------------------------------------------------------------------
# Nudge 1 fired Thursday 5 March 10:00 (FIRED); follow-up 1 sent Friday 11:00 (SENT).


@pytest.mark.parametrize(("history", "now", "expected"), [
    pytest.param(record("2026-03-02 10:00+01:00", nudges=(FIRED,),
                        snoozed_until="2026-03-06 10:00+01:00"),
                 "2026-03-05 11:00+01:00",
                 nudge(1, "2026-03-05 10:00+01:00", "2026-03-06 10:00+01:00", again=True),
                 id="snoozed after nudge 1 fired: nudge 1 again, after the snooze"),
    pytest.param(record("2026-03-02 10:00+01:00", nudges=(FIRED,),
                        snoozed_until="2026-03-06 20:00+01:00"),
                 "2026-03-05 11:00+01:00",
                 nudge(1, "2026-03-05 10:00+01:00", "2026-03-09 09:00+01:00", again=True),
                 id="snoozed into Friday evening: nudge 1 again on Monday 09:00"),
    pytest.param(record("2026-03-02 10:00+01:00", nudges=(FIRED, FIRED_2),
                        snoozed_until="2026-03-17 10:00+01:00"),
                 "2026-03-16 11:00+01:00",
                 nudge(2, "2026-03-16 10:00+01:00", "2026-03-17 10:00+01:00", again=True),
                 id="the last nudge snoozed: it comes again, the cap is unchanged"),
    pytest.param(record("2026-03-02 10:00+01:00", nudges=(reached(1, "2026-03-06 10:00+01:00"),),
                        snoozed_until="2026-03-06 10:00+01:00"),
                 "2026-03-06 10:00+01:00",
                 nudge(2, "2026-03-17 10:00+01:00", "2026-03-17 10:00+01:00"),
                 id="once: nudge 1 fired again at the snooze's end, next is nudge 2"),
    pytest.param(record("2026-03-02 10:00+01:00", nudges=(FIRED,),
                        snoozed_until="2026-03-04 12:00+01:00"),
                 "2026-03-05 11:00+01:00",
                 nudge(2, "2026-03-16 10:00+01:00", "2026-03-16 10:00+01:00"),
                 id="a snooze that ended before nudge 1 fired brings nothing back"),
    pytest.param(record("2026-03-02 10:00+01:00", nudges=(FIRED,), followups=(SENT,),
                        snoozed_until="2026-03-20 10:00+01:00"),
                 "2026-03-06 12:00+01:00",
                 nudge(2, "2026-03-17 11:00+01:00", "2026-03-20 10:00+01:00"),
                 id="follow-up 1 sent: the snooze delays nudge 2"),
    pytest.param(record("2026-01-05 10:00+01:00", snoozed_until="2026-02-09 10:00+01:00"),
                 "2026-02-09 10:00+01:00",
                 nudge(1, "2026-01-08 10:00+01:00", "2026-02-09 10:00+01:00"),
                 id="snoozed past stale_after_days: delivered when the snooze promised"),
    pytest.param(record("2026-01-05 10:00+01:00", snoozed_until="2026-02-09 10:00+01:00"),
                 "2026-03-13 10:00+01:00",
                 nudge(1, "2026-01-08 10:00+01:00", "2026-03-13 10:00+01:00", stale=True),
                 id="stale 32 days after the snooze ended"),
])
def test_snooze(history, now, expected):
    assert next_nudge(history, OFFICE, at(now)) == expected


@pytest.mark.parametrize(("history", "expected"), [
    pytest.param(record("2026-03-02 10:00+01:00"), True, id="nudge 1 to come"),
    pytest.param(record("2026-03-02 10:00+01:00", nudges=(FIRED, FIRED_2)), True,
                 id="nudge 2 fired, follow-up 2 not sent: it can come back"),
    pytest.param(record("2026-03-02 10:00+01:00", nudges=(FIRED, FIRED_2),
                        followups=(SENT, SENT_2)), False, id="both follow-ups sent"),
    pytest.param(record("2026-03-02 10:00+01:00", status=Status.HEARD), False, id="heard"),
])
def test_can_snooze(history, expected):
    assert can_snooze(history, OFFICE, at("2026-03-17 10:00+01:00")) is expected


def test_next_nudge_times_are_utc():
    found = next_nudge(record("2026-03-20 18:00+01:00"), OFFICE, at("2026-03-20 19:00+01:00"))
    assert found is not None
    assert (found.opens_at.tzinfo, found.fire_at.tzinfo) == (UTC, UTC)


# --- properties --------------------------------------------------------------------------

ZONES = ("Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata", "Australia/Lord_Howe",
         "America/Santiago", "Pacific/Chatham")
PROPERTY = settings(max_examples=200, deadline=None)
zones = st.sampled_from(ZONES).map(ZoneInfo)
moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31),
                       timezones=zones)
offsets = st.timedeltas(min_value=timedelta(days=-30), max_value=timedelta(days=400))


@st.composite
def policies(draw) -> Policy:
    start = draw(st.times(max_value=time(22, 59)))
    after_start = time(start.hour + 1, 0)
    return Policy(
        zone=draw(zones),
        first_after_days=draw(st.integers(0, 60)),
        second_after_days=draw(st.integers(1, 90)),
        business_days=draw(st.booleans()),
        max_followups=draw(st.integers(1, 2)),
        stale_after_days=draw(st.integers(1, 3650)),
        work_days=draw(st.frozensets(st.integers(0, 6), min_size=1)),
        start=start,
        end=draw(st.none() | st.times(min_value=after_start)),
        holidays=draw(st.frozensets(st.dates(date(2025, 1, 1), date(2032, 12, 31)),
                                    max_size=30)),
    )


@st.composite
def histories(draw, statuses: st.SearchStrategy[Status] | None = None) -> Record:
    interview_at = draw(moments)
    snooze = draw(st.none() | offsets)
    interview = Interview(id=1, company="Acme", role="Engineer", interview_at=interview_at,
                          reply_by=draw(st.none() | st.dates(date(2025, 1, 1),
                                                             date(2031, 12, 31))),
                          status=draw(st.sampled_from(Status) if statuses is None else statuses),
                          snoozed_until=None if snooze is None else interview_at + snooze)
    sent = draw(st.lists(offsets, max_size=2))
    fired = draw(st.lists(offsets, max_size=2))
    return Record(
        interview,
        tuple(FollowUp(n, interview_at + offset) for n, offset in enumerate(sent, 1)),
        tuple(Nudge(n, interview_at + offset, reached_at=interview_at + offset)
              for n, offset in enumerate(fired, 1)),
    )


@PROPERTY
@given(history=histories(), policy=policies(), now_offset=offsets)
def test_fire_at_is_in_working_hours_and_never_early(history, policy, now_offset):
    now = history.interview.interview_at + now_offset
    found = next_nudge(history, policy, now)
    if found is None:
        return
    assert is_working_time(found.fire_at, policy)
    assert found.fire_at >= found.opens_at
    assert found.fire_at >= now
    snoozed = history.interview.snoozed_until
    assert snoozed is None or found.fire_at >= snoozed
    assert found.fire_at.tzinfo is UTC and found.opens_at.tzinfo is UTC


@PROPERTY
@given(moment=moments, policy=policies())
def test_first_working_instant_is_the_first(moment, policy):
    found = first_working_instant(moment, policy)
    assert found is not None
    assert found >= moment and is_working_time(found, policy)
    # In UTC: a datetime in a DST gap never compares equal to one in another zone.
    if found != moment.astimezone(UTC):
        assert not is_working_time(found - timedelta(microseconds=1), policy)


@PROPERTY
@given(history=histories(st.sampled_from([Status.HEARD, Status.CLOSED])), policy=policies(),
       now=moments)
def test_no_nudge_once_heard_or_closed(history, policy, now):
    assert next_nudge(history, policy, now) is None


@PROPERTY
@given(history=histories(st.just(Status.WAITING)), policy=policies(), now_offset=offsets)
def test_firing_every_nudge_stops_at_max_followups(history, policy, now_offset):
    history = replace(history, followups=(), nudges=())
    now = history.interview.interview_at + now_offset
    for _ in range(policy.max_followups + 3):
        found = next_nudge(history, policy, now)
        if found is None:
            break
        now = found.fire_at
        history = replace(history, nudges=(*history.nudges,
                                           Nudge(found.number, now, reached_at=now)))
    assert len(history.nudges) == policy.max_followups


def test_after_follow_up_1_sent_first_the_last_nudge_is_number_2_and_then_nothing():
    # Follow-up 1 went out before nudge 1 fired: nudge 1 never fires, nudge 2 does,
    # and after it nothing is due: the rules count by number, not by how many.
    policy = Policy(zone=ZoneInfo("Europe/Berlin"), business_days=False, start=time(0),
                    end=None, work_days=frozenset(range(7)))
    interview = Interview(id=1, company="Acme", role="Dev",
                          interview_at=datetime(2026, 11, 2, 10, tzinfo=UTC))
    sent = (FollowUp(1, datetime(2026, 11, 3, 10, tzinfo=UTC)),)
    before = next_nudge(Record(interview, sent), policy, datetime(2026, 11, 20, tzinfo=UTC))
    assert before is not None and before.number == 2
    fired = (Nudge(2, datetime(2026, 11, 20, tzinfo=UTC),
                   reached_at=datetime(2026, 11, 20, tzinfo=UTC)),)
    assert next_nudge(Record(interview, sent, fired), policy,
                      datetime(2026, 12, 30, tzinfo=UTC)) is None


@PROPERTY
@given(several=st.lists(histories(), min_size=2, max_size=6), policy=policies(),
       now_offset=offsets)
def test_remembered_day_arithmetic_answers_as_a_fresh_policy_does(several, policy, now_offset):
    now = several[0].interview.interview_at + now_offset
    remembered = [next_nudge(history, policy, now) for history in several]
    fresh = [next_nudge(history, replace(policy), now) for history in several]
    assert remembered == fresh


def test_a_changed_policy_remembers_nothing_of_the_old_one():
    wednesday = datetime(2026, 12, 23, 10, tzinfo=BERLIN)
    used = Policy(zone=BERLIN)
    add_days(wednesday, 2, used)
    assert used.memo
    changed = replace(used, holidays=frozenset({date(2026, 12, 24)}))
    assert changed.memo == {} and changed != used
    assert add_days(wednesday, 2, changed) == datetime(2026, 12, 28, 10, tzinfo=BERLIN)
    assert add_days(wednesday, 2, used) == datetime(2026, 12, 25, 10, tzinfo=BERLIN)
