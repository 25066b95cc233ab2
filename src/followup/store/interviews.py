"""Interviews and the follow-ups sent for them: adding, changing, deleting, reading.

`append_followup` is the one code path that writes a follow-up row and what
follows from it; the command line (`Interviews.add_followup`) and the mailbox
watch (`mailbox.MailboxRecords.record_followup`) both go through it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from followup.errors import NotFound, RecordedMeanwhile, UserError
from followup.models import Interview, Record, Status
from followup.store import changes as change_log
from followup.store.records import load_by_status, load_records, touch
from followup.store.tables import INTERVIEW_FIELDS, followups, interview_values, interviews
from followup.store.transactions import Transactions


def append_followup(conn: Connection, interview_id: int, sent_at: datetime, note: str,
                    now: datetime, expected: int) -> bool:
    """Write the interview's follow-up number `expected + 1`, touch the interview and
    note the change, in the caller's transaction: a compare-and-set on the number of
    follow-ups recorded, which the caller read as `expected` (so that two writers who
    both saw follow-up k missing record it once). False when the interview does not
    exist or the count moved meanwhile (nothing is written then)."""
    exists = conn.execute(sa.select(interviews.c.id).where(
        interviews.c.id == interview_id)).first()
    if exists is None:
        return False
    count = conn.execute(sa.select(sa.func.count()).select_from(followups).where(
        followups.c.interview_id == interview_id)).scalar()
    if count != expected:
        return False
    conn.execute(followups.insert().values(
        interview_id=interview_id, number=count + 1, sent_at=sent_at, note=note))
    touch(conn, interview_id, now)
    change_log.note(conn, interview_id)
    return True


class Interviews(Transactions):
    """The interviews and their follow-ups; each method is one transaction."""

    def add_interview(self, interview: Interview, now: datetime) -> Interview:
        values = interview_values({name: getattr(interview, name) for name in INTERVIEW_FIELDS})
        with self._write() as conn:
            result = conn.execute(
                interviews.insert().values(**values, created_at=now, updated_at=now)
            )
            new_id = result.inserted_primary_key[0]
            change_log.note(conn, new_id)
        return replace(interview, id=new_id)

    def update_interview(self, interview_id: int, changes: dict[str, Any],
                         now: datetime) -> Record:
        """Change the named fields of one interview. Raises NotFound."""
        unknown = set(changes) - set(INTERVIEW_FIELDS)
        if unknown:
            raise ValueError(f"not interview fields: {sorted(unknown)}")
        with self._write() as conn:
            result = conn.execute(
                interviews.update()
                .where(interviews.c.id == interview_id)
                .values(**interview_values(changes), updated_at=now)
            )
            if result.rowcount == 0:
                raise NotFound(interview_id)
            change_log.note(conn, interview_id)
            return load_records(conn, [interview_id])[0]

    def delete_interview(self, interview_id: int) -> None:
        from followup.store.removed import remember_removed_event

        with self._write() as conn:
            remember_removed_event(conn, interview_id)
            result = conn.execute(interviews.delete().where(interviews.c.id == interview_id))
            if result.rowcount == 0:
                raise NotFound(interview_id)
            change_log.note(conn, interview_id)

    def add_followup(self, interview_id: int, sent_at: datetime, note: str,
                     now: datetime, expected: int) -> Record:
        """Record follow-up `expected + 1` (see `append_followup`). Raises NotFound, and
        RecordedMeanwhile when the interview's follow-ups are no longer `expected`."""
        with self._write() as conn:
            if not append_followup(conn, interview_id, sent_at, note, now, expected):
                if not load_records(conn, [interview_id]):
                    raise NotFound(interview_id)
                raise RecordedMeanwhile(interview_id, expected + 1)
            return load_records(conn, [interview_id])[0]

    def remove_last_followup(self, interview_id: int, now: datetime) -> Record:
        """Take back the interview's last recorded follow-up. Raises NotFound, and
        UserError when none is recorded."""
        with self._write() as conn:
            found = load_records(conn, [interview_id])
            if not found:
                raise NotFound(interview_id)
            if not found[0].followups:
                raise UserError(f"no follow-up is recorded for interview {interview_id}: "
                                "there is nothing to take back")
            conn.execute(followups.delete().where(
                followups.c.interview_id == interview_id,
                followups.c.number == found[0].followups[-1].number))
            touch(conn, interview_id, now)
            change_log.note(conn, interview_id)
            return load_records(conn, [interview_id])[0]

    def get(self, interview_id: int) -> Record:
        """One interview with its history. Raises NotFound."""
        with self._read() as conn:
            found = load_records(conn, [interview_id])
        if not found:
            raise NotFound(interview_id)
        return found[0]

    def records(self, statuses: Iterable[Status] | None = None,
                with_deliveries: bool = False, below: int | None = None) -> list[Record]:
        """Every interview (or those in the given statuses) with its follow-ups and
        nudges, by interview time; each nudge's deliveries only when asked. With
        `below`, only interviews with fewer follow-ups and fewer nudges than that."""
        chosen = None if statuses is None else list(statuses)
        with self._read() as conn:
            return load_by_status(conn, chosen, with_deliveries, below)
