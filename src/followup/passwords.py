"""The SMTP password, kept in the system keyring (service "followup") and nowhere else.

keyring is imported only when a password is needed: finding its backend costs
a noticeable part of a second. Every keyring problem becomes KeyringUnavailable
(or KeyringLocked), one line that says what to do. Passwords are never logged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from followup.errors import KeyringUnavailable, UserError

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "followup"


class KeyringLocked(KeyringUnavailable):
    """The keyring is there but locked; unlocking it (logging in) will help."""

    def __init__(self) -> None:
        UserError.__init__(self, "the system keyring is locked: unlock it (log in to your "
                                 "desktop session, or unlock it in its settings) and try again")


def get_password(username: str) -> str | None:
    """The stored password for `username`, or None. Raises KeyringUnavailable."""
    with _keyring_errors():
        return _backend().get_password(SERVICE, _required(username))


def set_password(username: str, password: str) -> None:
    """Store (or replace) the password for `username`. Raises KeyringUnavailable, UserError."""
    if not password:
        raise UserError("the password is empty: nothing was stored")
    with _keyring_errors():
        _backend().set_password(SERVICE, _required(username), password)


def clear_password(username: str) -> bool:
    """Remove the password for `username`; False when there was none. Raises KeyringUnavailable."""
    from keyring.errors import PasswordDeleteError

    backend = _backend()
    with _keyring_errors():
        if backend.get_password(SERVICE, _required(username)) is None:
            return False
        try:
            backend.delete_password(SERVICE, username)
        except PasswordDeleteError:
            return False
    return True


def _required(username: str) -> str:
    if not username:
        raise UserError("no SMTP username: set [notify.email] username first")
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
