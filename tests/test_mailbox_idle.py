"""One connection of the mailbox watch against a real Dovecot: IDLE and its races,
and what a dropped connection becomes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from followup import config
from followup.sources.mailbox.imap import Connection, Unreachable
from followup.sources.mailbox.replies import Folder
from support.imap import PASSWORD, USER, Dovecot, mailbox_section, message


def connection_to(imap: Dovecot, tmp_path) -> Connection:
    path = tmp_path / "followup.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/f.db"\n'
                    f"{mailbox_section(imap.port)}")
    return Connection.open(config.load(str(path)).mailbox, PASSWORD)


def test_a_message_arriving_as_idle_is_entered_ends_the_wait(imap, tmp_path):
    # Dovecot announces a message that arrived between the last read and IDLE only
    # after DONE (or at its own check, 30 s on): the wait must not sleep through it.
    connection = connection_to(imap, tmp_path)
    try:
        since = datetime.now(UTC) - timedelta(days=1)
        first = connection.read("INBOX", Folder.INBOX, None, since)
        connection.before_idle = lambda: imap.append(
            "INBOX", message("dana@acme.example", USER, "Re: Thanks", datetime.now(UTC)))
        started = time.monotonic()
        connection.wait(20)
        took = time.monotonic() - started
        connection.before_idle = None
        read = connection.read("INBOX", Folder.INBOX, first.state, since)
    finally:
        connection.close()
    assert took < 5, took
    assert len(read.raws) == 1


def test_a_wait_with_nothing_new_lasts_its_timeout(imap, tmp_path):
    connection = connection_to(imap, tmp_path)
    try:
        connection.read("INBOX", Folder.INBOX, None, datetime.now(UTC))
        started = time.monotonic()
        connection.wait(1.5)
        took = time.monotonic() - started
    finally:
        connection.close()
    assert 1.4 < took < 5, took


def test_a_connection_dropped_before_a_folder_is_opened_is_unreachable(imap, tmp_path):
    # A network drop is worth retrying soon; "refused" would stop the watch for good.
    connection = connection_to(imap, tmp_path)
    try:
        connection.abort()  # as a dropped network does: the socket is gone
        with pytest.raises(Unreachable):
            connection.read("INBOX", Folder.INBOX, None, datetime.now(UTC))
    finally:
        connection.close()


def test_an_unknown_folder_is_still_refused(imap, tmp_path):
    from followup.sources.mailbox.imap import Refused

    connection = connection_to(imap, tmp_path)
    try:
        with pytest.raises(Refused, match="cannot open the folder 'Nowhere'"):
            connection.read("Nowhere", Folder.INBOX, None, datetime.now(UTC))
    finally:
        connection.close()


