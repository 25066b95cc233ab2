"""The ways a nudge reaches the user: one interface, one file per channel.

`build` constructs the enabled channels; each channel module is imported only
when its channel is enabled, because desktop (D-Bus) and email (smtplib) are
slow to import and most commands never deliver anything.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from followup.errors import UserError
from followup.models import Interview, Notice

if TYPE_CHECKING:
    from followup.channels.base import ActionHandler, Channel, Result
    from followup.config import Settings
    from followup.sources.mailbox.drafts import DraftBook

CHANNEL_NAMES = ("desktop", "email", "command", "apprise")



def build(settings: Settings, on_action: ActionHandler | None = None,
          drafts: DraftBook | None = None) -> list[Channel]:
    """The enabled channels, in the order desktop, email, command, apprise; then the
    Drafts folder when `[mailbox] drafts` is on and `drafts` (the daemon's book of
    drafts) is given."""
    channels: list[Channel] = []
    if settings.desktop.enabled:
        from followup.channels.desktop import DesktopChannel

        channels.append(DesktopChannel(on_action))
    if settings.email.enabled:
        from followup.channels.email import EmailChannel

        channels.append(EmailChannel(settings.email))
    if settings.command.enabled:
        from followup.channels.command import CommandChannel

        channels.append(CommandChannel(settings.command))
    if settings.apprise.enabled:
        from followup.channels.apprise import AppriseChannel

        channels.append(AppriseChannel(settings.apprise))
    if settings.mailbox.drafts and drafts is not None:
        from followup.channels.drafts import DraftsChannel

        desktop = next((c for c in channels if c.name == "desktop"), None)
        channels.append(DraftsChannel(settings, drafts, desktop.tell if desktop else None))
    return channels


def plain(result: Result) -> str:
    """A failed delivery in the words a person reads: what happens next, and why."""
    from followup.channels.base import DeliveryResult

    if result.outcome is DeliveryResult.TRY_AGAIN:
        return f"failed, worth trying again later: {result.reason}"
    return f"failed, and trying again will not help until this is fixed: {result.reason}"


def readiness(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """Why an enabled channel cannot work on this machine (one line each), or that no
    channel is enabled. Looks only, delivers nothing."""
    import os
    import shutil

    environ = os.environ if environ is None else environ
    found = []
    if not settings.enabled_channels:
        found.append("no channel is enabled: nudges will wait until one is (set `enabled = "
                     "true` in [notify.desktop], [notify.email], [notify.command] or "
                     "[notify.apprise])")
    if settings.desktop.enabled:
        from followup.channels.bus import session_bus_address

        if session_bus_address(environ) is None:
            found.append("[notify.desktop]: no desktop session bus here, so desktop "
                         "notifications will fail; on a machine without a desktop set "
                         "[notify.desktop] enabled = false and use email, apprise or a command")
    email = settings.email
    if email.enabled and email.username and email.auth == "password":
        found.extend(_password_missing(email.username))
    if settings.command.enabled and settings.command.argv:
        program = settings.command.argv[0]
        if shutil.which(program, path=environ.get("PATH")) is None:
            found.append(f"[notify.command]: the program {program!r} is not found or not "
                         "executable (give a full path, or a program on $PATH)")
    if settings.apprise.enabled:
        from followup.channels.apprise import readiness as apprise_readiness

        found.extend(f"[notify.apprise]: {problem}" for problem in apprise_readiness(
            settings.apprise))
    return found


async def notify_test(settings: Settings, only: str | None = None) -> list[tuple[str, Result]]:
    """Deliver a test nudge through each enabled channel (or only the one named).

    Returns (channel name, result) pairs in channel order. Raises UserError when
    `only` is not a channel or not enabled, or when no channel is enabled.
    """
    names = _channels_to_test(settings, only)
    channels = [channel for channel in build(settings) if channel.name in names]
    notice = sample_notice(settings.rules.max_followups, settings.zone, settings.me.language)
    try:
        results = await asyncio.gather(*(channel.deliver(notice) for channel in channels))
    finally:
        for channel in channels:
            await channel.close()
    return [(channel.name, result) for channel, result in zip(channels, results, strict=True)]


def _channels_to_test(settings: Settings, only: str | None) -> tuple[str, ...]:
    where = (f"in {settings.path}" if settings.path
             else "(there is no configuration file yet: create one with `followup config init`)")
    if only is None:
        if not settings.enabled_channels:
            raise UserError(f"no channel is enabled {where}: set `enabled = true` in one of "
                            "[notify.desktop], [notify.email], [notify.command], "
                            "[notify.apprise]")
        return settings.enabled_channels
    if only not in CHANNEL_NAMES:
        raise UserError(f"there is no channel {only!r} (channels: {', '.join(CHANNEL_NAMES)})")
    if only not in settings.enabled_channels:
        raise UserError(f"channel {only!r} is not enabled {where}: "
                        f"set [notify.{only}] enabled = true")
    return (only,)


def _password_missing(username: str) -> list[str]:
    from followup import passwords
    from followup.errors import KeyringUnavailable

    try:
        if passwords.get_password(username) is not None:
            return []
    except KeyringUnavailable as error:
        return [f"[notify.email]: cannot read the SMTP password: {error.message}"]
    return [f"[notify.email]: no SMTP password is stored for {username}: run "
            "`followup password set`"]


def sample_notice(of: int = 2, zone: ZoneInfo | None = None, language: str = "en") -> Notice:
    """A nudge about a made-up interview, for `followup notify-test`. Its title (and
    an email's subject) says it is a test.

    Its key is new each time: mail providers drop a second message with a
    Message-ID they have already seen.
    """
    from followup import clock, content

    now = clock.now()
    interview = Interview(
        id=0, company="[Test] Example Corp", role="Test role",
        interview_at=now - timedelta(days=3), interviewer="Alex Example",
        email="alex@example.com", topics="how followup checks that its reminders arrive",
    )
    reminder = content.reminder(interview, 1, of, now, zone or ZoneInfo("UTC"),
                                language=language)
    reminder = replace(reminder, title=f"Test from followup: {reminder.title}")
    key = f"test-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
    return Notice(key=key, title=reminder.title, body=reminder.body, reminders=(reminder,))
