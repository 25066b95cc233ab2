"""The Drafts folder over IMAP: the one place where followup writes to the mailbox.

It signs in as the mailbox watch does (`imap.connect`: password or OAuth2) on a
connection of its own, APPENDs a draft with the `\\Draft` flag and tells where it
landed (UIDPLUS's APPENDUID), and removes one of its drafts (UID STORE
`\\Deleted` and UID EXPUNGE of that UID only), but only when it is still there
as written: the same Message-ID and size at that UID in the same UIDVALIDITY.
A draft the user edited or moved is never touched. Blocking: run it in a thread.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

from followup.sources.mailbox.drafts import DraftBook, Placed, StoredDraft, unwanted
from followup.sources.mailbox.imap import (
    Connection,
    MailboxError,
    Refused,
    Unreachable,
    account,
    connect,
    network_errors,
    reason,
)

log = logging.getLogger("followup")

SIZE, HEADER = b"RFC822.SIZE", b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
FETCH = [SIZE, b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]


class CannotWrite(Refused):
    """The server will not take drafts (no Drafts folder, read-only, APPEND refused)."""


class DraftsFolder:
    """One connection, with the Drafts folder found. Use as a context manager."""

    def __init__(self, connection: Connection, name: str) -> None:
        self.connection = connection
        self.client = connection.client
        self.name = name
        self.account = account(connection.settings)

    @classmethod
    def open(cls, settings, connect_to: Callable = connect) -> DraftsFolder:
        """Sign in and find the folder (`drafts_folder`, else the one marked \\Drafts).
        Raises CannotWrite, Refused or Unreachable, one line each."""
        connection = connect_to(settings)
        try:
            name = settings.drafts_folder or _guarded(
                connection.client.find_special_folder, b"\\Drafts")
        except MailboxError:
            connection.close()
            raise
        if not name:
            connection.close()
            raise CannotWrite("the mailbox has no folder marked \\Drafts (name it in "
                              "[mailbox] drafts_folder)")
        return cls(connection, name)

    def __enter__(self) -> DraftsFolder:
        return self

    def __exit__(self, *exc) -> None:
        self.connection.close()

    def put(self, raw: bytes, msgid: str) -> Placed:
        """APPEND the draft (unless a draft with this Message-ID is there already: an
        attempt that was cut short) and say where it is. Raises CannotWrite."""
        validity = self._select()
        uids = _guarded(self.client.search, ["HEADER", "Message-ID", msgid])
        if not uids:
            try:
                answer = self.client.append(self.name, raw, flags=[b"\\Draft"])
            except network_errors() as error:
                _unless_refused(error)
                raise CannotWrite(f"the server refused the draft in {self.name!r}: "
                                  f"{reason(error)}") from None
            validity, uids = _appended(answer, validity, lambda: _guarded(
                self.client.search, ["HEADER", "Message-ID", msgid]))
        if not uids:
            raise CannotWrite(f"the draft put into {self.name!r} cannot be found again")
        uid = max(uids)
        found = _guarded(self.client.fetch, [uid], [SIZE]).get(uid, {})
        return Placed(validity, uid, int(found.get(SIZE, len(raw))))

    def remove(self, draft: StoredDraft) -> str:
        """Remove this draft if it is still there as written. Returns "removed", or why
        not: "gone" (moved or deleted by the user), "edited" (left alone)."""
        validity = self._select()
        if validity != draft.uidvalidity or draft.folder != self.name:
            return "gone"
        found = _guarded(self.client.fetch, [draft.uid], FETCH).get(draft.uid)
        if not found:
            return "gone"
        header = found.get(HEADER, b"").decode("ascii", "replace")
        if draft.message_id not in header or int(found.get(SIZE, -1)) != draft.size:
            return "edited"
        if not self.client.has_capability("UIDPLUS"):
            return "edited"  # an EXPUNGE of the whole folder could take the user's too
        _guarded(self.client.add_flags, [draft.uid], [b"\\Deleted"], silent=True)
        _guarded(self.client.uid_expunge, [draft.uid])
        return "removed"

    def tidy(self, book: DraftBook, only: Sequence[StoredDraft] | None = None) -> list[str]:
        """Remove the drafts of this account that are no longer wanted; forget each one
        removed, gone or edited. Returns one line per draft dealt with."""
        stored = [d for d in (book.stored() if only is None else only)
                  if d.account == self.account]
        done = []
        for draft, why in unwanted(stored, book.records([d.interview_id for d in stored])):
            outcome = self.remove(draft)
            book.forget(draft.id)
            done.append(f"draft of follow-up {draft.number} for interview "
                        f"{draft.interview_id}: {outcome} ({why})")
        return done

    def _select(self) -> int:
        import imaplib

        try:
            info = self.client.select_folder(self.name)
        except imaplib.IMAP4.readonly:  # SELECT answered [READ-ONLY]
            raise CannotWrite(f"the folder {self.name!r} is read-only for this login") \
                from None
        except network_errors() as error:
            _unless_refused(error)
            raise CannotWrite(f"cannot open the folder {self.name!r}: {reason(error)}") \
                from None
        if b"READ-ONLY" in info:
            raise CannotWrite(f"the folder {self.name!r} is read-only for this login")
        return int(info[b"UIDVALIDITY"])


def _appended(answer, validity: int, search: Callable[[], list[int]]) -> tuple[int, list[int]]:
    """The UIDVALIDITY and UID from APPENDUID (RFC 4315), else found by Message-ID."""
    text = answer.decode("ascii", "replace") if isinstance(answer, bytes) else str(answer)
    found = re.search(r"APPENDUID (\d+) (\d+)", text, re.IGNORECASE)
    if found:
        return int(found.group(1)), [int(found.group(2))]
    return validity, search()


def _unless_refused(error: BaseException) -> None:
    """Raise Unreachable unless the server answered NO or BAD (a connection that
    failed or dropped is worth another try; a refusal is not)."""
    import imaplib

    if isinstance(error, OSError | imaplib.IMAP4.abort) \
            and not isinstance(error, imaplib.IMAP4.readonly):
        raise Unreachable(f"the mailbox server failed: {reason(error)}") from None


def _guarded(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except MailboxError:
        raise
    except network_errors() as error:
        raise Unreachable(f"the mailbox server failed: {reason(error)}") from None
