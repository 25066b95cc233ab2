"""The real Daemon in the test's own event loop, on a World's configuration.

For what a subprocess cannot show: a wall clock that jumps (freezegun with
`real_asyncio=True` moves the wall clock while the loop keeps real time) and
a store that fails on cue. Channels, store and settings are the real ones.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from support.daemon import World


@contextlib.asynccontextmanager
async def running(world: World, *, store=None, notifier=None, daemon_class=None
                  ) -> AsyncIterator:
    """Start a Daemon on `world` (optionally on a given store, notifier, or subclass)
    and stop it as SIGTERM would when the block ends."""
    from followup import channels, config
    from followup.app import App
    from followup.daemon.loop import Daemon
    from followup.daemon.sdnotify import SystemdNotifier
    from followup.store import Store

    settings = config.load(world.config)
    app = App(settings)
    daemon = (daemon_class or Daemon)(
        settings, store if store is not None else Store.open(settings.database_url),
        lambda s, uses: {c.name: c for c in channels.build(s, uses.on_action)},
        lambda: config.load(world.config), app.now,
        notifier=notifier or SystemdNotifier(None), build_uses=app.for_daemon)
    task = asyncio.create_task(daemon.run())
    try:
        await until(lambda: daemon.planner.last_full_scan is not None or task.done())
        if task.done():
            task.result()
        yield daemon
    finally:
        daemon._on_stop()  # as SIGTERM does
        await asyncio.wait_for(task, 30)
        app.store.close()


async def until(condition, timeout: float = 30.0, what: str = "") -> None:
    """Poll `condition` on the loop's (real) clock, giving the daemon the loop meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        await asyncio.sleep(0.05)
