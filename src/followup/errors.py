"""The errors a user sees. Each builds its own one-line message; none shows a traceback.

`cli` turns them into exit codes: UserError 1, ConfigError 78.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class UserError(Exception):
    """The input was wrong or the thing was not found. Exit 1; nothing changed."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(UserError):
    def __init__(self, interview_id: int) -> None:
        super().__init__(f"no interview with id {interview_id} (see `followup list --all`)")
        self.interview_id = interview_id


class RecordedMeanwhile(UserError):
    """Follow-up `number` was recorded by someone else (the mailbox watch, a button)
    between reading and writing: nothing was added."""

    def __init__(self, interview_id: int, number: int) -> None:
        super().__init__(f"follow-up {number} of interview {interview_id} was recorded "
                         "meanwhile (by the mailbox watch or a notification button): "
                         "nothing was added; see `followup show`")
        self.number = number


class ConfigError(UserError):
    """The configuration file is unreadable or invalid. Exit 78.

    `problems` are lines of the form `[section] key: problem`; the message puts
    the file in front of each, so the user sees every problem at once.
    """

    exit_code = 78

    def __init__(self, path: Path | str | None, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = tuple(problems)
        where = str(path) if path else "configuration"
        super().__init__("\n".join(f"{where}: {problem}" for problem in self.problems))


class KeyringUnavailable(UserError):
    """No usable system keyring: say what to install instead of a long traceback."""

    def __init__(self, detail: str = "") -> None:
        hint = (
            "no usable system keyring: on a desktop, install and unlock a Secret Service "
            "(GNOME Keyring, KWallet or KeePassXC); on a server, see \"Passwords\" in "
            "followup's README for the options and what each costs"
        )
        super().__init__(f"{hint} ({detail})" if detail else hint)
