"""The use cases the command line calls. Each returns what the command prints.

One file per family: `interviews` (add, edit, list, due, drafts), `actions` (sent,
heard, close, reopen, snooze, the notification's buttons), `mailbox` (a scan; what
its findings change is in `mailbox_ledger`), `calendar` (import, export; the work,
also the daemon's, in `calendar_sync`), `drafts` (what the Drafts folder holds),
`background` (running the daemon and wiring it to these use cases). `core` holds
what they share: the settings, the one clock, the store opened on first use, and
the poke that tells a running daemon to look again after each change. The heavy
parts (`mailbox_ledger`, `calendar_sync`) are imported on first use.

May import everything below it (daemon, channels, sources, store, rules, content,
config, models). Nothing below imports `app`: the daemon and the sources get the
use cases they need handed in.
"""

from __future__ import annotations

from followup.app.background import Background
from followup.app.calendar import Calendar
from followup.app.core import InterviewInput
from followup.app.mailbox import Mailbox
from followup.models import View

__all__ = ["App", "InterviewInput", "View"]


class App(Calendar, Mailbox, Background):
    """Every use case, on one set of settings, one clock and one store."""
