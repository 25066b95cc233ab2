"""The use cases the command line calls. Each returns what the command prints.

The App holds the settings, a clock and (opened on first use) the store; it
checks input with `inputs`, asks `rules` what is due, and after each change
pokes a running daemon so that it looks again at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from followup import clock, content, inputs, rules, wake
from followup.errors import UserError
from followup.models import Draft, Interview, NextNudge, Policy, Record, Status

if TYPE_CHECKING:
    from followup.config import Settings
    from followup.store import Store


@dataclass(frozen=True, slots=True)
class View:
    """An interview as the commands show it: its record and what comes next."""

    record: Record
    next: NextNudge | None

    @property
    def interview(self) -> Interview:
        return self.record.interview

    @property
    def due_next(self) -> NextNudge | None:
        """The next nudge the daemon will deliver (None when nothing, or stale)."""
        return self.next if self.next is not None and not self.next.stale else None


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


class App:
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
        return View(record, rules.next_nudge(record, self.policy, self.now()))

    def _changed(self, interview_id: int | None) -> None:
        wake.poke(self.settings.database_url, interview_id)

    # --- interviews ----------------------------------------------------------------------

    def add(self, given: InterviewInput) -> View:
        if given.company is None or given.role is None or given.at is None:
            raise UserError("add needs --company, --role and --at")
        fields = self._clean(given)
        interview = self.store.add_interview(Interview(id=0, **fields), self.now())
        self._changed(interview.id)
        return self.view(Record(interview))

    def edit(self, interview_id: int, given: InterviewInput) -> View:
        changes = self._clean(given)
        if not changes:
            raise UserError("nothing to change: give at least one option (see `followup "
                            "edit --help`)")
        record = self.store.update_interview(interview_id, changes, self.now())
        self._changed(interview_id)
        return self.view(record)

    def _clean(self, given: InterviewInput) -> dict[str, Any]:
        """Check every given field; return the clean values by Interview field name."""
        zone = self.settings.zone
        checks: dict[str, Callable[[str], Any]] = {
            "company": lambda v: inputs.one_line(v, "company", required=True),
            "role": lambda v: inputs.one_line(v, "role", required=True),
            "at": lambda v: inputs.moment(v, zone, "interview time"),
            "interviewer": lambda v: inputs.one_line(v, "interviewer"),
            "email": inputs.email,
            "notes": inputs.notes,
            "reply_by": lambda v: inputs.day(v, "reply-by date") if v.strip() else None,
        }
        names = {"at": "interview_at"}
        return {names.get(key, key): check(getattr(given, key))
                for key, check in checks.items() if getattr(given, key) is not None}

    def remove(self, interview_id: int) -> None:
        self.store.delete_interview(interview_id)
        self._changed(interview_id)

    def show(self, interview_id: int) -> View:
        return self.view(self.store.get(interview_id))

    def list(self, include_all: bool = False) -> list[View]:
        statuses = None if include_all else [Status.WAITING]
        return [self.view(record) for record in self.store.records(statuses)]

    # --- what happened ---------------------------------------------------------------------

    def sent(self, interview_id: int, at: str | None = None, note: str = "") -> View:
        now = self.now()
        sent_at = inputs.moment(at, self.settings.zone, "sent time") if at else now
        note = inputs.one_line(note, "note")
        record = self.store.get(interview_id)
        if sent_at < record.interview.interview_at:
            raise UserError("a follow-up cannot be sent before the interview "
                            f"({self.local(record.interview.interview_at):%Y-%m-%d %H:%M})")
        if sent_at > now + timedelta(minutes=5):
            raise UserError("a follow-up cannot be recorded as sent in the future")
        record = self.store.add_followup(interview_id, sent_at, note, now)
        self._changed(interview_id)
        return self.view(record)

    def heard(self, interview_id: int, outcome: str | None = None) -> View:
        changes = {"status": Status.HEARD,
                   "outcome": str(inputs.outcome(outcome)) if outcome else None}
        record = self.store.update_interview(interview_id, changes, self.now())
        self._changed(interview_id)
        return self.view(record)

    def close(self, interview_id: int) -> View:
        record = self.store.update_interview(interview_id, {"status": Status.CLOSED},
                                             self.now())
        self._changed(interview_id)
        return self.view(record)

    def snooze(self, interview_id: int, how_long: str) -> View:
        delta = inputs.duration(how_long)
        record = self.store.get(interview_id)
        if record.interview.status is not Status.WAITING:
            raise UserError(f"interview {interview_id} is {record.interview.status}: "
                            "there is nothing to snooze")
        if rules.next_nudge(record, self.policy, self.now()) is None:
            raise UserError(f"interview {interview_id} has no nudge left to snooze")
        until = self.now() + delta
        record = self.store.update_interview(interview_id, {"snoozed_until": until},
                                             self.now())
        self._changed(interview_id)
        return self.view(record)

    # --- what comes next ------------------------------------------------------------------

    def due(self, days: int = 14) -> tuple[list[View], list[View]]:
        """The interviews whose nudge the daemon will deliver in the next `days` days,
        soonest first, and those whose nudge is stale (will not be delivered)."""
        if not 0 <= days <= 3650:
            raise UserError(f"--days {days} must be between 0 and 3650")
        horizon = self.now() + timedelta(days=days)
        records = self.store.records([Status.WAITING], below=self.policy.max_followups)
        views = [self.view(record) for record in records]
        coming = [v for v in views if v.due_next and v.due_next.fire_at <= horizon]
        coming.sort(key=lambda v: (v.due_next.fire_at, v.interview.id))
        stale = [v for v in views if v.next is not None and v.next.stale]
        return coming, stale

    def draft(self, interview_id: int) -> tuple[View, Draft, int]:
        """The draft of the next follow-up to send, and its number."""
        record = self.store.get(interview_id)
        interview = record.interview
        if interview.status is Status.HEARD:
            raise UserError(f"{interview.company} already replied: no follow-up is needed")
        limit = self.policy.max_followups
        number = record.followups_sent + 1
        if number > limit:
            raise UserError(f"you already sent {record.followups_sent} follow-up(s) to "
                            f"{interview.company}; more would be pushy")
        return self.view(record), content.draft(interview, number, limit), number

    # --- the daemon -------------------------------------------------------------------------

    def run_daemon(self, load_settings: Callable[[], Settings], verbose: bool = False) -> int:
        """Run the daemon until SIGTERM or SIGINT; returns the exit code."""
        import asyncio

        from followup import channels, sources
        from followup.daemon import Daemon, setup_logging

        setup_logging(self.settings.daemon.log_level, verbose)
        # A database server that is not up yet (or another machine that is away) is
        # waited for, with backoff, rather than an exit; the CLI's commands fail at once.
        from followup.pickup import open_patiently

        self.__dict__["store"] = open_patiently(self.settings.database_url)  # cached_property

        def build(settings: Settings) -> dict:
            return {c.name: c for c in channels.build(settings, self.on_action)}

        async def serve() -> int:
            daemon = Daemon(self.settings, self.store, build, load_settings, self.now,
                            verbose=verbose, build_sources=sources.build, app=self)
            return await daemon.run()

        return asyncio.run(serve())

    async def on_action(self, action: str, interview_id: int) -> None:
        """A button pressed on a desktop notification: `sent` or `snooze`."""
        import asyncio
        import logging

        log = logging.getLogger("followup")
        try:
            if action == "sent":
                await asyncio.to_thread(self.sent, interview_id)
            elif action == "snooze":
                await asyncio.to_thread(self.snooze, interview_id, "1d")
            else:
                return
            log.info("recorded %r for interview %d from a notification", action, interview_id)
        except UserError as error:
            log.warning("could not act on %r for interview %d: %s", action, interview_id,
                        error.message)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.settings.zone)
