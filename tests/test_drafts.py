"""Drafts in the mail client, the pure part: the message written, and which stored
drafts are no longer wanted (sources.mailbox.drafts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from followup import config
from followup.content import reminder
from followup.errors import ConfigError
from followup.models import Draft, FollowUp, Interview, Record, Status
from followup.sources.mailbox.drafts import (
    StoredDraft,
    Thread,
    compose,
    message_id,
    reply_subject,
    unwanted,
)

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
DRAFT = Draft(to="dana@acme.example", subject="Thank you \N{EN DASH} Engineer interview",
              body="Dear Dana,\n\nThank you.\n\nBest regards,\nJo Example\n")


def parsed(raw: bytes):
    return message_from_bytes(raw, policy=default)


def test_a_draft_answering_the_conversation_names_it_and_says_re():
    thread = Thread("<abc@acme.example>", "Next steps \N{EN DASH} Engineer")
    raw = compose(DRAFT, "jo@example.org", "Jo Example", thread, "<d1@example.org>", AT)
    message = parsed(raw)
    assert message["From"] == "Jo Example <jo@example.org>"
    assert message["To"] == "dana@acme.example"
    assert message["Subject"] == "Re: Next steps \N{EN DASH} Engineer"
    assert message["In-Reply-To"] == "<abc@acme.example>"
    assert message["References"] == "<abc@acme.example>"
    assert message["Message-ID"] == "<d1@example.org>"
    assert message.get_content().replace("\r\n", "\n") == DRAFT.body
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only


def test_a_draft_without_a_known_conversation_has_the_drafts_own_subject():
    message = parsed(compose(DRAFT, "jo@example.org", "", None, "<d1@example.org>", AT))
    assert message["Subject"] == DRAFT.subject
    assert message["From"] == "jo@example.org"
    assert message["In-Reply-To"] is None and message["References"] is None


@pytest.mark.parametrize(("subject", "expected"), [
    ("Next steps", "Re: Next steps"),
    ("Re: Next steps", "Re: Next steps"),
    ("RE: Next steps", "RE: Next steps"),
    ("  Thank you  \N{EN DASH}   Engineer ", "Re: Thank you \N{EN DASH} Engineer"),
])
def test_reply_subject(subject, expected):
    assert reply_subject(subject) == expected


def test_the_message_id_is_the_same_for_every_attempt_at_one_nudge():
    key = "nudge-3-1.20261201100000.abc"
    assert message_id(key, "jo@example.org") == message_id(key, "jo@example.org") \
        == "<followup-draft.nudge-3-1.20261201100000.abc@example.org>"


def record(id: int, status: Status = Status.WAITING, sent: int = 0) -> Record:
    interview = Interview(id, "Acme", "Engineer", AT, status=status)
    return Record(interview, tuple(FollowUp(n + 1, AT) for n in range(sent)))


def stored(id: int, interview_id: int, number: int = 1) -> StoredDraft:
    return StoredDraft(id, interview_id, number, "jo@127.0.0.1:143", "Drafts", 7, id,
                       f"<d{id}@example.org>", 400)


@pytest.mark.parametrize(("drafts", "records", "expected"), [
    ([stored(1, 10)], {10: record(10)}, []),
    ([stored(1, 10)], {}, [(1, "the interview was removed")]),
    ([stored(1, 10)], {10: record(10, Status.HEARD)}, [(1, "the employer replied")]),
    ([stored(1, 10)], {10: record(10, Status.CLOSED)}, [(1, "the interview is closed")]),
    ([stored(1, 10)], {10: record(10, sent=1)}, [(1, "follow-up 1 was sent")]),
    ([stored(1, 10, 2)], {10: record(10, sent=1)}, []),
    ([stored(1, 10), stored(2, 10, 2)], {10: record(10)}, [(1, "a newer draft replaced it")]),
    ([stored(1, 10), stored(2, 11)], {10: record(10), 11: record(11, Status.HEARD)},
     [(2, "the employer replied")]),
])
def test_which_drafts_are_no_longer_wanted(drafts, records, expected):
    assert [(d.id, why) for d, why in unwanted(drafts, records)] == expected


@pytest.mark.parametrize(("text", "expected"), [
    ('[mailbox]\ndrafts = true\nhost = "imap.example.org"\nusername = "jo"\n',
     ["[me] addresses: required with [mailbox] drafts = true (the first is the drafts' "
      "From)"]),
    ('[me]\naddresses = ["jo@example.org"]\n[mailbox]\ndrafts = true\n',
     ["[mailbox] host: required with drafts = true (the drafts are written into this "
      "mailbox)",
      "[mailbox] username: required with drafts = true (the drafts are written into this "
      "mailbox)"]),
    ('[mailbox]\ndrafts = "yes"\n', ["[mailbox] drafts: expected true or false, got a string"]),
])
def test_drafts_need_a_mailbox_and_an_address(text, expected):
    with pytest.raises(ConfigError) as caught:
        config.parse_text(text, Path("/x/f.toml"))
    assert list(caught.value.problems) == expected


def test_the_nudge_says_the_draft_is_waiting_in_drafts():
    interview = Interview(1, "Acme", "Engineer", AT)
    now = AT + timedelta(days=3)
    waiting = reminder(interview, 1, 2, now, ZoneInfo("UTC"), in_drafts=True)
    ready = reminder(interview, 1, 2, now, ZoneInfo("UTC"))
    assert waiting.body.endswith("a draft is waiting in Drafts.")
    assert ready.body.endswith("a draft is ready.")
