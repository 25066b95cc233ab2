"""Drafts in the mail client: what followup writes into the Drafts folder, and which of
its drafts are no longer wanted. Pure: no I/O, no clock.

`compose` writes the message (From the user's first address, to the interviewer,
threaded on the conversation's last known message); `unwanted` plans which stored
drafts to remove (the employer replied, the interview was closed or removed, the
follow-up was recorded, a newer draft replaced it). Removing them is the Drafts
folder's job (`drafts_folder`), and only when each is still there as written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from typing import Protocol

from followup.models import Draft, Record, Status

REPLY_PREFIX = "re:"


@dataclass(frozen=True, slots=True)
class Thread:
    """The last message of the conversation that followup knows: the draft answers it."""

    message_id: str
    subject: str


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a draft landed: the folder's UIDVALIDITY, the draft's UID and size."""

    uidvalidity: int
    uid: int
    size: int


@dataclass(frozen=True, slots=True)
class StoredDraft:
    """A draft followup put into the Drafts folder and may still remove."""

    id: int
    interview_id: int
    number: int  # the follow-up it is the draft of
    account: str
    folder: str
    uidvalidity: int
    uid: int
    message_id: str
    size: int


class DraftBook(Protocol):
    """What the drafts channel and the clean-up read and write (app.drafts's)."""

    def thread(self, interview_id: int) -> Thread | None: ...
    def record(self, interview_id: int, number: int, account: str, folder: str,
               placed: Placed, message_id: str) -> None: ...
    def stored(self) -> list[StoredDraft]: ...
    def records(self, interview_ids: Sequence[int]) -> dict[int, Record]: ...
    def forget(self, draft_id: int) -> None: ...


def message_id(key: str, sender: str) -> str:
    """The draft's Message-ID: from the nudge's key, so every attempt at one nudge
    writes the same (a retry after a crash finds the draft already there)."""
    domain = sender.rpartition("@")[2] or "followup.invalid"
    local = "".join(c if c.isalnum() or c in ".-" else "-" for c in key)
    return f"<followup-draft.{local}@{domain}>"


def reply_subject(subject: str) -> str:
    """ "Re: " and the subject, once."""
    subject = " ".join(subject.split())
    return subject if subject.casefold().startswith(REPLY_PREFIX) else f"Re: {subject}"


def compose(draft: Draft, sender: str, name: str, thread: Thread | None, msgid: str,
            date: datetime) -> bytes:
    """The draft as an RFC 5322 message (CRLF line ends), answering `thread` when known:
    In-Reply-To and References name it, and the subject is "Re: " and its subject."""
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((name, sender)) if name else sender
    if draft.to:  # else the user fills it in
        message["To"] = draft.to
    message["Subject"] = reply_subject(thread.subject) if thread and thread.subject \
        else draft.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = msgid
    if thread is not None:
        message["In-Reply-To"] = thread.message_id
        message["References"] = thread.message_id
    message.set_content(draft.body)
    return message.as_bytes()


def unwanted(stored: Sequence[StoredDraft], records: Mapping[int, Record]
             ) -> list[tuple[StoredDraft, str]]:
    """The stored drafts no longer wanted, each with why: its interview was removed,
    is no longer waiting (the employer replied, or it was closed), its follow-up was
    recorded as sent, or a newer draft of the same interview replaced it."""
    newest: dict[int, int] = {}
    for draft in stored:
        newest[draft.interview_id] = max(newest.get(draft.interview_id, 0), draft.id)
    found = []
    for draft in stored:
        why = _why_unwanted(draft, records.get(draft.interview_id), newest)
        if why:
            found.append((draft, why))
    return found


def _why_unwanted(draft: StoredDraft, record: Record | None, newest: dict[int, int]) -> str:
    if record is None:
        return "the interview was removed"
    status = record.interview.status
    if status is Status.HEARD:
        return "the employer replied"
    if status is not Status.WAITING:
        return f"the interview is {status}"
    if record.followups_sent >= draft.number:
        return f"follow-up {draft.number} was sent"
    if newest[draft.interview_id] != draft.id:
        return "a newer draft replaced it"
    return ""
