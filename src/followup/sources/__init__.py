"""Sources: what the daemon watches outside followup (the mailbox, the calendar).

Sources are to the daemon's input what channels are to its output: one
interface (`base`), one file per source. Each runs as its own task so that a
slow or broken one delays nothing else. What a source decides is pure code in
its own module; the source's I/O part only fetches, and applies the findings
through the same use cases as the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from followup.config import Settings
    from followup.sources.base import Source


def build(settings: Settings) -> list[Source]:
    """The sources the settings enable (none by default)."""
    found: list[Source] = []
    # The calendar: files, feeds, CalDAV in; the planned nudges out (export).
    if settings.calendar.watching:
        from followup.sources.calendar.watch import CalendarSource

        found.append(CalendarSource(settings))

    if settings.mailbox.enabled:
        from followup.sources.mailbox.watch import MailboxSource

        found.append(MailboxSource(settings))
    # The drafts followup put into the Drafts folder, removed when no longer wanted.
    if settings.mailbox.drafts:
        from followup.sources.mailbox.tidy import DraftsTidy

        found.append(DraftsTidy(settings))
    return found
