"""One code path records a follow-up, by hand or found in Sent (issue 16 item 4):
both number it after those recorded, touch the interview and note the change;
and the follow-ups found in Sent are read with one query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from followup.errors import NotFound
from followup.models import Interview
from followup.sources.mailbox.replies import Finding, Folder, Kind, Message
from followup.store import Store
from followup.store.mailbox import MailboxRecords
from followup.store.tables import interviews

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SENT_AT = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
LATER = T0 + timedelta(days=5)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'followup.db'}"
    else:
        url = request.getfixturevalue("postgres_url")()
    store = Store.open(url)
    yield store
    store.close()


def sent(interview_id: int, message_id: str = "<f1@me.example>", before: int = 0) -> Finding:
    """A follow-up found in Sent, decided when `before` follow-ups were recorded."""
    message = Message(Folder.SENT, message_id, "me@me.example", SENT_AT, "Following up")
    return Finding(Kind.FOLLOWUP_SENT, (interview_id,), message,
                   counterpart="hr@acme.example", followups_before=before)


def test_a_follow_up_found_in_sent_is_numbered_after_one_recorded_by_hand(db):
    added = db.add_interview(Interview(0, "Acme", "Engineer", T0), T0)
    db.add_followup(added.id, T0 + timedelta(days=1), "by hand", T0, 0)
    before = db.newest_change()

    assert MailboxRecords(db).record_followup(sent(added.id, before=1), "from Sent", LATER)

    record = db.get(added.id)
    assert [(f.number, f.sent_at, f.note) for f in record.followups] == [
        (1, T0 + timedelta(days=1), "by hand"), (2, SENT_AT, "from Sent")]
    with db.engine.connect() as conn:
        touched = conn.execute(sa.select(interviews.c.updated_at)
                               .where(interviews.c.id == added.id)).scalar()
    assert touched == LATER
    assert db.changed_since(before)[0].interview_ids == {added.id}


def test_a_follow_up_for_a_gone_interview_records_nothing(db):
    added = db.add_interview(Interview(0, "Acme", "Engineer", T0), T0)
    db.delete_interview(added.id)

    assert not MailboxRecords(db).record_followup(sent(added.id), "from Sent", LATER)
    assert MailboxRecords(db).seen(["<f1@me.example>"]) == set()  # its row rolled back
    with pytest.raises(NotFound):
        db.add_followup(added.id, SENT_AT, "by hand", LATER, 0)


def test_the_follow_ups_found_in_sent_by_message_and_by_interview(db):
    acme = db.add_interview(Interview(0, "Acme", "Engineer", T0), T0).id
    initech = db.add_interview(Interview(0, "Initech", "Engineer", T0), T0).id
    records = MailboxRecords(db)
    records.record_followup(sent(acme, "<a@me.example>"), "", LATER)
    records.record_followup(sent(initech, "<i@me.example>"), "", LATER)

    found = records.sent_followups()
    assert found.by_message == {"<a@me.example>": (acme, "hr@acme.example"),
                                "<i@me.example>": (initech, "hr@acme.example")}
    assert found.dates == {acme: {SENT_AT}, initech: {SENT_AT}}
