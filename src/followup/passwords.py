"""Passwords, kept in the system keyring and nowhere else.

Each purpose has its own keyring service: the SMTP login of [notify.email] is
under "followup" (as it always was), the mailbox's under "followup-mailbox",
the calendar's under "followup-calendar"; the entry's name is the username.

keyring is imported only when a password is needed: finding its backend costs
a noticeable part of a second. Every keyring problem becomes KeyringUnavailable
(or KeyringLocked), one line that says what to do. Passwords are never logged.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from followup.errors import KeyringUnavailable, UserError

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "followup"
PURPOSES = ("smtp", "mailbox", "calendar")


class KeyringLocked(KeyringUnavailable):
    """The keyring is there but locked; unlocking it (logging in) will help."""

    def __init__(self) -> None:
        UserError.__init__(self, "the system keyring is locked: unlock it (log in to your "
                                 "desktop session, or unlock it in its settings) and try again")


def service_name(purpose: str = "smtp") -> str:
    """The keyring service a purpose's password is stored under."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown password purpose {purpose!r}")
    return SERVICE if purpose == "smtp" else f"{SERVICE}-{purpose}"


def get_password(username: str, purpose: str = "smtp") -> str | None:
    """The stored password for `username`, or None. Raises KeyringUnavailable."""
    with _keyring_errors():
        return _backend().get_password(service_name(purpose), _required(username, purpose))


@dataclass(frozen=True, slots=True)
class Stored:
    """Where a password went: the keyring backend's name, and for a backend that keeps
    passwords readable in a file (keyrings.alt's PlaintextKeyring), that file."""

    backend: str
    plaintext_file: Path | None = None


def set_password(username: str, password: str, purpose: str = "smtp") -> Stored:
    """Store (or replace) the password for `username`; returns where it went. A
    plain-text file is made 0600 in a 0700 folder. Raises KeyringUnavailable, UserError."""
    if not password:
        raise UserError("the password is empty: nothing was stored")
    backend = _backend()
    with _keyring_errors():
        backend.set_password(service_name(purpose), _required(username, purpose), password)
    return _stored_in(backend)


def _stored_in(backend: KeyringBackend) -> Stored:
    from keyring.backends import chainer

    if isinstance(backend, chainer.ChainerBackend) and backend.backends:
        backend = backend.backends[0]  # the one a chainer writes to first
    kind = type(backend)
    name = f"{getattr(backend, 'name', kind.__name__)} ({kind.__module__}.{kind.__qualname__})"
    file_path = getattr(backend, "file_path", None)
    if file_path is None or "plaintext" not in kind.__name__.lower():
        return Stored(name)
    path = Path(file_path)
    with contextlib.suppress(OSError):
        path.parent.chmod(0o700)
        path.chmod(0o600)
    return Stored(name, path)


def clear_password(username: str, purpose: str = "smtp") -> bool:
    """Remove the password for `username`; False when there was none. Raises KeyringUnavailable."""
    from keyring.errors import PasswordDeleteError

    backend = _backend()
    service = service_name(purpose)
    with _keyring_errors():
        if backend.get_password(service, _required(username, purpose)) is None:
            return False
        try:
            backend.delete_password(service, username)
        except PasswordDeleteError:
            return False
    return True


SECTIONS = {"smtp": "[notify.email]", "mailbox": "[mailbox]", "calendar": "[calendar]"}


def _required(username: str, purpose: str = "smtp") -> str:
    if not username:
        raise UserError(f"no {purpose} username: set {SECTIONS[purpose]} username first")
    return username


def _backend() -> KeyringBackend:
    """The keyring backend in use, refusing the ones that store nothing."""
    import keyring
    from keyring.backends import chainer, fail, null

    with _keyring_errors():
        try:
            backend = keyring.get_keyring()
        except (ImportError, AttributeError, RuntimeError) as error:
            # PYTHON_KEYRING_BACKEND or keyringrc.cfg names something unusable.
            named = os.environ.get("PYTHON_KEYRING_BACKEND")
            where = f"PYTHON_KEYRING_BACKEND={named}" if named else "the configured backend"
            raise KeyringUnavailable(f"{where} cannot be used: {error}") from None
    if isinstance(backend, fail.Keyring):
        raise KeyringUnavailable()
    if isinstance(backend, null.Keyring):
        raise KeyringUnavailable("the keyring is disabled: keyring.backends.null stores nothing")
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        raise KeyringUnavailable()
    return backend


@contextmanager
def _keyring_errors() -> Iterator[None]:
    """Turn keyring's exceptions into ours: one line, and never a password in it."""
    from keyring.errors import KeyringError, NoKeyringError
    from keyring.errors import KeyringLocked as Locked

    try:
        yield
    except Locked:
        raise KeyringLocked() from None
    except NoKeyringError:
        raise KeyringUnavailable() from None
    except KeyringError as error:
        raise KeyringUnavailable(f"{type(error).__name__}: {error}") from None
