"""OAuth2 access tokens from the user's token command (pizauth, oama, ...).

Mail clients sign in to Microsoft 365, Outlook.com and Gmail this way: a
helper keeps the refresh token and prints a fresh access token when asked.
followup asks it before each login (IMAP and SMTP) and keeps the token only
for that login. The command is an argv list run without a shell, bounded in
time (its whole process group is stopped when it hangs), its stdin and stderr
closed. Nothing it prints ever reaches a message or the log: a failure names
the command and how it ended, no more.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from followup.errors import UserError

if TYPE_CHECKING:
    from followup.config import Settings

TIMEOUT = 30.0  # seconds a token command may take
TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII without spaces: what a bearer token is


class TokenCommandFailed(UserError):
    """The token command gave no token. `lasting`: it will not get better by itself
    (not found, not executable, it failed); a command that hung may do better later."""

    def __init__(self, message: str, lasting: bool = True) -> None:
        super().__init__(message)
        self.lasting = lasting


def xoauth2(username: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (before base64)."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"


def access_token(argv: Sequence[str], timeout: float | None = None) -> str:
    """Run the token command and return the first line it printed, stripped;
    `timeout` seconds at most (default TIMEOUT).

    Raises TokenCommandFailed, one line naming the command and how it ended
    (not found, its exit status, the timeout, no token); never what it printed.
    """
    timeout = TIMEOUT if timeout is None else timeout
    named = shown(argv)
    if not argv:
        raise TokenCommandFailed("no token command: set oauth2_command")
    try:
        # A session of its own, so that a timeout stops its children too.
        process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
    except FileNotFoundError:
        raise TokenCommandFailed(f"the token command {named} was not found (a full "
                                 "path, or a program on $PATH)") from None
    except PermissionError:
        raise TokenCommandFailed(f"the token command {named} is not executable") from None
    except OSError as error:
        raise TokenCommandFailed(f"cannot run the token command {named}: "
                                 f"{error.strerror or type(error).__name__}") from None
    out = _output(process, named, timeout)
    if process.returncode != 0:
        raise TokenCommandFailed(f"the token command {named} {_ended(process.returncode)} "
                                 "(run it yourself to see why)")
    token = out.decode("utf-8", "replace").partition("\n")[0].strip()
    if not TOKEN.fullmatch(token):
        what = "printed no token" if not token else "printed something that is not a token"
        raise TokenCommandFailed(f"the token command {named} {what} on its first line")
    return token


def _output(process: subprocess.Popen, named: str, timeout: float) -> bytes:
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):  # it ended on its own just now
            os.killpg(process.pid, signal.SIGKILL)
        process.stdout.close()  # unread: a child that left the group may still hold it
        process.wait()
        raise TokenCommandFailed(f"the token command {named} gave no token within "
                                 f"{timeout:g} s and was stopped", lasting=False) from None
    return out


def _ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def shown(argv: Sequence[str]) -> str:
    """The command as a user would type it, in backquotes, cut to a readable length."""
    line = shlex.join(argv)
    return f"`{line if len(line) <= 120 else line[:119] + '…'}`"


def readiness(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """Why a configured token command cannot run here (one line each). Runs nothing."""
    import shutil

    environ = os.environ if environ is None else environ
    found = []
    for section, auth, argv in (("[mailbox]", settings.mailbox.auth,
                                 settings.mailbox.oauth2_command),
                                ("[notify.email]", settings.email.auth,
                                 settings.email.oauth2_command)):
        if auth == "oauth2" and argv and shutil.which(argv[0], path=environ.get("PATH")) is None:
            found.append(f"{section} oauth2_command: the program {argv[0]!r} is not found "
                         "or not executable (give a full path, or a program on $PATH)")
    return found
