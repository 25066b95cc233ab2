"""What the mailbox watch's findings change: a reply marks the interview heard, a
follow-up found in Sent is recorded, an out-of-office return date moves the next nudge.
The watch itself (sources.mailbox.watch) reads the mail and calls back through a
`MailboxLedger`, never through the App."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from followup import inputs
from followup.app.core import Core
from followup.errors import UserError
from followup.models import FolderState, Record, Status
from followup.sources.mailbox import away, replies
from followup.sources.mailbox.replies import Candidate, Finding, Kind, Message


class MailboxLedger:
    """What the mailbox watch reads from and writes to the database, on one Core
    (implements `sources.mailbox.watch.Ledger`)."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def now(self) -> datetime:
        return self.core.now()

    def _records(self):
        from followup.store.mailbox import MailboxRecords

        return MailboxRecords(self.core.store)

    def folder_state(self, account: str, folder: str) -> FolderState | None:
        return self._records().folder_state(account, folder)

    def save_folder_state(self, account: str, folder: str, state: FolderState) -> None:
        self._records().save_folder_state(account, folder, state, self.core.now())

    def company(self, interview_id: int) -> str:
        try:
            return self.core.store.get(interview_id).interview.company
        except UserError:
            return f"interview {interview_id}"

    def findings(self, messages: list[Message]) -> list[Finding]:
        """What these messages mean for the waiting interviews (nothing is changed)."""
        records, store = self._records(), self.core.store
        from_mail = records.sent_followups()
        waiting = [_candidate(record, from_mail.dates.get(record.interview.id, set()))
                   for record in store.records([Status.WAITING])]
        seen = records.seen(message.message_id for message in messages)
        return replies.decide(messages, waiting, self.core.settings.me.addresses,
                              from_mail.by_message, seen)

    def apply(self, findings: Iterable[Finding], poke: bool = True) -> list[Finding]:
        """Apply the findings of a mailbox pass: a reply marks its interview heard (via
        the mailbox), a follow-up found in Sent is recorded, sent at the message's date,
        an employer's out-of-office reply naming its return date snoozes the interview
        to the first working hour of the working day after it; the others are
        remembered so that they are reported once. Returns the findings that were new,
        with `applied` set for those that changed an interview."""
        records = self._records()
        done = []
        for finding in findings:
            now, message, moved = self.core.now(), finding.message, False
            if finding.kind is Kind.REPLY:
                heard = f"{message.sender} | {message.subject} | {message.message_id}"
                new = records.record_reply(finding, heard[:2000], now)
            elif finding.kind is Kind.FOLLOWUP_SENT:
                note = f"seen in the mailbox: {message.subject}"[:1000]
                new = records.record_followup(finding, inputs.printable_line(note), now)
            elif until := self._away_until(finding):
                # Moved, or (a longer snooze already, seen before) only remembered.
                moved = new = records.record_away(finding, until, now)
                new = new or records.remember(finding, now)
            else:
                new = records.remember(finding, now)
            if not new:
                continue
            applied = finding.kind in (Kind.REPLY, Kind.FOLLOWUP_SENT) or moved
            done.append(replace(finding, applied=applied))
            if applied and poke:
                self.core._changed(finding.interview_ids[0])
        return done

    def _away_until(self, finding: Finding) -> datetime | None:
        """Until when an employer's out-of-office reply moves the next nudge, or None."""
        if finding.kind is not Kind.AUTO_REPLY or finding.returns_on is None \
                or len(finding.interview_ids) != 1:
            return None
        return away.back_at(finding.returns_on, self.core.policy)

    def from_employer(self, finding: Finding) -> bool:
        """Whether the finding's message comes from an employer's address of one of its
        (waiting) interviews."""
        for interview_id in finding.interview_ids:
            try:
                record = self.core.store.get(interview_id)
            except UserError:
                continue
            if record.interview.status is Status.WAITING and replies.employer_address(
                    _candidate(record, set()), finding.message.sender):
                return True
        return False


def _candidate(record: Record, from_mail: set[datetime]) -> Candidate:
    interview = record.interview
    return Candidate(
        id=interview.id, company=interview.company, role=interview.role,
        interview_at=interview.interview_at, email=interview.email, domains=interview.domains,
        manual_followups=tuple(f.sent_at for f in record.followups
                               if f.sent_at not in from_mail),
        followups=record.followups_sent)
