"""What the daemon hands around: a nudge falling due, a delivery to try again,
one channel's attempt at one nudge."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from followup.models import Record


@dataclass(frozen=True, slots=True)
class Due:
    """A nudge the schedule says is due: claim it (`again`: once more), then deliver it."""

    interview_id: int
    number: int
    opens_at: datetime
    again: bool = False


@dataclass(frozen=True, slots=True)
class Retry:
    """A delivery to attempt again; `previous_owner` is set when taking over from a
    process that died while delivering (or from this one, after an error)."""

    interview_id: int
    number: int
    channel: str
    previous_owner: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """One channel's attempt at one nudge: `attempts` made before, the nudge's firing."""

    record: Record
    number: int
    attempts: int
    fired_at: datetime


Key = tuple[int, int, str]  # interview, nudge number, channel
RetryScheduler = Callable[..., None]  # (interview, number, channel, when, previous owner)
