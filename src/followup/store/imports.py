"""Writing a calendar import: every interview it adds or changes, and what it
remembers of the calendar, in one transaction. An import stopped half-way (Ctrl-C,
a database error) leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from followup.models import Interview
from followup.store import Store
from followup.store import changes as change_log
from followup.store.tables import INTERVIEW_FIELDS, interview_values, interviews, meta


def write_import(store: Store, added: Sequence[Interview],
                 updated: Sequence[tuple[int, dict[str, Any]]], remembered: tuple[str, str],
                 now: datetime) -> list[int]:
    """Insert `added`, apply `updated` (interview id, changed fields; an interview
    removed meanwhile is left out) and set the meta key `remembered` (key, value), all
    in one transaction. Returns the new interviews' ids, in order."""
    new_ids: list[int] = []
    with store._write() as conn:
        for interview in added:
            values = interview_values({name: getattr(interview, name)
                                       for name in INTERVIEW_FIELDS})
            result = conn.execute(interviews.insert().values(**values, created_at=now,
                                                             updated_at=now))
            new_ids.append(result.inserted_primary_key[0])
            change_log.note(conn, new_ids[-1])
        for interview_id, changes in updated:
            result = conn.execute(interviews.update().where(interviews.c.id == interview_id)
                                  .values(**interview_values(changes), updated_at=now))
            if result.rowcount:
                change_log.note(conn, interview_id)
        key, value = remembered
        if conn.execute(meta.update().where(meta.c.key == key).values(value=value)).rowcount == 0:
            conn.execute(meta.insert().values(key=key, value=value))
    return new_ids
