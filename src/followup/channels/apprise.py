"""Phones and chat through Apprise: ntfy, Gotify, Telegram, Matrix, Pushover, Signal, ...

Apprise URLs carry tokens, so they live in Apprise's own configuration file
(keep it 0600), never in followup's: `[notify.apprise] config` names that file
("" = Apprise's default locations, ~/.config/apprise/apprise.yml and the
others), and `tag` picks the URLs with that tag. The apprise package is
optional (`pip install 'followup[apprise]'`) and imported only here.

Apprise is blocking, so a delivery runs in a worker thread, bounded by each
URL's own socket timeouts (Apprise's `cto`/`rto`, set from the channel's
timeout: connecting takes at most a third of it, each read the rest), and the
attempt's real outcome is awaited: a thread left running could still post after
the attempt was recorded failed, and the retry would be a repeat. A service
that fails is worth retrying (the phone's server may be down); no URL to
deliver to is not, until the user adds one.
"""

from __future__ import annotations

import hashlib
import logging
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from followup.channels.base import DELIVERED, Channel, Result, needs_fix, try_again
from followup.models import Notice
from followup.threads import on_a_thread

if TYPE_CHECKING:
    from followup.config import AppriseSettings

NOT_INSTALLED = ("the apprise package is not installed: pip install 'followup[apprise]' "
                 "(or apprise) into followup's environment")


class AppriseChannel(Channel):
    name = "apprise"
    several_destinations = True

    def __init__(self, settings: AppriseSettings, *, timeout: float = 30.0) -> None:
        self._settings = settings
        self._timeout = timeout

    async def deliver(self, notice: Notice) -> Result:
        try:
            return await on_a_thread(self._send, notice.title, notice.body, notice.done)
        except Exception as error:  # a channel never raises: Apprise's own failure
            return try_again(f"Apprise failed: {error}")

    def _send(self, title: str, body: str, done: frozenset[str] = frozenset()) -> Result:
        try:
            import apprise
        except ImportError:
            return needs_fix(NOT_INSTALLED)
        config = apprise.AppriseConfig()
        for path in config_paths(self._settings):
            config.add(str(path))
        sender = apprise.Apprise()
        for server in apprise.Apprise(config):  # each URL, bounded by our timeout
            server.socket_connect_timeout = self._timeout / 3
            server.socket_read_timeout = self._timeout * 2 / 3
            sender.add(server)
        tag = self._settings.tag or apprise.common.MATCH_ALL_TAG
        servers = list(sender.find(tag=tag))
        if not servers:
            return needs_fix(f"no Apprise URL to deliver to{_tag_words(self._settings)} in "
                             f"{_where(self._settings)}")
        reached, failed = set(), 0
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
            for server in servers:  # one by one: each URL's result is recorded
                name = destination(server)
                if name in done:
                    continue
                if server.notify(body=body, title=title):
                    reached.add(name)
                else:
                    failed += 1
        if failed:
            said = " ".join(captured.getvalue().split())[-300:]
            return Result(try_again("").outcome,
                          f"Apprise could not deliver to {failed} of {len(servers)} URL(s): "
                          f"{said or 'no reason given'}", frozenset(reached))
        return Result(DELIVERED.outcome, "", frozenset(reached))


def destination(server) -> str:
    """A URL's name in the database: a digest, since the URL carries tokens."""
    return hashlib.sha256(server.url(privacy=False).encode()).hexdigest()[:16]


def config_paths(settings: AppriseSettings) -> list[Path]:
    """The Apprise configuration files to read: the one named, or Apprise's defaults
    that exist."""
    if settings.config:
        return [Path(settings.config).expanduser()]
    from apprise.cli import DEFAULT_CONFIG_PATHS

    found = (Path(path).expanduser() for path in DEFAULT_CONFIG_PATHS)
    return [path for path in found if path.is_file()]


def readiness(settings: AppriseSettings) -> list[str]:
    """Why the channel cannot work here, or would leak its tokens (one line each)."""
    try:
        import apprise  # noqa: F401
    except ImportError:
        return [NOT_INSTALLED]
    paths = config_paths(settings)
    if not paths:
        return [f"no Apprise configuration file found ({_where(settings)}): write the URLs "
                "there, one per line (e.g. ntfy://ntfy.sh/my-topic), and chmod 600 it"]
    problems = []
    for path in paths:
        try:
            mode = path.stat().st_mode
        except OSError as error:
            problems.append(f"cannot read {path}: {error.strerror}")
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            problems.append(f"{path} is readable by others and its URLs carry tokens: "
                            f"chmod 600 {path}")
    return problems


def _where(settings: AppriseSettings) -> str:
    return settings.config or "Apprise's default configuration files (~/.config/apprise/...)"


def _tag_words(settings: AppriseSettings) -> str:
    return f" with the tag {settings.tag!r}" if settings.tag else ""
