"""Opening a draft in the user's own mail client, from the command line.

The same `mailto:` link the notification's "Open draft" button uses, handed to
`xdg-open`, which asks the desktop for the user's mail client. It runs in the
foreground on the user's terminal: a terminal mail client needs it, and a
graphical one returns at once.
"""

from __future__ import annotations

import shutil
import subprocess

from followup.errors import UserError


def open_mailto(url: str) -> None:
    """Open a mailto: URL. Raises UserError when it could not be opened."""
    opener = shutil.which("xdg-open")
    if opener is None:
        raise UserError("cannot open the draft: xdg-open is not installed (on Debian: "
                        "apt install xdg-utils); `followup draft ID` prints it instead")
    try:
        status = subprocess.run([opener, url], check=False).returncode
    except OSError as error:
        raise UserError(f"cannot run {opener}: {error.strerror or error}") from None
    if status != 0:
        raise UserError(f"xdg-open could not open the draft (exit status {status}): is a mail "
                        "client set up for mailto: links? `followup draft ID` prints it")
