"""A command of the user's choice, run without a shell, given each nudge as JSON on stdin.

The JSON object has exactly the keys in `PAYLOAD_KEYS`. The command is a
machine interface, so it gets every nudge on its own, never a digest.

One timeout bounds the whole attempt (every run of it), counted from its start.
A command still running when it passes, or when the attempt is cancelled, is
killed with its whole process group: it never lives on to deliver after the
attempt was recorded failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from typing import TYPE_CHECKING

from followup.channels.base import DELIVERED, Channel, Result, needs_fix, try_again
from followup.models import Notice, Reminder

if TYPE_CHECKING:
    from followup.config import CommandSettings

PAYLOAD_KEYS = ("interview_id", "company", "role", "interviewer", "email", "interview_at",
                "number", "of", "title", "body", "draft_subject", "draft_body")
STDERR_TAIL = 300


class CommandChannel(Channel):
    name = "command"
    takes_digest = False

    def __init__(self, settings: CommandSettings, *, timeout: float = 30.0) -> None:
        self._argv = settings.argv
        self._timeout = timeout

    async def deliver(self, notice: Notice) -> Result:
        """Run the command once per reminder (a digest given anyway is taken apart).

        Stops at the first failure and returns it.
        """
        ends = time.monotonic() + self._timeout
        for reminder in notice.reminders:
            result = await self._run(payload(reminder), ends)
            if not result.ok:
                return result
        return DELIVERED

    async def _run(self, data: bytes, ends: float) -> Result:
        if not self._argv:
            return needs_fix("no command to run: set [notify.command] argv")
        program = self._argv[0]
        try:
            # A session of its own, so that a timeout stops its children too.
            process = await asyncio.create_subprocess_exec(
                *self._argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, start_new_session=True)
        except FileNotFoundError:
            return needs_fix(f"the command {program!r} was not found: check [notify.command] "
                             "argv (a full path, or a program on $PATH)")
        except PermissionError:
            return needs_fix(f"the command {program!r} is not executable: check "
                             "[notify.command] argv and the file's permissions")
        except OSError as error:
            return needs_fix(f"cannot run the command {program!r}: {error.strerror or error}")
        try:
            _, stderr = await asyncio.wait_for(process.communicate(data),
                                               max(ends - time.monotonic(), 0))
        except TimeoutError:
            await _stop(process)
            return try_again(f"the command {program!r} did not finish within "
                             f"{self._timeout:g} s and was stopped")
        except asyncio.CancelledError:
            await asyncio.shield(_stop(process))
            raise
        if process.returncode != 0:
            return try_again(f"the command {program!r} {_status(process.returncode)}"
                             f"{_tail(stderr)}")
        return DELIVERED


def payload(reminder: Reminder) -> bytes:
    """The nudge as one line of JSON: what the command reads on stdin."""
    interview = reminder.interview
    fields = {
        "interview_id": interview.id,
        "company": interview.company,
        "role": interview.role,
        "interviewer": interview.interviewer,
        "email": interview.email,
        "interview_at": interview.interview_at.isoformat(),
        "number": reminder.number,
        "of": reminder.of,
        "title": reminder.title,
        "body": reminder.body,
        "draft_subject": reminder.draft.subject,
        "draft_body": reminder.draft.body,
    }
    return json.dumps(fields, ensure_ascii=False).encode("utf-8") + b"\n"


async def _stop(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended on its own just now
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()


def _status(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def _tail(stderr: bytes) -> str:
    text = " ".join(stderr.decode("utf-8", "replace").split())
    if not text:
        return ""
    if len(text) > STDERR_TAIL:
        text = "…" + text[-STDERR_TAIL:]
    return f": {text}"
