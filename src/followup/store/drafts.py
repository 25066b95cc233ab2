"""The drafts followup put into the Drafts folder (table `mail_drafts`, migration 0014),
and the conversation a new draft answers, read from the mailbox watch's messages.

The conversation's last message is the employer's last reply seen for the
interview, else the user's last follow-up found in Sent (the watch keeps the
Message-ID and subject of both in `mailbox_messages`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from followup.models import Record
from followup.sources.mailbox.drafts import Placed, StoredDraft, Thread
from followup.sources.mailbox.replies import Kind
from followup.store import Store
from followup.store.records import load_records
from followup.store.tables import mail_drafts, mailbox_messages

COLUMNS = (mail_drafts.c.id, mail_drafts.c.interview_id, mail_drafts.c.number,
           mail_drafts.c.account, mail_drafts.c.folder, mail_drafts.c.uidvalidity,
           mail_drafts.c.uid, mail_drafts.c.message_id, mail_drafts.c.size)


class DraftRecords:
    """The drafts table and the conversations, on a Store's engine."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def thread(self, interview_id: int) -> Thread | None:
        """The message a new draft for this interview answers, or None."""
        with self.store._read() as conn:
            for kind in (Kind.REPLY, Kind.FOLLOWUP_SENT):
                row = conn.execute(
                    sa.select(mailbox_messages.c.message_id, mailbox_messages.c.subject)
                    .where(mailbox_messages.c.interview_id == interview_id,
                           mailbox_messages.c.kind == str(kind))
                    .order_by(mailbox_messages.c.date.desc(), mailbox_messages.c.id.desc())
                    .limit(1)).first()
                if row is not None:
                    return Thread(row[0], row[1])
        return None

    def record(self, interview_id: int, number: int, account: str, folder: str,
               placed: Placed, message_id: str, now: datetime) -> None:
        """Keep a draft put into the folder (once per Message-ID: a retry that found it
        there already changes nothing)."""
        try:
            with self.store._write() as conn:
                conn.execute(mail_drafts.insert().values(
                    interview_id=interview_id, number=number, account=account,
                    folder=folder, uidvalidity=placed.uidvalidity, uid=placed.uid,
                    message_id=message_id, size=placed.size, made_at=now))
        except IntegrityError:
            pass

    def stored(self) -> list[StoredDraft]:
        with self.store._read() as conn:
            rows = conn.execute(sa.select(*COLUMNS).order_by(mail_drafts.c.id)).all()
        return [StoredDraft(*row) for row in rows]

    def records(self, interview_ids: Sequence[int]) -> dict[int, Record]:
        """The interviews that still exist among these, by id."""
        with self.store._read() as conn:
            found = load_records(conn, sorted(set(interview_ids)), with_deliveries=False)
        return {record.interview.id: record for record in found}

    def forget(self, draft_id: int) -> None:
        with self.store._write() as conn:
            conn.execute(mail_drafts.delete().where(mail_drafts.c.id == draft_id))
