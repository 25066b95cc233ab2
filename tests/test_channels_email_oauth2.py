"""The email channel signs in with OAuth2 (AUTH XOAUTH2) against a real SMTP server
(aiosmtpd): a fresh token from the user's token command before each login; a
refused token or a failing command is one line, never the token."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

from followup.channels.base import DeliveryResult
from followup.channels.email import EmailChannel
from followup.config import EmailSettings
from support.notices import single
from support.oauth2 import new_token
from support.smtp import XOAuth2

USER = "jo@example.org"


def settings(port: int, command: list[str]) -> EmailSettings:
    return EmailSettings(enabled=True, to=USER, sender=USER, host="127.0.0.1", port=port,
                         security="none", username=USER, auth="oauth2",
                         oauth2_command=tuple(command))


def deliver(channel: EmailChannel, *notices):
    async def scenario():
        return [await channel.deliver(notice) for notice in notices]

    results = asyncio.run(scenario())
    return results[0] if len(results) == 1 else results


def test_a_good_token_signs_in_and_the_nudge_is_sent(smtp_server, token_info, token_helper):
    token = new_token()
    token_info.grant(token, USER)
    token_helper.give(token)
    server = smtp_server(XOAuth2(tokens=token_info))
    result = deliver(EmailChannel(settings(server.port, token_helper.argv)), single("7-1"))
    assert result.outcome is DeliveryResult.DELIVERED
    [received] = server.handler.received
    assert received.login == USER


def test_a_token_that_expires_between_two_logins_is_asked_for_again(
        smtp_server, token_info, token_helper):
    first, second = new_token(), new_token()
    token_info.grant(first, USER)
    token_helper.give(first)
    server = smtp_server(XOAuth2(tokens=token_info))
    channel = EmailChannel(settings(server.port, token_helper.argv))
    assert deliver(channel, single("7-1")).ok
    token_info.revoke(first)  # it expired; the helper has refreshed it
    token_info.grant(second, USER)
    token_helper.give(second)
    assert deliver(channel, single("7-2")).ok  # a kept token would be refused
    assert token_helper.asked == 2
    assert [r.login for r in server.handler.received] == [USER, USER]


def test_a_refused_token_needs_a_fix_with_the_servers_answer(smtp_server, token_info,
                                                             token_helper):
    token = new_token()  # never granted
    token_helper.give(token)
    server = smtp_server(XOAuth2(tokens=token_info))
    result = deliver(EmailChannel(settings(server.port, token_helper.argv)), single("7-1"))
    assert result.outcome is DeliveryResult.NEEDS_FIX
    assert result.reason == (f"127.0.0.1:{server.port} refused the OAuth2 token for {USER}: "
                             "535 5.7.8 Username and Password not accepted (is it a token "
                             "for this account, with the SMTP scope?)")
    assert server.handler.received == []


def test_a_failing_command_needs_a_fix_and_names_its_exit_status(smtp_server, token_info,
                                                                 token_helper):
    token = new_token()
    token_info.grant(token, USER)
    token_helper.give(token)
    argv = token_helper.failing(status=3)
    server = smtp_server(XOAuth2(tokens=token_info))
    result = deliver(EmailChannel(settings(server.port, argv)), single("7-1"))
    assert result.outcome is DeliveryResult.NEEDS_FIX
    assert result.reason == (f"cannot sign in to 127.0.0.1:{server.port}: the token command "
                             f"`{argv[0]}` exited with status 3 (run it yourself to see why)")
    assert server.handler.received == []


def test_a_hanging_command_is_bounded_within_the_attempt(smtp_server, token_info,
                                                         token_helper):
    token_helper.give(new_token())
    argv = token_helper.hanging()
    server = smtp_server(XOAuth2(tokens=token_info))
    started = time.monotonic()
    result = deliver(EmailChannel(settings(server.port, argv), deadline=2.0), single("7-1"))
    assert time.monotonic() - started < 10
    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert result.reason == (f"cannot sign in to 127.0.0.1:{server.port}: the token command "
                             f"`{argv[0]}` gave no token within 1 s and was stopped")


def test_a_server_without_xoauth2_needs_a_fix(smtp_server, token_helper):
    token_helper.give(new_token())
    server = smtp_server()  # no AUTH without TLS
    result = deliver(EmailChannel(settings(server.port, token_helper.argv)), single("7-1"))
    assert result.outcome is DeliveryResult.NEEDS_FIX
    assert result.reason == (f"127.0.0.1:{server.port} does not offer OAuth2 sign-in (AUTH "
                             "XOAUTH2; it offers: none): check [notify.email] host, port and "
                             "auth")


def test_notify_test_signs_in_with_the_command_and_never_prints_the_token(
        tmp_path, smtp_server, token_info, token_helper):
    token = new_token()
    token_info.grant(token, USER)
    token_helper.give(token)
    server = smtp_server(XOAuth2(tokens=token_info))
    path = tmp_path / "followup.toml"

    def notify_test(command: list[str]) -> subprocess.CompletedProcess:
        path.write_text(f"""
[database]
url = "sqlite:///{tmp_path}/f.db"
[notify.desktop]
enabled = false
[notify.email]
enabled = true
to = "{USER}"
from = "{USER}"
host = "127.0.0.1"
port = {server.port}
security = "none"
username = "{USER}"
auth = "oauth2"
oauth2_command = {json.dumps(command)}
""")
        return subprocess.run([sys.executable, "-m", "followup", "--config", str(path),
                               "notify-test"], capture_output=True, text=True, timeout=90)

    sent = notify_test(token_helper.argv)
    assert (sent.returncode, sent.stdout) == (0, "email: ok\n"), sent.stderr
    failing = token_helper.failing(status=3)
    failed = notify_test(failing)
    assert failed.returncode == 1
    assert failed.stdout == (f"email: failed, and trying again will not help until this is "
                             f"fixed: cannot sign in to 127.0.0.1:{server.port}: the token "
                             f"command `{failing[0]}` exited with status 3 (run it yourself "
                             "to see why)\n")
    assert token not in sent.stdout + sent.stderr + failed.stdout + failed.stderr
    assert [r.login for r in server.handler.received] == [USER]
