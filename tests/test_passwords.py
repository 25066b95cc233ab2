"""The SMTP password in the keyring: a file keyring in a temporary folder, never the user's."""

from __future__ import annotations

import logging

import keyring.core
import pytest

from followup import passwords
from followup.errors import KeyringUnavailable, UserError


@pytest.fixture(autouse=True)
def fresh_keyring(monkeypatch):
    """Each test finds its backend from PYTHON_KEYRING_BACKEND, as a new process would."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)


def test_set_get_and_clear(private_home):
    assert passwords.get_password("me") is None
    passwords.set_password("me", "correct horse")

    assert passwords.get_password("me") == "correct horse"
    stored = private_home / "xdg_data_home" / "python_keyring" / "keyring_pass.cfg"
    assert "[followup]" in stored.read_text()
    assert passwords.clear_password("me") is True
    assert passwords.get_password("me") is None
    assert passwords.clear_password("me") is False


def test_a_new_password_replaces_the_old_and_users_are_apart():
    passwords.set_password("me", "one")
    passwords.set_password("me", "two")
    passwords.set_password("other", "three")

    assert (passwords.get_password("me"), passwords.get_password("other")) == ("two", "three")


def test_an_empty_password_is_refused():
    with pytest.raises(UserError, match="the password is empty"):
        passwords.set_password("me", "")


@pytest.mark.parametrize("backend, words", [
    ("keyring.backends.fail.Keyring", "no usable system keyring: on a desktop, install and "
                                      "unlock a Secret Service (GNOME Keyring, KWallet or "
                                      "KeePassXC); on a server, see \"Passwords\" in "
                                      "followup's README"),
    ("keyring.backends.null.Keyring", "the keyring is disabled"),
    ("no.such.Backend", "PYTHON_KEYRING_BACKEND=no.such.Backend cannot be used"),
])
@pytest.mark.parametrize("use", [
    lambda: passwords.get_password("me"),
    lambda: passwords.set_password("me", "correct horse"),
    lambda: passwords.clear_password("me"),
])
def test_no_usable_keyring_is_one_clear_line(monkeypatch, backend, words, use):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)
    with pytest.raises(KeyringUnavailable) as raised:
        use()

    assert words in raised.value.message
    assert "\n" not in raised.value.message


def test_passwords_never_reach_the_log(caplog):
    with caplog.at_level(logging.DEBUG):
        passwords.set_password("me", "correct horse")
        passwords.get_password("me")
        passwords.clear_password("me")

    assert "correct horse" not in caplog.text
