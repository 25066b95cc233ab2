"""The drafts channel: when a nudge fires, the follow-up's draft goes into the Drafts
folder (`[mailbox] drafts = true`), delivered once by the same claim, record and
retry as every channel.

Each attempt signs in on a connection of its own, APPENDs the draft (the text
`followup draft` prints, threaded on the conversation's last known message) and
records its UID and Message-ID; the Message-ID comes from the nudge's key, so a
retry after a cut-short attempt finds the draft there rather than writing a
second. Older drafts the new one replaces are removed in the same session. A
server that cannot take drafts is a needs-fix result and one notice (per
reason, per daemon): the other channels deliver the nudge all the same.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from followup.channels.base import DELIVERED, Channel, Result, needs_fix, try_again
from followup.models import Notice, Reminder
from followup.sources.mailbox import drafts
from followup.sources.mailbox.drafts import DraftBook
from followup.sources.mailbox.imap import MailboxError
from followup.threads import on_a_thread

log = logging.getLogger("followup")

Tell = Callable[[str, str], Awaitable[object]]


class DraftsChannel(Channel):
    name = "drafts"
    takes_digest = False

    def __init__(self, settings, book: DraftBook, tell: Tell | None = None,
                 now: Callable | None = None) -> None:
        from followup import clock

        self.mailbox = settings.mailbox
        self.sender = settings.me.addresses[0] if settings.me.addresses else ""
        self.name_signed = settings.me.name
        self.book = book
        self.tell_user = tell
        self.now = now or clock.now
        self.told: set[str] = set()

    async def deliver(self, notice: Notice) -> Result:
        for reminder in notice.reminders:
            if reminder.interview.id <= 0:  # `notify-test`'s made-up interview
                continue
            try:
                await on_a_thread(self._put, reminder, notice.key)
            except MailboxError as error:
                result = needs_fix(error.message) if error.lasting \
                    else try_again(error.message)
                if error.lasting:
                    await self._complain(error.message)
                return result
        return DELIVERED

    def _put(self, reminder: Reminder, key: str) -> None:
        from followup.sources.mailbox.drafts_folder import DraftsFolder

        interview = reminder.interview
        number = reminder.followup or reminder.number
        msgid = drafts.message_id(key, self.sender)
        raw = drafts.compose(reminder.draft, self.sender, self.name_signed,
                             self.book.thread(interview.id), msgid, self.now())
        with DraftsFolder.open(self.mailbox) as folder:
            placed = folder.put(raw, msgid)
            self.book.record(interview.id, number, folder.account, folder.name, placed, msgid)
            log.info("drafts: follow-up %d for interview %d (%s) is in %s (UID %d)", number,
                     interview.id, interview.company, folder.name, placed.uid)
            mine = [d for d in self.book.stored() if d.interview_id == interview.id]
            for line in folder.tidy(self.book, mine):
                log.info("drafts: %s", line)

    async def _complain(self, why: str) -> None:
        """One notice per reason: the nudges go on by the other channels."""
        if why in self.told:
            return
        self.told.add(why)
        title = "Drafts cannot be put into your mailbox"
        body = f"{why}\nNudges still reach you by the other channels."
        log.warning("notice: %s: %s", title, body.replace("\n", " "))
        if self.tell_user is not None:
            await self.tell_user(title, body)
