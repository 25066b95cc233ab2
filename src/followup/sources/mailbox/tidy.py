"""The Drafts clean-up in the daemon: after each change the daemon hears of (a mailbox
pass that applied a reply or a follow-up, `followup heard/sent/close/rm` poking
it) and every `poll_seconds` as a safety net, remove the drafts no longer wanted.

Plan, then act: `drafts.unwanted` decides from the database alone, so nothing
connects while no stored draft is unwanted; `drafts_folder` removes each one
only when it is still there as written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from followup.sources.base import Source, SourceContext
from followup.sources.mailbox.drafts import DraftBook, unwanted
from followup.sources.mailbox.imap import MailboxError, account

log = logging.getLogger("followup")


class DraftsTidy(Source):
    name = "drafts"

    def __init__(self, settings) -> None:
        self.settings = settings.mailbox
        self.failing = ""

    async def run(self, context: SourceContext) -> None:
        book: DraftBook = context.uses
        woken = context.poked or asyncio.Event()
        while True:
            woken.clear()
            try:
                await asyncio.to_thread(self.tidy, book)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # never let the clean-up stop: the next wake retries
                log.debug("the drafts clean-up failed", exc_info=True)
                self._failed(f"{type(error).__name__}: {error}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), self.settings.poll_seconds)

    def tidy(self, book: DraftBook) -> None:
        """One clean-up pass (blocking). Connects only when a draft is unwanted."""
        from followup.sources.mailbox.drafts_folder import DraftsFolder

        stored = [d for d in book.stored() if d.account == account(self.settings)]
        if not unwanted(stored, book.records([d.interview_id for d in stored])):
            return
        try:
            with DraftsFolder.open(self.settings) as folder:
                for line in folder.tidy(book, stored):
                    log.info("drafts: %s", line)
        except MailboxError as error:
            self._failed(error.message)
            return
        self.failing = ""

    def _failed(self, why: str) -> None:
        if why != self.failing:
            log.warning("drafts: cannot remove the drafts no longer wanted: %s", why)
        self.failing = why
