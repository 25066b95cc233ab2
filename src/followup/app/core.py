"""What every family of use cases shares: the settings, the one clock, the store
(opened on first use), the rules' policy, and the poke that tells a running daemon
to look again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from followup import clock, rules
from followup.daemon import wake
from followup.models import Policy, Record, View

if TYPE_CHECKING:
    from followup.config import Settings
    from followup.store import Store


@dataclass(frozen=True, slots=True)
class InterviewInput:
    """The fields of `add` and `edit`, as typed; None means "not given"."""

    company: str | None = None
    role: str | None = None
    at: str | None = None
    interviewer: str | None = None
    email: str | None = None
    notes: str | None = None
    reply_by: str | None = None
    topics: tuple[str, ...] | None = None
    domains: tuple[str, ...] | None = None
    language: str | None = None


class Core:
    """The settings, clock and store the use cases work with."""

    def __init__(self, settings: Settings, now: Callable[[], datetime] = clock.now) -> None:
        self.settings = settings
        self.now = now

    @cached_property
    def store(self) -> Store:
        from followup.store import Store

        return Store.open(self.settings.database_url)

    @cached_property
    def policy(self) -> Policy:
        return self.settings.policy()

    def view(self, record: Record) -> View:
        coming = rules.next_nudge(record, self.policy, self.now())
        held = None if coming is not None else rules.unreached_nudge(record)
        if held is not None and held.number >= self.policy.max_followups:
            held = None  # nothing comes after it anyway
        return View(record, coming, held)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.settings.zone)

    def daemon_listening(self) -> bool:
        """Whether a daemon answers on this database's wake socket."""
        return wake.daemon_listening(self.settings.database_url)

    def _changed(self, interview_id: int | None) -> None:
        wake.poke(self.settings.database_url, interview_id)
