"""What the daemon hands around: a nudge falling due, a delivery to try again,
one channel's attempt at one nudge."""

from __future__ import annotations

import secrets
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
    """A delivery to attempt again (after a failure, or taken over once its lease lapsed)."""

    interview_id: int
    number: int
    channel: str


@dataclass(frozen=True, slots=True)
class Job:
    """One channel's attempt at one nudge: `attempts` made before, the nudge's firing,
    and the attempt's token (the fence its lease and its record are written against)."""

    record: Record
    number: int
    attempts: int
    fired_at: datetime
    attempt: str | None = None


RetryScheduler = Callable[..., None]  # (interview, number, channel, when)


def new_attempt() -> str:
    """A new attempt's token: unique, so no two attempts, even of one process, share one."""
    return secrets.token_hex(16)
