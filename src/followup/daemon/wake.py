"""How the CLI tells a running daemon that the database changed.

After a write, the CLI sends one datagram, the interview's id, to a UNIX
socket the daemon listens on under $XDG_RUNTIME_DIR. It costs the daemon
nothing while idle (no polling), and the CLI never waits: no daemon, no
socket, a full buffer, all are ignored, because the daemon's periodic rescan
picks up any change anyway.

A socket's path must fit in 107 bytes. When the runtime folder is too deep
for that, the socket lives in a private folder of /tmp instead; both sides
compute the same path, so the CLI finds it. Both sides check that the folder
is this user's and closed to others (`private_folder`) before they use it:
another local user who made it first must hear no poke.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
from pathlib import Path

MAX_PATH = 107  # bytes in sockaddr_un.sun_path, less the terminating NUL


def socket_path(database_url: str) -> Path:
    """The daemon's socket for one database (two databases, two daemons, two sockets)."""
    tag = hashlib.sha256(database_url.encode()).hexdigest()[:12]
    name = f"wake-{tag}.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        path = Path(runtime) / "followup" / name
        if fits(path):
            return path
    # Without a (usable) runtime dir, a folder of our own in /tmp, named for the user.
    return Path(tempfile.gettempdir()) / f"followup-{os.getuid()}" / name


def fits(path: Path) -> bool:
    return len(os.fsencode(path)) <= MAX_PATH


def private_folder(folder: Path) -> bool:
    """Whether `folder` is a folder of this user's that nobody else may enter."""
    import stat

    try:
        found = folder.lstat()
    except OSError:
        return False
    return (stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid()
            and not found.st_mode & 0o077)


def poke(database_url: str, interview_id: int | None = None) -> bool:
    """Tell a daemon on this database to look again. Returns whether one was there."""
    path = socket_path(database_url)
    if not private_folder(path.parent):
        return False
    message = str(interview_id if interview_id is not None else "*").encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(message, str(path))
        return True
    except OSError:
        return False


def daemon_listening(database_url: str) -> bool:
    """Whether a daemon listens on this database's socket (nothing is sent)."""
    return listening(socket_path(database_url))


def listening(path: Path) -> bool:
    """Whether something is bound to this datagram socket (nothing is sent), in a
    private folder of this user's."""
    if not private_folder(path.parent):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(str(path))
        return True
    except OSError:
        return False
