"""The wake socket's fallback folder in the system temp folder (no XDG_RUNTIME_DIR):
a folder another local user made first, or made open to others, gets no poke."""

from __future__ import annotations

import os
import socket
import tempfile

import pytest

from followup.daemon import wake

URL = "sqlite:////tmp/nowhere/f.db"


@pytest.fixture
def fallback(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path = wake.socket_path(URL)
    assert path.parent == tmp_path / f"followup-{os.getuid()}"
    return path


def listener_in(path, mode: int, owner: int | None = None) -> socket.socket:
    """A socket bound where the daemon's would be, in a folder of this mode (and owner)."""
    path.parent.mkdir()
    path.parent.chmod(mode)
    if owner is not None:
        os.chown(path.parent, owner, owner)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    return sock


def received(sock: socket.socket) -> bytes | None:
    try:
        return sock.recv(64)
    except BlockingIOError:
        return None


def test_the_private_fallback_folder_gets_the_poke(fallback):
    with listener_in(fallback, 0o700) as sock:
        assert wake.poke(URL, 7)
        assert received(sock) == b"7"


def test_a_fallback_folder_open_to_others_gets_no_poke(fallback):
    with listener_in(fallback, 0o777) as sock:
        assert not wake.poke(URL, 7)
        assert not wake.daemon_listening(URL)
        assert received(sock) is None


@pytest.mark.skipif(os.getuid() != 0, reason="making a folder another user's needs root")
def test_a_fallback_folder_of_another_user_gets_no_poke(fallback):
    with listener_in(fallback, 0o700, owner=os.getuid() + 4242) as sock:
        assert not wake.poke(URL, 7)
        assert received(sock) is None
