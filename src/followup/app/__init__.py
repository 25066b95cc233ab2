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

from followup import clock, content, inputs, rules
from followup.daemon import wake
from followup.errors import UserError
from followup.models import Draft, HeardVia, Interview, NextNudge, Policy, Record, Status

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
    topics: tuple[str, ...] | None = None
    domains: tuple[str, ...] | None = None


SOURCE_NAMES = ("mailbox", "calendar")  # the sources whose state `service status` shows


class App:
    def __init__(self, settings: Settings, now: Callable[[], datetime] = clock.now) -> None:
        self.settings = settings
        self.now = now

    @cached_property
    def store(self) -> Store:
        from followup.store import Store

        return Store.open(self.settings.database_url)

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

    def daemon_listening(self) -> bool:
        """Whether a daemon answers on this database's wake socket."""
        return wake.daemon_listening(self.settings.database_url)

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
        self._check_reply_by(fields["interview_at"], fields.get("reply_by"))
        interview = self.store.add_interview(Interview(id=0, **fields), self.now())
        self._changed(interview.id)
        return self.view(Record(interview))

    def edit(self, interview_id: int, given: InterviewInput) -> View:
        changes = self._clean(given)
        if not changes:
            raise UserError("nothing to change: give at least one option (see `followup "
                            "edit --help`)")
        if "interview_at" in changes or changes.get("reply_by"):
            before = self.store.get(interview_id).interview
            self._check_reply_by(changes.get("interview_at", before.interview_at),
                                 changes.get("reply_by", before.reply_by))
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
            "domains": inputs.domains,
        }
        names = {"at": "interview_at"}
        fields = {names.get(key, key): check(getattr(given, key))
                  for key, check in checks.items() if getattr(given, key) is not None}
        if "interview_at" in fields:  # the zone a time without an offset was read in
            fields["zone"] = None if inputs.has_offset(given.at) else self.settings.timezone
        return fields

    def _check_reply_by(self, interview_at: datetime, reply_by: Any) -> None:
        interview_day = self.local(interview_at).date()
        if reply_by is not None and reply_by < interview_day:
            raise UserError(f"the reply-by date {reply_by} is before the interview "
                            f"({interview_day}): give the date they said they would reply by")

    def remove(self, interview_id: int) -> None:
        self.store.delete_interview(interview_id)
        self._changed(interview_id)

    def show(self, interview_id: int) -> View:
        return self.view(self.store.get(interview_id))

    def list(self, include_all: bool = False) -> list[View]:
        statuses = None if include_all else [Status.WAITING]
        return [self.view(record) for record in self.store.records(statuses)]

    # --- what happened ---------------------------------------------------------------------

    def sent(self, interview_id: int, at: str | None = None, note: str = "",
             force: bool = False) -> View:
        now = self.now()
        sent_at = inputs.moment(at, self.settings.zone, "sent time") if at else now
        note = inputs.one_line(note, "note")
        record = self.store.get(interview_id)
        limit = self.policy.max_followups
        if record.followups_sent >= limit and not force:
            raise UserError(f"{record.followups_sent} follow-up(s) to "
                            f"{record.interview.company} are recorded already, the most "
                            f"[rules] max_followups allows ({limit}); more would be pushy. "
                            "Record it anyway with --force")
        if sent_at < record.interview.interview_at:
            raise UserError("a follow-up cannot be sent before the interview "
                            f"({self.local(record.interview.interview_at):%Y-%m-%d %H:%M})")
        if sent_at > now + timedelta(minutes=5):
            raise UserError("a follow-up cannot be recorded as sent in the future")
        record = self.store.add_followup(interview_id, sent_at, note, now)
        self._changed(interview_id)
        return self.view(record)

    def unsend(self, interview_id: int) -> View:
        """Take back the last recorded follow-up (recorded by mistake)."""
        record = self.store.remove_last_followup(interview_id, self.now())
        self._changed(interview_id)
        return self.view(record)

    def heard(self, interview_id: int, outcome: str | None = None) -> View:
        changes = {"status": Status.HEARD,
                   "outcome": str(inputs.outcome(outcome)) if outcome else None,
                   "heard_via": HeardVia.MANUAL, "heard_message": None}
        record = self.store.update_interview(interview_id, changes, self.now())
        self._changed(interview_id)
        return self.view(record)

    def reopen(self, interview_id: int) -> View:
        """Back to waiting: undoes `heard` (however it was heard) and `close`."""
        record = self.store.get(interview_id)
        if record.interview.status is Status.WAITING:
            raise UserError(f"interview {interview_id} is already waiting: there is nothing "
                            "to reopen")
        changes = {"status": Status.WAITING, "outcome": None, "heard_via": None,
                   "heard_message": None}
        record = self.store.update_interview(interview_id, changes, self.now())
        self._changed(interview_id)
        return self.view(record)

    def close(self, interview_id: int) -> View:
        record = self.store.update_interview(interview_id, {"status": Status.CLOSED},
                                             self.now())
        self._changed(interview_id)
        return self.view(record)

    def snooze(self, interview_id: int, how_long: str | None) -> View:
        """Not before `how_long` from now; None or "0" removes the snooze."""
        clear = how_long is None or how_long.strip() == "0"
        delta = None if clear else inputs.duration(how_long)
        record = self.store.get(interview_id)
        if clear:
            until = None
        elif record.interview.status is not Status.WAITING:
            raise UserError(f"interview {interview_id} is {record.interview.status}: "
                            "there is nothing to snooze")
        elif not rules.can_snooze(record, self.policy, self.now()):
            raise UserError(f"interview {interview_id} has no nudge left to snooze")
        else:
            until = self.now() + delta
        record = self.store.update_interview(interview_id, {"snoozed_until": until},
                                             self.now())
        self._changed(interview_id)
        return self.view(record)

    def snooze_remark(self, view: View) -> str | None:
        """When a snooze does not end where the nudge comes: why, and when it comes."""
        until, coming = view.interview.snoozed_until, view.due_next
        if until is None or coming is None or coming.fire_at <= until + timedelta(minutes=1):
            return None
        at = f"{self.local(coming.fire_at):%a %d %b %Y %H:%M}"
        if coming.opens_at > until:
            return (f"follow-up {coming.number} is not due before then anyway: the nudge "
                    f"comes {at}")
        return (f"the snooze ends outside working hours "
                f"({self.local(until):%a %d %b %H:%M}): the nudge comes {at}")

    # --- what comes next ------------------------------------------------------------------

    def due(self, days: int = 14) -> tuple[list[View], list[View]]:
        """The interviews whose nudge the daemon will deliver in the next `days` days,
        soonest first, and those whose nudge is stale (will not be delivered)."""
        if not 1 <= days <= 3650:
            raise UserError(f"--days {days} must be between 1 and 3650")
        now = self.now()
        horizon = now + timedelta(days=days)
        records = self.store.records([Status.WAITING], below=self.policy.max_followups)
        views = [View(record, rules.next_nudge(record, self.policy, now)) for record in records]
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
        draft = content.draft(interview, number, limit, self.settings.me.name)
        return self.view(record), draft, number

    def sources(self) -> dict[str, dict[str, Any] | None]:
        """What the daemon last reported of each source (None: never reported)."""
        import json

        found = {}
        for name in SOURCE_NAMES:
            value = self.store.meta(f"source:{name}")
            try:
                found[name] = json.loads(value) if value else None
            except ValueError:
                found[name] = None
        return found

    # --- the daemon -------------------------------------------------------------------------

    def run_daemon(self, load_settings: Callable[[], Settings], verbose: bool = False) -> int:
        """Run the daemon until SIGTERM or SIGINT; returns the exit code."""
        import asyncio

        from followup import channels, sources
        from followup.daemon.loop import Daemon, setup_logging

        setup_logging(self.settings.daemon.log_level, verbose)
        # A database server that is not up yet (or another machine that is away) is
        # waited for, with backoff, rather than an exit; the CLI's commands fail at once.
        from followup.daemon.pickup import open_patiently

        self.__dict__["store"] = open_patiently(self.settings.database_url)  # cached_property

        def build(settings: Settings) -> dict:
            return {c.name: c for c in channels.build(settings, self.on_action)}

        async def serve() -> int:
            daemon = Daemon(self.settings, self.store, build, load_settings, self.now,
                            verbose=verbose, build_sources=sources.build, app=self)
            return await daemon.run()

        # Not asyncio.run: it waits for every worker thread at the end, and a thread
        # still blocked on a server (a mailbox IDLE whose connection was never aborted)
        # would hold a stopped daemon for minutes. See cli.setup.run_daemon.
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(serve())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()  # the default executor is shut down without waiting

    async def on_action(self, action: str, interview_id: int, number: int) -> None:
        """A button pressed on nudge `number`'s desktop notification: `sent` or `snooze`.

        "I sent it" records follow-up `number` only when it is not recorded yet
        (pressed twice, or after `followup sent`, it changes nothing).
        """
        import asyncio
        import logging

        log = logging.getLogger("followup")
        try:
            if action == "sent":
                done = await asyncio.to_thread(self.sent_from_nudge, interview_id, number)
                if not done:
                    log.info("follow-up %d for interview %d was already recorded; the "
                             "\"I sent it\" button changed nothing", number, interview_id)
                    return
            elif action == "snooze":
                await asyncio.to_thread(self.snooze, interview_id, "1d")
            else:
                return
            log.info("recorded %r for interview %d (nudge %d) from a notification", action,
                     interview_id, number)
        except UserError as error:
            log.warning("could not act on %r for interview %d: %s", action, interview_id,
                        error.message)

    def sent_from_nudge(self, interview_id: int, number: int) -> bool:
        """Record follow-up `number` as sent now, unless it is recorded; returns whether
        it recorded it."""
        if self.store.get(interview_id).followups_sent >= number:
            return False
        self.sent(interview_id)
        return True

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.settings.zone)

    # --- the calendar ---------------------------------------------------------------------

    @cached_property
    def calendar(self):
        """The calendar use cases (`calendar_sync.CalendarSync`), built on first use."""
        from followup.app.calendar import CalendarSync

        return CalendarSync(self)

    def import_calendar(self, source: str, dry_run: bool = False) -> list:
        """`followup import FILE_OR_URL`: the steps taken (or, dry, that would be)."""
        from followup.app.calendar import changed_any

        steps = self.calendar.import_source(source, dry_run)
        if not dry_run and changed_any(steps):
            self._changed(None)  # the daemon's own watch tells it through its source
        return steps

    def export_calendar(self) -> bytes:
        """`followup export`: the planned nudges as an iCalendar document."""
        return self.calendar.export_bytes()

    # --- the mailbox watch ------------------------------------------------------------------

    def mailbox_scan(self, dry_run: bool = False, progress=None, report=None) -> list:
        """`followup mailbox scan`: one pass over the mailbox; the findings new in it.
        Raises UserError (exit 1) when the server cannot be reached or refuses us."""
        from followup.sources.mailbox import watch as mailbox

        if not self.settings.mailbox.host:
            where = self.settings.path or "the configuration (`followup config init`)"
            raise UserError(f"no mailbox to scan: set [mailbox] host and username in {where}")
        return mailbox.scan_once(self, dry_run, progress, report)

    def mailbox_findings(self, messages: list) -> list:
        """What these messages mean for the waiting interviews (nothing is changed)."""
        from followup.sources.mailbox import replies
        from followup.store.mailbox import MailboxRecords

        records = MailboxRecords(self.store)
        from_mail = records.followup_dates()
        waiting = [_candidate(record, from_mail.get(record.interview.id, set()))
                   for record in self.store.records([Status.WAITING])]
        seen = records.seen(message.message_id for message in messages)
        return replies.decide(messages, waiting, self.settings.me.addresses,
                              records.known_followups(), seen)

    def mailbox_apply(self, findings: list, poke: bool = True) -> list:
        """Apply the findings of a mailbox pass: a reply marks its interview heard (via
        the mailbox), a follow-up found in Sent is recorded, sent at the message's date;
        the others are remembered so that they are reported once. Returns the findings
        that were new, with `applied` set for those that changed an interview."""
        from dataclasses import replace as changed

        from followup.sources.mailbox.replies import Kind
        from followup.store.mailbox import MailboxRecords

        records = MailboxRecords(self.store)
        done = []
        for finding in findings:
            now, message = self.now(), finding.message
            if finding.kind is Kind.REPLY:
                heard = f"{message.sender} | {message.subject} | {message.message_id}"
                new = records.record_reply(finding, heard[:2000], now)
            elif finding.kind is Kind.FOLLOWUP_SENT:
                note = f"seen in the mailbox: {message.subject}"[:1000]
                new = records.record_followup(finding, inputs.printable_line(note), now)
            else:
                new = records.remember(finding, now)
            if not new:
                continue
            applied = finding.kind in (Kind.REPLY, Kind.FOLLOWUP_SENT)
            done.append(changed(finding, applied=applied))
            if applied and poke:
                self._changed(finding.interview_ids[0])
        return done


def _candidate(record: Record, from_mail: set[datetime]):
    from followup.sources.mailbox.replies import Candidate

    interview = record.interview
    return Candidate(
        id=interview.id, company=interview.company, role=interview.role,
        interview_at=interview.interview_at, email=interview.email, domains=interview.domains,
        manual_followups=tuple(f.sent_at for f in record.followups
                               if f.sent_at not in from_mail))
