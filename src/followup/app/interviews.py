"""The interview use cases: add, edit, remove, show, list, what is due, drafts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from followup import content, inputs, rules
from followup.app.core import Core, InterviewInput
from followup.errors import UserError
from followup.models import (
    Coming,
    Draft,
    Interview,
    Policy,
    Record,
    Status,
    Table,
    View,
    columns_of,
)


def _checked_days(days: int) -> int:
    if not 1 <= days <= 3650:
        raise UserError(f"--days {days} must be between 1 and 3650")
    return days


def _readers(policy: Policy, now: datetime) -> tuple[Callable, Callable]:
    """How a table reads its stored values at `now`: its `moment` and `coming` (see
    Table), both cached."""
    from followup.store.records import parse_utc  # the stored form is the store's

    moment = cache(parse_utc)

    @cache
    def coming(number, opens_at, not_before, fire_at, stale_after) -> Coming | None:
        if number is None:
            return None
        timing = rules.timing_at(moment(not_before), moment(fire_at), moment(stale_after),
                                 policy, now)
        return None if timing is None else Coming(number, moment(opens_at), *timing)

    return moment, coming


class Interviews(Core):
    def zone_change(self) -> list[str]:
        """Once, when the configured zone is not the one the database was last used in:
        which interviews were typed in the old zone, and how to fix them (lines for the
        user). Remembers the configured zone."""
        store, current = self.store, self.settings.timezone
        before = store.meta("zone")
        if before == current:
            return []
        store.set_meta("zone", current)
        if before is None:
            return []
        moved = [record.interview for record in store.records([Status.WAITING])
                 if record.interview.zone not in (None, current)]
        lines = [f"note: timezone changed from {before} to {current} since this database was "
                 "last used; times typed without an offset were read in the zone configured then, "
                 "so these interviews keep their moment and now show as:"]
        lines += [f"  #{i.id} {i.company}: typed in {i.zone}, now "
                  f"{i.interview_at.astimezone(self.settings.zone):%Y-%m-%d %H:%M} {current}"
                  for i in moved]
        if moved:
            lines.append(f"  if one was meant in {current}, fix it: `followup edit ID --at TIME`")
        return lines

    def add(self, given: InterviewInput) -> View:
        if given.company is None or given.role is None or given.at is None:
            raise UserError("add needs --company, --role and --at")
        fields = self._clean(given)
        self._check_together(Record(Interview(id=0, **fields)))
        interview = self.store.add_interview(Interview(id=0, **fields), self.now())
        self._changed(interview.id)
        return self.view(Record(interview))

    def edit(self, interview_id: int, given: InterviewInput) -> View:
        changes = self._clean(given)
        if not changes:
            raise UserError("nothing to change: give at least one option (see `followup "
                            "edit --help`)")
        if "interview_at" in changes or changes.get("reply_by"):
            before = self.store.get(interview_id)
            self._check_together(replace(before, interview=replace(before.interview,
                                                                   **changes)))
        record = self.store.update_interview(interview_id, changes, self.now())
        self._changed(interview_id)
        return self.view(record)

    def _clean(self, given: InterviewInput) -> dict[str, Any]:
        """Check every given field; return the clean values by Interview field name."""
        zone, now = self.settings.zone, self.now()
        checks: dict[str, Callable[[Any], Any]] = {
            "company": lambda v: inputs.one_line(v, "company", required=True),
            "role": lambda v: inputs.one_line(v, "role", required=True),
            "at": lambda v: inputs.interview_time(v, zone, now),
            "interviewer": lambda v: inputs.one_line(v, "interviewer"),
            "email": inputs.email,
            "notes": inputs.notes,
            "reply_by": lambda v: inputs.day(v, "reply-by date") if v.strip() else None,
            "topics": inputs.topics,
            "domains": _employer_domains,
            "language": inputs.language,
        }
        names = {"at": "interview_at"}
        fields = {names.get(key, key): check(getattr(given, key))
                  for key, check in checks.items() if getattr(given, key) is not None}
        if "interview_at" in fields:  # the zone a time without an offset was read in
            fields["zone"] = None if inputs.has_offset(given.at) else self.settings.timezone
        return fields

    def _check_together(self, record: Record) -> None:
        """The checks that look at several fields, the same for `add` and `edit`: the
        reply-by date neither before the interview nor more than a year ahead, and the
        interview not after a follow-up already recorded."""
        interview = record.interview
        interview_day = self.local(interview.interview_at).date()
        reply_by = interview.reply_by
        if reply_by is not None and reply_by < interview_day:
            raise UserError(f"the reply-by date {reply_by} is before the interview "
                            f"({interview_day}): give the date they said they would reply by")
        if reply_by is not None:
            inputs.within_a_year(reply_by, self.local(self.now()).date(), "reply-by date")
        if record.followups:
            first = min(record.followups, key=lambda f: f.sent_at)
            if interview.interview_at > first.sent_at:
                raise UserError(
                    f"the interview cannot be after follow-up {first.number}, recorded as "
                    f"sent {self.local(first.sent_at):%Y-%m-%d %H:%M}: give an earlier "
                    "time, or take the follow-up back with `followup sent ID --undo`")

    def remove(self, interview_id: int) -> None:
        self.store.delete_interview(interview_id)
        self._changed(interview_id)

    def show(self, interview_id: int) -> View:
        return self.view(self.store.get(interview_id))

    def by_company(self, company: str) -> int:
        """The id of the one waiting interview whose company is `company` (any case).
        Raises UserError when none or several match (naming them)."""
        wanted = company.strip().casefold()
        found = [r.interview for r in self.store.records([Status.WAITING])
                 if r.interview.company.casefold() == wanted]
        if len(found) == 1:
            return found[0].id
        if not found:
            raise UserError(f"no waiting interview with the company {inputs.shown(company)} "
                            "(an ID is a number or a company: see `followup list`)")
        named = ", ".join(f"#{i.id} {i.company} — {i.role}" for i in found)
        raise UserError(f"{len(found)} waiting interviews are with {inputs.shown(company)}: "
                        f"{named}; give the ID")

    def list(self, include_all: bool = False) -> list[View]:
        """The waiting interviews (every one with `include_all`), by interview time,
        with their counts and next nudge (see `list_pages`)."""
        return [view for views in self.list_pages(include_all) for view in views]

    def list_pages(self, include_all: bool = False) -> Iterator[list[View]]:
        """`list` a page at a time, for printing as it is read: each view's record is
        the interview with its counts (`Counted`), its next nudge from the stored plan
        when it is under our settings (see `store.plan`)."""
        statuses = None if include_all else [Status.WAITING]
        now, policy = self.now(), self.policy
        for page in self.store.planned_records(policy, statuses):
            yield [View(counted, rules.nudge_at(planned, policy, now))
                   for counted, planned in page]

    def list_table(self, include_all: bool = False) -> Table:
        """`list` as a table (see `store.listing`): the waiting interviews (every one
        with `include_all`), by interview time."""
        now = self.now()
        statuses = None if include_all else [Status.WAITING]
        return Table(self.store.list_columns(self.policy, statuses), now,
                     *_readers(self.policy, now))

    def due(self, days: int = 14) -> tuple[list[View], list[View]]:
        """The interviews whose nudge the daemon will deliver in the next `days` days,
        soonest first, and those whose nudge is stale (will not be delivered)."""
        now = self.now()
        horizon = now + timedelta(days=_checked_days(days))
        views = self._due_views(now, horizon)
        coming = [v for v in views if v.due_next and v.due_next.fire_at <= horizon]
        coming.sort(key=lambda v: (v.due_next.fire_at, v.interview.id))
        stale = [v for v in views if v.next is not None and v.next.stale]
        return coming, stale

    def due_table(self, days: int = 14) -> tuple[Table, list[Any]]:
        """`due` as a table (see `store.listing`): those whose nudge the daemon will
        deliver in the next `days` days, soonest first; and the rows of those whose
        nudge is stale (will not be delivered)."""
        now = self.now()
        horizon = now + timedelta(days=_checked_days(days))
        moment, coming = _readers(self.policy, now)
        stale, timed = [], []
        for row in self.store.due_rows(self.policy, horizon, now):
            nudge = coming(*row[3:])
            if nudge is None:
                continue
            if nudge.stale:
                stale.append(row)
            elif nudge.fire_at <= horizon:
                timed.append((nudge.fire_at, row[0], row))
        timed.sort()
        stale.sort(key=lambda row: row[0])
        rows = [row for _, _, row in timed]
        return Table(columns_of([rows]), now, moment, coming), stale

    def _due_views(self, now: datetime, horizon: datetime) -> list[View]:
        """The interviews whose nudge fires by `horizon` or is stale: read by fire time
        from the stored plan; or, while a daemon keeps the plan under other settings,
        from the rules over every waiting record."""
        policy = self.policy
        found = self.store.planned_due(policy, horizon, now)
        if found is None:
            records = self.store.records([Status.WAITING], below=policy.max_followups)
            return [View(record, rules.next_nudge(record, policy, now)) for record in records]
        return [View(counted, rules.nudge_at(planned, policy, now))
                for counted, planned in found]

    def draft(self, interview_id: int, number: int | None = None) -> tuple[View, Draft, int]:
        """The draft of the next follow-up to send, or of follow-up `number` (also one
        already sent: to re-read it), and its number."""
        record = self.store.get(interview_id)
        interview = record.interview
        limit = self.policy.max_followups
        if number is not None:
            last = max(limit, record.followups_sent)
            if not 1 <= number <= last:
                raise UserError(f"--number {number} is not a follow-up of {interview.company}:"
                                f" give 1 to {last}")
            draft = content.draft(interview, number, limit, self.settings.me.name,
                                  self.settings.me.language)
            return self.view(record), draft, number
        if interview.status is Status.HEARD:
            raise UserError(f"{interview.company} already replied: no follow-up is needed "
                            "(`--number K` shows follow-up K's draft)")
        number = record.followups_sent + 1
        if number > limit:
            raise UserError(f"you already sent {record.followups_sent} follow-up(s) to "
                            f"{interview.company}; more would be pushy (`--number K` shows "
                            "follow-up K's draft again)")
        return self.view(record), self.next_draft(record), number

    def next_draft(self, record: Record) -> Draft:
        """The draft of the next follow-up to send, as `followup draft` prints it and
        the calendar export shows it: signed, in the interview's language."""
        return content.draft(record.interview, record.followups_sent + 1,
                             self.policy.max_followups, self.settings.me.name,
                             self.settings.me.language)


def _employer_domains(values: tuple[str, ...]) -> tuple[str, ...]:
    """`inputs.domains`, refusing a public mail provider's: anyone has an address there,
    so the mailbox watch never takes its whole domain for the employer's."""
    from followup.sources.mailbox.replies import is_public_provider

    found = inputs.domains(values)
    for name in found:
        if is_public_provider(name):
            raise UserError(f"--domain {name} is a public mail provider: anyone can have an "
                            "address there, so it never counts as the employer's (give the "
                            "interviewer's own address with --email instead)")
    return found
