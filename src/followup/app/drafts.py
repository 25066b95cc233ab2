"""Drafts in the mail client, as the use cases see them: the `DraftBook` the drafts
channel and the Drafts clean-up read and write through (sources.mailbox.drafts).
The IMAP side is in sources.mailbox.drafts_folder; the daemon never sees the App."""

from __future__ import annotations

from collections.abc import Sequence

from followup.app.core import Core
from followup.models import Record
from followup.sources.mailbox.drafts import Placed, StoredDraft, Thread


class DraftsLedger:
    """Implements `sources.mailbox.drafts.DraftBook` on one Core."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def _records(self):
        from followup.store.drafts import DraftRecords

        return DraftRecords(self.core.store)

    def thread(self, interview_id: int) -> Thread | None:
        return self._records().thread(interview_id)

    def record(self, interview_id: int, number: int, account: str, folder: str,
               placed: Placed, message_id: str) -> None:
        self._records().record(interview_id, number, account, folder, placed, message_id,
                               self.core.now())

    def stored(self) -> list[StoredDraft]:
        return self._records().stored()

    def records(self, interview_ids: Sequence[int]) -> dict[int, Record]:
        return self._records().records(interview_ids)

    def forget(self, draft_id: int) -> None:
        self._records().forget(draft_id)
