"""When the next nudge for an interview is due. Pure: no I/O, no clock.

Day arithmetic happens in local wall time of the policy's zone: a date moves,
the wall-clock time stays, and the zone is re-attached as zoneinfo does it
(fold=0 for a time in a DST gap or overlap). So an interview at 10:00 plus
three days opens at 10:00 local time even across a DST change. Every
datetime returned is timezone-aware UTC; every datetime taken must be aware
(any zone).

Instants are compared only in UTC: Python compares two datetimes that share
a tzinfo by wall time, which is wrong across a DST change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from followup.models import NextNudge, Nudge, PlannedNudge, Policy, Record, Status

# How far ahead to look for a working day before deciding there is none
# (every day a holiday, say).
SEARCH_DAYS = 2 * 366


def next_nudge(record: Record, policy: Policy, now: datetime) -> NextNudge | None:
    """The nudge that comes next for this interview, or None when none will.

    None when the interview is not waiting, when `max_followups` follow-ups or
    nudges have already happened, or when no working instant can be found.

    A snooze set after nudge k fired, while follow-up k is not sent, brings
    nudge k back once (`again=True`, same number) at the first working instant
    after the snooze; any other snooze only delays the next nudge.

    A stale nudge (its window open longer than `stale_after_days`) is returned
    with `stale=True`; delivering it is the caller's decision. The user's own
    snooze does not count towards staleness: a snoozed nudge is judged from
    the end of the snooze, so it is delivered when the snooze promised.

    It is `nudge_at(planned_nudge(record, policy), policy, now)`: the part that
    does not depend on `now` is what the store keeps (see `store.plan`).
    """
    return nudge_at(planned_nudge(record, policy), policy, now)


def planned_nudge(record: Record, policy: Policy) -> PlannedNudge | None:
    """What `next_nudge` says, as far as it does not depend on `now`; None when no
    nudge will come whatever the time."""
    interview = record.interview
    if interview.status != Status.WAITING:
        return None
    again = snoozed_nudge(record)
    if again is not None:
        opens_at = window_opens(record, again.number, policy) or _utc(again.fired_at)
        # The window opened before the nudge fired; max() keeps "never early" for any history.
        not_before = max(_utc(interview.snoozed_until), opens_at)
        return PlannedNudge(interview.id, again.number, opens_at, not_before,
                            first_working_instant(not_before, policy), None, again=True)
    # The highest numbers, not the counts: nudge 1 never fires when follow-up 1 was
    # sent first, and the next after nudge 2 is number 3 all the same.
    number = max((step.number for step in (*record.followups, *record.nudges)), default=0) + 1
    if number > policy.max_followups:
        return None
    opens_at = window_opens(record, number, policy)
    if opens_at is None:
        return None
    snooze = interview.snoozed_until
    not_before = opens_at if snooze is None else max(opens_at, _utc(snooze))
    return PlannedNudge(interview.id, number, opens_at, not_before,
                        first_working_instant(not_before, policy),
                        not_before + timedelta(days=policy.stale_after_days))


def nudge_at(planned: PlannedNudge | None, policy: Policy, now: datetime) -> NextNudge | None:
    """The planned nudge as it stands at `now` (see `timing_at`)."""
    if planned is None:
        return None
    timing = timing_at(planned.not_before, planned.fire_at, planned.stale_after, policy, now)
    if timing is None:
        return None
    fire_at, stale = timing
    return NextNudge(interview_id=planned.interview_id, number=planned.number,
                     opens_at=planned.opens_at, fire_at=fire_at, stale=stale,
                     again=planned.again)


def timing_at(not_before: datetime, fire_at: datetime | None, stale_after: datetime | None,
              policy: Policy, now: datetime) -> tuple[datetime, bool] | None:
    """When a planned nudge (its `not_before`, `fire_at` and `stale_after`, see
    PlannedNudge) fires as it stands at `now`, no earlier than `now` (the first working
    instant after `now` only when the planned one has passed, the same for every such
    nudge), and whether it is stale by now; None when no working instant comes."""
    now = _utc(now)
    if fire_at is None or fire_at < now:
        # The first working instant at or after max(not_before, now); with a planned
        # time that passed, not_before < now.
        fire_at = first_working_instant(max(not_before, now), policy)
        if fire_at is None:
            return None
    return fire_at, stale_after is not None and now > stale_after


def snoozed_nudge(record: Record) -> Nudge | None:
    """The fired nudge a snooze brings back, or None.

    That is the newest nudge k when follow-up k is not sent and the snooze ends
    after nudge k fired: a nudge fires only once its snooze is over, so a later
    end means the user snoozed it after it fired. Firing it again moves its
    `fired_at` past the snooze, which makes this "once".
    """
    snooze = record.interview.snoozed_until
    latest = _unanswered_nudge(record)
    if snooze is None or latest is None:
        return None
    return latest if _utc(snooze) > _utc(latest.fired_at) else None


def _unanswered_nudge(record: Record) -> Nudge | None:
    """The newest fired nudge, when its follow-up (or a later one) is not sent."""
    if not record.nudges:
        return None
    latest = max(record.nudges, key=lambda nudge: nudge.number)
    if any(followup.number >= latest.number for followup in record.followups):
        return None
    return latest


def can_snooze(record: Record, policy: Policy, now: datetime) -> bool:
    """Whether a snooze means anything: a nudge is still to come, or the newest
    fired nudge has no follow-up yet (the snooze brings it back)."""
    if record.interview.status != Status.WAITING:
        return False
    return next_nudge(record, policy, now) is not None or _unanswered_nudge(record) is not None


def window_opens(record: Record, number: int, policy: Policy) -> datetime | None:
    """When the window of follow-up `number` opens, in UTC.

    Window 1 opens `first_after_days` after the interview, and not before the
    local start of the day after `reply_by`. Window k > 1 opens
    `second_after_days` after follow-up k-1 was sent, when the user recorded it
    (whenever they recorded it), else after nudge k-1 reached the user: what the
    user recorded decides, never how fast the daemon was. None when that cannot
    be computed: no follow-up k-1 and no nudge k-1 that reached a channel, or
    business days are counted and none comes within two years.
    """
    if number == 1:
        return _first_window(record, policy)
    base = _previous_step(record, number - 1)
    return None if base is None else _shift(base, policy.second_after_days, policy)


def first_working_instant(moment: datetime, policy: Policy) -> datetime | None:
    """The first instant at or after `moment` inside working hours, in UTC.

    None when there is none within about two years (every day a holiday).
    """
    instant = _utc(moment)
    first_day = instant.astimezone(policy.zone).date()
    for offset in range(SEARCH_DAYS):
        hours = _working_hours(first_day + timedelta(days=offset), policy)
        if hours is not None and max(instant, hours[0]) < hours[1]:
            return max(instant, hours[0])
    return None


def is_working_time(moment: datetime, policy: Policy) -> bool:
    """Whether `moment` lies inside working hours: [start, end) local time on
    a work day that is not a holiday; `end` None means until local midnight."""
    instant = _utc(moment)
    hours = _working_hours(instant.astimezone(policy.zone).date(), policy)
    return hours is not None and hours[0] <= instant < hours[1]


def add_days(moment: datetime, days: int, policy: Policy) -> datetime:
    """`moment` plus `days` local days, same wall-clock time, in UTC.

    With `business_days`, only work days that are not holidays count, so a
    Saturday plus one business day is the Monday. Zero days is the same
    instant. Raises ValueError when business days are counted and no business
    day comes within two years.
    """
    shifted = _shift(moment, days, policy)
    if shifted is None:
        raise ValueError(f"no business day within {SEARCH_DAYS} days of {moment.isoformat()}")
    return shifted


# --- windows ---------------------------------------------------------------------


def _first_window(record: Record, policy: Policy) -> datetime | None:
    interview = record.interview
    opens_at = _shift(interview.interview_at, policy.first_after_days, policy)
    if opens_at is None or interview.reply_by is None:
        return opens_at
    day_after = interview.reply_by + timedelta(days=1)
    return max(opens_at, _local_instant(day_after, time(0), policy.zone))


def _previous_step(record: Record, number: int) -> datetime | None:
    """When follow-up `number` was sent, else when nudge `number` reached the user, in
    UTC; None when neither happened."""
    for followup in record.followups:
        if followup.number == number:
            return _utc(followup.sent_at)
    for nudge in record.nudges:
        if nudge.number == number and nudge.reached_at is not None:
            return _utc(nudge.reached_at)
    return None


def unreached_nudge(record: Record) -> Nudge | None:
    """The nudge that holds the next window shut, or None: the newest fired nudge k,
    when follow-up k is not recorded and no channel has delivered nudge k (yet, when
    it is not `settled`; ever, when every delivery gave up). The next window opens
    when follow-up k is recorded (or, while deliveries are under way, it arrives)."""
    if record.interview.status != Status.WAITING:
        return None
    latest = _unanswered_nudge(record)
    return latest if latest is not None and latest.reached_at is None else None


# --- days and hours --------------------------------------------------------------


def _shift(moment: datetime, days: int, policy: Policy) -> datetime | None:
    if days == 0:
        return _utc(moment)
    local = _utc(moment).astimezone(policy.zone)
    if policy.business_days:
        target = _count_business_days(local.date(), days, policy)
    else:
        target = local.date() + timedelta(days=days)
    return None if target is None else _local_instant(target, local.time(), policy.zone)


def _count_business_days(start: date, days: int, policy: Policy) -> date | None:
    key = ("count", start, days)
    if key not in policy.memo:
        day = start
        for _ in range(days):
            day = _next_business_day(day, policy)
            if day is None:
                break
        policy.memo[key] = day
    return policy.memo[key]


def _next_business_day(day: date, policy: Policy) -> date | None:
    for offset in range(1, SEARCH_DAYS + 1):
        candidate = day + timedelta(days=offset)
        if _is_business_day(candidate, policy):
            return candidate
    return None


def _is_business_day(day: date, policy: Policy) -> bool:
    return day.weekday() in policy.work_days and day not in policy.holidays


def _working_hours(day: date, policy: Policy) -> tuple[datetime, datetime] | None:
    """The working interval [start, end) of a local date, in UTC; None on a day off."""
    key = ("hours", day)
    if key not in policy.memo:
        policy.memo[key] = _compute_working_hours(day, policy)
    return policy.memo[key]


def _compute_working_hours(day: date, policy: Policy) -> tuple[datetime, datetime] | None:
    if not _is_business_day(day, policy):
        return None
    start = _local_instant(day, policy.start, policy.zone)
    if policy.end is None:
        return start, _local_instant(day + timedelta(days=1), time(0), policy.zone)
    return start, _local_instant(day, policy.end, policy.zone)


def _local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The instant a local wall-clock time names; fold=0 in a gap or overlap."""
    return datetime.combine(day, wall, tzinfo=zone).replace(fold=0).astimezone(UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is UTC:  # most are, and this is called a few times per interview
        return moment
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got {moment.isoformat()}")
    return moment.astimezone(UTC)
