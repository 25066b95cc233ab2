"""The mailbox watch's part of the database: where each folder's scan stopped, and
the messages already dealt with (once per Message-ID, forever).

Recording a reply or a follow-up and remembering its message is one
transaction, and the message's row goes in first: its unique Message-ID decides,
so a message seen twice (a rescan, a second daemon, the command line at the
same time) changes an interview once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from followup.models import FolderState, HeardVia, Status
from followup.sources.mailbox.replies import Finding, Kind
from followup.store import Store
from followup.store import changes as change_log
from followup.store.interviews import append_followup
from followup.store.records import CHUNK
from followup.store.tables import interviews, mailbox_folders, mailbox_messages


@dataclass(frozen=True, slots=True)
class SentFollowups:
    """The follow-ups found in Sent (those recorded by hand are not here)."""

    by_message: dict[str, tuple[int, str]]  # Message-ID -> (interview id, recipient)
    dates: dict[int, set[datetime]]  # interview id -> the dates of its follow-ups


class MailboxRecords:
    """The mailbox tables, on a Store's engine."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # --- where scans stopped -------------------------------------------------------------

    def folder_state(self, account: str, folder: str) -> FolderState | None:
        query = sa.select(mailbox_folders.c.uidvalidity, mailbox_folders.c.last_uid).where(
            mailbox_folders.c.account == account, mailbox_folders.c.folder == folder)
        with self.store._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else FolderState(row[0], row[1])

    def save_folder_state(self, account: str, folder: str, state: FolderState,
                          now: datetime) -> None:
        """Keep where a scan stopped; with the same UIDVALIDITY, never move back."""
        where = sa.and_(mailbox_folders.c.account == account, mailbox_folders.c.folder == folder)
        with self.store._write() as conn:
            old = conn.execute(sa.select(mailbox_folders.c.uidvalidity,
                                         mailbox_folders.c.last_uid).where(where)).first()
            if old is None:
                conn.execute(mailbox_folders.insert().values(
                    account=account, folder=folder, uidvalidity=state.uidvalidity,
                    last_uid=state.last_uid, scanned_at=now))
                return
            last = max(old[1], state.last_uid) if old[0] == state.uidvalidity else state.last_uid
            conn.execute(mailbox_folders.update().where(where).values(
                uidvalidity=state.uidvalidity, last_uid=last, scanned_at=now))

    # --- what is known ---------------------------------------------------------------------

    def seen(self, message_ids: Iterable[str]) -> set[str]:
        """Which of these Message-IDs were dealt with before."""
        ids = list(set(message_ids))
        found: set[str] = set()
        with self.store._read() as conn:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start:start + CHUNK]
                found.update(conn.execute(sa.select(mailbox_messages.c.message_id).where(
                    mailbox_messages.c.message_id.in_(chunk))).scalars())
        return found

    def sent_followups(self) -> SentFollowups:
        """Every follow-up found in Sent, by Message-ID and by interview (one query)."""
        query = sa.select(mailbox_messages.c.message_id, mailbox_messages.c.interview_id,
                          mailbox_messages.c.recipient, mailbox_messages.c.date).where(
            mailbox_messages.c.kind == str(Kind.FOLLOWUP_SENT),
            mailbox_messages.c.interview_id.is_not(None))
        found = SentFollowups({}, {})
        with self.store._read() as conn:
            for message_id, interview_id, recipient, date in conn.execute(query):
                found.by_message[message_id] = (interview_id, recipient)
                found.dates.setdefault(interview_id, set()).add(date)
        return found

    # --- recording -------------------------------------------------------------------------

    def record_reply(self, finding: Finding, heard_message: str, now: datetime) -> bool:
        """Mark the interview heard via the mailbox; False when this message was already
        dealt with or the interview is no longer waiting (nothing changed then)."""
        (interview_id,) = finding.interview_ids

        def change(conn: Connection) -> bool:
            result = conn.execute(
                interviews.update()
                .where(interviews.c.id == interview_id,
                       interviews.c.status == str(Status.WAITING))
                .values(status=str(Status.HEARD), heard_via=str(HeardVia.MAILBOX),
                        heard_message=heard_message, updated_at=now))
            if result.rowcount != 1:
                return False
            change_log.note(conn, interview_id)
            return True

        return self._once(finding, interview_id, now, change)

    def record_followup(self, finding: Finding, note: str, now: datetime) -> bool:
        """Record the next follow-up, sent at the message's date; False when this
        message was already dealt with (or its interview is gone)."""
        (interview_id,) = finding.interview_ids

        def change(conn: Connection) -> bool:
            if finding.linked:
                return True  # the user recorded it by hand already
            return append_followup(conn, interview_id, finding.message.date, note, now,
                                   finding.followups_before)

        return self._once(finding, interview_id, now, change)

    def record_away(self, finding: Finding, until: datetime, now: datetime) -> bool:
        """An employer's out-of-office reply: no nudge before `until` (a longer snooze
        stays). False when this message was already dealt with, or nothing moved."""
        (interview_id,) = finding.interview_ids
        snoozed = interviews.c.snoozed_until

        def change(conn: Connection) -> bool:
            result = conn.execute(
                interviews.update()
                .where(interviews.c.id == interview_id,
                       interviews.c.status == str(Status.WAITING),
                       sa.or_(snoozed.is_(None), snoozed < until))
                .values(snoozed_until=until, updated_at=now))
            if result.rowcount == 1:
                change_log.note(conn, interview_id)
            return result.rowcount == 1

        return self._once(finding, interview_id, now, change)

    def remember(self, finding: Finding, now: datetime) -> bool:
        """Keep a message that changed nothing (ambiguous, bounce, automatic reply) so
        that its notice is not repeated; False when it was already kept."""
        interview_id = finding.interview_ids[0] if len(finding.interview_ids) == 1 else None
        return self._once(finding, interview_id, now, lambda conn: True)

    def _once(self, finding: Finding, interview_id: int | None, now: datetime,
              change) -> bool:
        message = finding.message
        row = {"message_id": message.message_id, "interview_id": interview_id,
               "kind": str(finding.kind), "date": message.date,
               "sender": message.sender[:1000], "subject": message.subject[:2000],
               "recipient": finding.counterpart[:1000] if finding.kind is Kind.FOLLOWUP_SENT
               or finding.kind is Kind.BOUNCE else "", "recorded_at": now}
        try:
            with self.store._write() as conn:
                conn.execute(mailbox_messages.insert().values(**row))
                if not change(conn):
                    raise _Unchanged()
                return True
        except (IntegrityError, _Unchanged):
            return False


class _Unchanged(Exception):
    """Roll the message's row back: nothing was changed by it."""
