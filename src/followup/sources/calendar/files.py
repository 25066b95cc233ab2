"""Calendar files watched with inotify: a write, a rename over the file (how
editors and sync tools save one) or a removal wakes the calendar watch at once
instead of at its next poll. Where inotify cannot be used (no asyncinotify, not
Linux, no folder, out of inotify watches) this returns and polling stays.

Why asyncinotify rather than watchfiles: measured here, watchfiles' loop wakes
every `step` (50 ms by default) while idle, 1,100 wakeups a minute against the
daemon's budget of 10; asyncinotify reads the inotify descriptor from the event
loop, which sleeps until the kernel has a change (6 a minute over the same
window, the measuring included), and hands a change over in under a millisecond.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from pathlib import Path

log = logging.getLogger("followup")


async def watch_files(paths: Collection[Path], changed: asyncio.Event) -> None:
    """Set `changed` each time one of `paths` is written, replaced or removed, until
    cancelled. Returns (after logging why) when inotify cannot be used."""
    try:
        from asyncinotify import Inotify, Mask
    except (ImportError, OSError) as error:  # not installed, or no inotify in this libc
        log.info("calendar: files are polled (no inotify: %s)", error)
        return
    wanted = {Path(path).absolute() for path in paths}
    try:
        with Inotify() as inotify:
            for folder in sorted({path.parent for path in wanted}):
                inotify.add_watch(folder, Mask.CLOSE_WRITE | Mask.MOVED_TO | Mask.DELETE
                                  | Mask.MOVED_FROM)
            log.debug("calendar: watching %d file(s) with inotify", len(wanted))
            async for event in inotify:
                if event.path is not None and event.path in wanted:
                    changed.set()
    except OSError as error:
        log.warning("calendar: cannot watch the files with inotify (%s): polling them",
                    error.strerror or error)
