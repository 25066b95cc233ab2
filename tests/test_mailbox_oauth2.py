"""The mailbox watch signs in with OAuth2 (SASL XOAUTH2) as mail clients do: a fresh
token from the user's token command before each login, checked by a real Dovecot
against a token-info endpoint the test runs. Failures are one line, never the token."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from followup import config, oauth2, present
from followup.app import App
from followup.config import MailboxSettings
from followup.sources.mailbox.imap import Refused, Unreachable, connect
from support.daemon import wait_for
from support.imap import USER, message, oauth2_mailbox_section
from support.oauth2 import new_token


def add(w, company: str, email: str) -> int:
    at = (datetime.now().astimezone() - timedelta(hours=1)).isoformat(timespec="seconds")
    done = w.cli("add", "--company", company, "--role", "Engineer", "--at", at,
                 "--email", email, "--json")
    return json.loads(done.stdout)["id"]


def status(w, interview_id: int) -> str:
    return json.loads(w.cli("show", str(interview_id), "--json").stdout)["status"]


def source_state(w) -> dict | None:
    try:
        with sqlite3.connect(w.database) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'source:mailbox'").fetchone()
    except sqlite3.OperationalError:  # the daemon has not made the database yet
        return None
    return json.loads(row[0]) if row else None


def settings(port: int, command: list[str]) -> MailboxSettings:
    return MailboxSettings(enabled=True, host="127.0.0.1", port=port, security="none",
                           username=USER, auth="oauth2", oauth2_command=tuple(command))


def test_a_good_token_signs_in(oauth2_imap, token_info, token_helper):
    token = new_token()
    token_info.grant(token, USER)
    token_helper.give(token)
    connection = connect(settings(oauth2_imap.port, token_helper.argv))
    try:
        assert [name for name, _ in connection.folders()] == ["INBOX", "Sent"]
    finally:
        connection.close()
    assert "method=XOAUTH2" in oauth2_imap.logs()


def test_a_token_that_expires_between_two_logins_is_asked_for_again(
        oauth2_imap, token_info, token_helper):
    first, second = new_token(), new_token()
    token_info.grant(first, USER)
    token_helper.give(first)
    connect(settings(oauth2_imap.port, token_helper.argv)).close()
    token_info.revoke(first)  # it expired; the helper has refreshed it
    token_info.grant(second, USER)
    token_helper.give(second)
    connect(settings(oauth2_imap.port, token_helper.argv)).close()  # a kept token: refused
    assert token_helper.asked == 2


def test_a_failing_command_is_one_line_with_its_exit_status(oauth2_imap, token_info,
                                                            token_helper):
    token = new_token()
    token_info.grant(token, USER)
    token_helper.give(token)
    argv = token_helper.failing(status=3)
    with pytest.raises(Refused) as caught:
        connect(settings(oauth2_imap.port, argv))
    assert caught.value.message == (
        f"cannot sign in to the mailbox server 127.0.0.1:{oauth2_imap.port}: the token "
        f"command `{argv[0]}` exited with status 3 (run it yourself to see why)")


def test_a_hanging_command_is_bounded(oauth2_imap, token_info, token_helper, monkeypatch):
    monkeypatch.setattr(oauth2, "TIMEOUT", 1.0)
    token_helper.give(new_token())
    argv = token_helper.hanging()
    started = time.monotonic()
    with pytest.raises(Unreachable) as caught:  # retried as a passing trouble
        connect(settings(oauth2_imap.port, argv))
    assert time.monotonic() - started < 10
    assert caught.value.message == (
        f"cannot sign in to the mailbox server 127.0.0.1:{oauth2_imap.port}: the token "
        f"command `{argv[0]}` gave no token within 1 s and was stopped")


def test_a_refused_token_is_one_line_with_the_servers_answer(lone_dovecot, token_helper):
    token = new_token()  # never granted
    token_helper.give(token)
    with pytest.raises(Refused) as caught:
        connect(settings(lone_dovecot.port, token_helper.argv))
    assert caught.value.message == (
        f"the mailbox server 127.0.0.1:{lone_dovecot.port} refused the OAuth2 token for "
        f"{USER}: [AUTHENTICATIONFAILED] Authentication failed. (is it a token for this "
        "account, with the IMAP scope?)")


# --- in the daemon, and in the commands --------------------------------------------------


def test_the_daemon_watches_with_a_token_and_applies_a_reply(world, oauth2_imap, token_info,
                                                             token_helper):
    token = new_token()
    token_info.grant(token, USER)
    token_helper.give(token)
    w = world(extra=oauth2_mailbox_section(oauth2_imap.port, token_helper.argv),
              first_after_days=3)
    acme = add(w, "Acme", "dana@acme.example")
    daemon = w.start()
    wait_for(lambda: "mailbox: watching" in daemon.text(), what="the mailbox watch")
    oauth2_imap.append("INBOX", message("Dana <dana@acme.example>", USER, "Re: Thank you",
                                        datetime.now().astimezone()))
    wait_for(lambda: status(w, acme) == "heard", what="the reply to be applied")
    assert token_helper.asked >= 2  # one login per connection: the first pass, each folder
    assert daemon.stop() == 0
    assert token not in daemon.text()


def test_a_refused_token_is_retried_and_service_status_says_why(world, lone_dovecot,
                                                                 token_helper):
    token = new_token()  # never granted
    token_helper.give(token)
    w = world(extra=oauth2_mailbox_section(lone_dovecot.port, token_helper.argv))
    acme = add(w, "Acme", "dana@acme.example")
    daemon = w.start()
    wait_for(lambda: w.nudges_seen() == [(acme, 1)], what="the nudge, mailbox or not")
    wait_for(lambda: (source_state(w) or {}).get("state") == "failed", what="the failed state")
    shown = App(config.load(w.config)).sources()  # what `service status` prints
    text = present.source_text(shown["mailbox"], ZoneInfo("Europe/Berlin"), datetime.now(UTC))
    assert re.match(r"failed since .*: the mailbox server 127\.0\.0\.1:\d+ refused the OAuth2 "
                    r"token for jo@example\.org: \[AUTHENTICATIONFAILED\] Authentication "
                    r"failed\. \(is it a token for this account, with the IMAP scope\?\); "
                    r"next try in \d+ s", text), text
    wait_for(lambda: token_helper.asked >= 2, what="a second try, with a token asked again")
    assert daemon.text().count("refused the OAuth2 token") == 1  # reported once
    assert daemon.stop() == 0
    assert token not in daemon.text()


def test_a_failing_command_in_the_daemon_is_reported_and_no_token_is_logged(
        world, oauth2_imap, token_helper):
    token = new_token()
    token_helper.give(token)  # printed, then the command fails: never shown
    argv = token_helper.failing(status=3)
    w = world(extra=oauth2_mailbox_section(oauth2_imap.port, argv))
    daemon = w.start()
    wait_for(lambda: (source_state(w) or {}).get("state") == "failed", what="the failed state")
    assert source_state(w)["detail"].startswith(
        f"cannot sign in to the mailbox server 127.0.0.1:{oauth2_imap.port}: the token command "
        f"`{argv[0]}` exited with status 3 (run it yourself to see why); next try in ")
    wait_for(lambda: token_helper.asked >= 2, what="the command to be asked again")
    assert daemon.stop() == 0
    assert daemon.text().count("exited with status 3") == 1
    assert token not in daemon.text()


def test_mailbox_scan_with_a_failing_command_says_so_in_one_line(world, oauth2_imap,
                                                                  token_helper):
    token = new_token()
    token_helper.give(token)
    argv = token_helper.failing(status=2)
    w = world(extra=oauth2_mailbox_section(oauth2_imap.port, argv))
    done = w.cli("mailbox", "scan", check=False)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: cannot sign in to the mailbox server 127.0.0.1:{oauth2_imap.port}: the "
        f"token command `{argv[0]}` exited with status 2 (run it yourself to see why)"]
    assert token not in done.stdout + done.stderr


