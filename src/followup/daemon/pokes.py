"""The daemon's end of `wake`: pokes from the CLI (and the sources), coalesced.

Pokes only say "look again" (at one interview, or at everything), so any
number of them that arrive while the daemon is busy amount to one look: a
flag for a full scan and a set of ids, drained by a single worker. A flood
of datagrams therefore costs a set insertion each, and memory stays bounded
(past MAX_IDS distinct ids, one full scan replaces them all).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path

from followup.daemon import wake

log = logging.getLogger("followup")

MAX_IDS = 1000


class PokeListener:
    """Listens on the wake socket of one database; calls `look_at(ids)` or
    `full_scan()` from one worker task, never two at once."""

    def __init__(self, look_at: Callable[[Collection[int]], Awaitable[None]],
                 full_scan: Callable[[], Awaitable[None]]) -> None:
        self.look_at = look_at
        self.full_scan = full_scan
        self.ids: set[int] = set()
        self.everything = False
        self.ready = asyncio.Event()
        self.worker: asyncio.Task | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.path: Path | None = None

    async def listen(self, database_url: str) -> None:
        """Bind the socket of this database; on any trouble, say so in one line and
        rely on the periodic rescans."""
        if self.worker is None:
            self.worker = asyncio.get_running_loop().create_task(self._work(), name="pokes")
        path = wake.socket_path(database_url)
        if not wake.fits(path):
            log.warning("the wake socket path %s is longer than %d bytes; relying on rescans",
                        path, wake.MAX_PATH)
            return
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        if runtime and not str(path).startswith(runtime):
            log.info("$XDG_RUNTIME_DIR is too deep for a socket path; the wake socket is %s",
                     path)
        try:
            sock = _bind(path)
        except _Refused as refused:
            log.warning("%s", refused)
            return
        except OSError as error:
            log.warning("cannot listen on %s (%s); relying on rescans", path,
                        error.strerror or error)
            return
        self.path = path
        self.transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _Protocol(self), sock=sock)

    def poke(self, interview_id: int | None) -> None:
        """Look again at one interview (None: at everything), soon."""
        if interview_id is None or len(self.ids) >= MAX_IDS:
            self.everything = True
            self.ids.clear()
        elif not self.everything:
            self.ids.add(interview_id)
        self.ready.set()

    def datagram(self, message: bytes) -> None:
        text = message.decode(errors="replace").strip()
        one = text.isascii() and text.isdigit() and len(text) < 19
        self.poke(int(text) if one else None)

    async def _work(self) -> None:
        while True:
            await self.ready.wait()
            self.ready.clear()
            everything, ids = self.everything, self.ids
            self.everything, self.ids = False, set()
            try:
                if everything:
                    await self.full_scan()
                elif ids:
                    await self.look_at(ids)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the next rescan tries again
                log.error("looking again after a poke failed: %s",
                          getattr(error, "message", error))

    async def close(self, stop_worker: bool = True) -> None:
        """Stop listening (and, unless told, stop the worker)."""
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        if self.path is not None:
            _unlink(self.path)
            self.path = None
        if stop_worker and self.worker is not None:
            self.worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.worker
            self.worker = None


class _Refused(Exception):
    pass


def _bind(path: Path) -> socket.socket:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not wake.private_folder(path.parent):
        raise _Refused(f"{path.parent} is not private to this user; relying on rescans")
    if wake.listening(path):  # without a word: "*" would make it scan everything
        raise _Refused(f"another followup daemon already runs for this database on this "
                       f"machine (it listens on {path}; `followup service status` lists "
                       "them): this one delivers too, but sees changes only at its "
                       "periodic rescans; one daemon per machine is enough")
    _unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(str(path))
        os.chmod(path, 0o600)
    except OSError:
        sock.close()
        raise
    return sock


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, listener: PokeListener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr) -> None:
        self.listener.datagram(data)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
