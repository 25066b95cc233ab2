"""The mailbox family of use cases: `followup mailbox scan`. What a pass's findings
change (a reply marks the interview heard, a follow-up found in Sent is recorded) is in
`mailbox_ledger`, which the daemon's mailbox watch uses too; both are imported on first
use, off the commands' start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from followup.app.core import Core
from followup.errors import UserError

if TYPE_CHECKING:
    from followup.sources.mailbox.replies import Finding


class Mailbox(Core):
    def mailbox_scan(self, dry_run: bool = False, progress=None, report=None) -> list[Finding]:
        """`followup mailbox scan`: one pass over the mailbox; the findings new in it.
        Raises UserError (exit 1) when the server cannot be reached or refuses us."""
        if not self.settings.mailbox.host:
            where = self.settings.path or "the configuration (`followup config init`)"
            raise UserError(f"no mailbox to scan: set [mailbox] host and username in {where}")
        from followup.app.mailbox_ledger import MailboxLedger
        from followup.sources.mailbox import watch

        return watch.scan_once(self.settings.mailbox, MailboxLedger(self), dry_run, progress,
                               report)

