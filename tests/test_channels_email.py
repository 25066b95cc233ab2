"""The email channel, against real SMTP servers on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import asyncio
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from followup import passwords
from followup.channels.base import DeliveryResult
from followup.channels.email import EmailChannel, message_id
from followup.config import EmailSettings
from support.notices import digest, reminder, single
from support.smtp import (  # noqa: F401 - fixtures
    HangUp,
    Login,
    Refuser,
    certificate_fixture,
    free_port,
    silent_server_fixture,
    smtp_server_fixture,
)

ME = "me@example.com"


def settings(port: int, security: str = "none", username: str = "") -> EmailSettings:
    return EmailSettings(enabled=True, to=ME, sender="followup@example.com", host="127.0.0.1",
                         port=port, security=security, username=username)


def deliver(channel: EmailChannel, *notices):
    async def scenario():
        return [await channel.deliver(notice) for notice in notices]

    results = asyncio.run(scenario())
    return results[0] if len(results) == 1 else results


def test_a_nudge_arrives_with_its_draft_and_link(smtp_server):
    server = smtp_server()
    result = deliver(EmailChannel(settings(server.port)), single("7-1", company="Acme Widgets"))

    assert result.outcome is DeliveryResult.DELIVERED
    [received] = server.handler.received
    assert (received.mail_from, received.rcpt_tos) == ("followup@example.com", [ME])
    message = received.message
    assert message["From"] == "followup@example.com"
    assert message["To"] == ME
    assert message["Subject"] == "Acme Widgets (Backend engineer): follow-up 1 of 2 is due"
    assert message["Message-ID"] == "<7-1@example.com>"
    assert message["Date"] is not None
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith("Follow-up 1 of 2 for Backend engineer at Acme Widgets is due.\n")
    assert "To: dana@acme.example\nSubject: Thank you: Backend engineer interview\n" in body
    assert "thank you for the talk about the API team & its plans." in body
    [link] = [line for line in body.splitlines() if line.startswith("mailto:")]
    parts = urlsplit(link)
    assert parts.path == "dana@acme.example"
    assert parse_qs(parts.query)["subject"] == ["Thank you: Backend engineer interview"]


def test_the_subject_names_the_follow_up_the_user_will_send(smtp_server):
    # Issue 10, item 8: nudge 2 after an ignored nudge 1 is about follow-up 1.
    from dataclasses import replace

    from followup.models import Notice

    ignored = replace(reminder(number=2), followup=1)
    server = smtp_server()
    notice = Notice(key="7-2", title=ignored.title, body=ignored.body, reminders=(ignored,))
    assert deliver(EmailChannel(settings(server.port)), notice).ok
    [received] = server.handler.received
    assert received.message["Subject"] == ("Acme Widgets (Backend engineer): follow-up 1 of 2 "
                                           "is due")


def test_the_same_notice_keeps_its_message_id(smtp_server):
    server = smtp_server()
    channel = EmailChannel(settings(server.port))
    results = deliver(channel, single("7-1"), single("7-1"), single("7-2"))

    assert [result.outcome for result in results] == [DeliveryResult.DELIVERED] * 3
    ids = [received.message["Message-ID"] for received in server.handler.received]
    assert ids == ["<7-1@example.com>", "<7-1@example.com>", "<7-2@example.com>"]


@pytest.mark.parametrize("key, sender, expected", [
    ("7-1", "followup@example.com", "<7-1@example.com>"),
    ("test-20300304T143000-0a1b2c3d", "Me <me@Mail.Example.ORG>",
     "<test-20300304T143000-0a1b2c3d@mail.example.org>"),
    ("7/1 <x>@y", "followup@example.com", "<7-1-x-y.aa20e3c8f1e9caf6@example.com>"),
    ("..", "followup@example.com", "<5ec1f7e700f37c3d@example.com>"),
    ("7-1", "nobody", "<7-1@followup.invalid>"),
])
def test_message_ids_are_safe_and_stable_with_the_senders_domain(key, sender, expected):
    assert message_id(key, sender) == expected


class Stall(Refuser):
    """Takes its time over RCPT (longer than the channel's deadline), then notes
    whether the client was still there."""

    def __init__(self, seconds: float) -> None:
        super().__init__(stage="none")
        self.seconds = seconds
        self.client_left: bool | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:  # aiosmtpd's answer to a closed connection
            self.client_left = True
            raise
        self.client_left = server.transport is None or server.transport.is_closing()
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


def test_the_deadline_ends_the_attempt_so_nothing_is_sent_after_it_failed(smtp_server):
    # Each step is within the 30 s timeout; only the total deadline can stop this.
    server = smtp_server(Stall(seconds=4))
    started = time.monotonic()
    result = deliver(EmailChannel(settings(server.port), deadline=1), single())
    took = time.monotonic() - started

    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert result.reason == f"127.0.0.1:{server.port} did not take the message within 1 s"
    assert took < 3.5, took  # well before the server's 4 s stall ends
    deadline = time.monotonic() + 30
    while server.handler.client_left is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.handler.client_left is True  # the connection was gone: no DATA can come
    assert server.handler.received == []


class SlowKeyring:
    """The file keyring, taking `seconds` over each read (a keyring unlocking slowly)."""

    def __init__(self, seconds: float) -> None:
        from keyrings.alt.file import PlaintextKeyring

        class Slow(PlaintextKeyring):
            def get_password(inner, service, username):
                time.sleep(seconds)
                try:
                    return super().get_password(service, username)
                finally:
                    self.answered.set()

        self.backend = Slow()
        self.answered = threading.Event()


@pytest.fixture
def slow_keyring(monkeypatch):
    import keyring.core

    def install(seconds: float) -> SlowKeyring:
        slow = SlowKeyring(seconds)
        monkeypatch.setattr(keyring.core, "_keyring_backend", slow.backend)
        return slow

    return install


@pytest.mark.parametrize("keyring_seconds", [0.9, 2.0])
def test_the_deadline_counts_the_keyring_read(smtp_server, slow_keyring, keyring_seconds):
    # A keyring that takes (almost) the whole deadline, then a slow server: the
    # attempt still ends by its deadline, and nothing is sent after it.
    server = smtp_server(Stall(seconds=2), login=Login("me", "correct horse"))
    passwords.set_password("me", "correct horse")
    slow = slow_keyring(keyring_seconds)
    channel = EmailChannel(settings(server.port, username="me"), deadline=1)

    async def timed():  # asyncio.run then waits for the keyring's thread: not counted
        started = time.monotonic()
        result = await channel.deliver(single())
        return result, time.monotonic() - started

    result, took = asyncio.run(timed())

    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert took < 1.5, took
    assert slow.answered.wait(30)  # the keyring's thread is done: nothing follows it
    assert server.handler.received == []


def test_the_deadline_cuts_a_tls_handshake_that_never_ends(silent_server):
    # The server takes the connection and never answers the TLS hello: only the
    # deadline (not the 30 s step timeout) may end the attempt.
    started = time.monotonic()
    result = deliver(EmailChannel(settings(silent_server, security="tls"), deadline=1),
                     single())
    took = time.monotonic() - started

    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert result.reason == f"127.0.0.1:{silent_server} did not take the message within 1 s"
    assert took < 2.5, took


def test_a_company_name_cannot_add_headers(smtp_server):
    server = smtp_server()
    evil = "Evil Corp\r\nBcc: victim@example.com"
    result = deliver(EmailChannel(settings(server.port)), single(company=evil))

    assert result.ok
    [received] = server.handler.received
    assert received.rcpt_tos == [ME]
    assert received.message["Bcc"] is None
    assert received.message["Subject"].strip() == (
        "Evil Corp Bcc: victim@example.com (Backend engineer): follow-up 1 of 2 is due")


def test_a_digest_names_every_interview_and_carries_every_draft(smtp_server):
    server = smtp_server()
    notice = digest(reminder(7, "Acme Widgets"), reminder(8, "Globex", number=2))
    assert deliver(EmailChannel(settings(server.port)), notice).ok

    message = server.handler.received[0].message
    assert message["Subject"] == "2 follow-ups are due"
    body = message.get_content().replace("\r\n", "\n")
    assert "== Acme Widgets (Backend engineer): follow-up 1 of 2 is due ==" in body
    assert "== Globex (Backend engineer): follow-up 2 of 2 is due ==" in body
    assert body.count("mailto:dana@acme.example?") == 2


def test_the_login_uses_the_password_from_the_keyring(smtp_server):
    server = smtp_server(login=Login("me", "correct horse"))
    passwords.set_password("me", "correct horse")
    result = deliver(EmailChannel(settings(server.port, username="me")), single())

    assert result.ok
    assert server.handler.received[0].login == "me"


def test_a_refused_login_is_permanent_with_the_servers_words(smtp_server):
    server = smtp_server(login=Login("me", "correct horse"))
    passwords.set_password("me", "wrong")
    result = deliver(EmailChannel(settings(server.port, username="me")), single())

    assert result.outcome is DeliveryResult.NEEDS_FIX
    assert result.reason.startswith(f"127.0.0.1:{server.port} refused the login for me: 535 ")
    assert "followup password set" in result.reason


def test_a_password_smtplib_cannot_send_is_permanent(smtp_server):
    server = smtp_server(login=Login("me", "correct horse"))
    passwords.set_password("me", "pässword")
    result = deliver(EmailChannel(settings(server.port, username="me")), single())

    assert result.outcome is DeliveryResult.NEEDS_FIX
    assert result.reason.startswith(f"cannot log in to 127.0.0.1:{server.port}: the username "
                                    "or password has characters other than ASCII")


def test_no_password_in_the_keyring_is_permanent_and_sends_nothing(smtp_server):
    server = smtp_server(login=Login("me", "correct horse"))
    result = deliver(EmailChannel(settings(server.port, username="me")), single())

    assert result.outcome is DeliveryResult.NEEDS_FIX
    assert result.reason == "no password in the keyring for me: run `followup password set`"
    assert server.handler.received == []


@pytest.mark.parametrize("stage, reply, outcome, words", [
    ("MAIL", "553 5.7.1 Sender address rejected", DeliveryResult.NEEDS_FIX,
     "refused the sender followup@example.com: 553 5.7.1 Sender address rejected"),
    ("RCPT", "421 4.7.0 Try again later", DeliveryResult.TRY_AGAIN,
     "refused the recipient me@example.com: 421 4.7.0 Try again later"),
    ("RCPT", "550 5.1.1 No such user here", DeliveryResult.NEEDS_FIX,
     "refused the recipient me@example.com: 550 5.1.1 No such user here"),
    ("DATA", "451 4.3.0 Mail server temporarily rejected message", DeliveryResult.TRY_AGAIN,
     "refused the message: 451 4.3.0 Mail server temporarily rejected message"),
    ("DATA", "554 5.7.1 Message rejected as spam", DeliveryResult.NEEDS_FIX,
     "refused the message: 554 5.7.1 Message rejected as spam"),
])
def test_refusals_are_classified_by_their_code(smtp_server, stage, reply, outcome, words):
    server = smtp_server(Refuser(stage=stage, reply=reply))
    result = deliver(EmailChannel(settings(server.port)), single())

    assert result.outcome is outcome
    assert result.reason == f"127.0.0.1:{server.port} {words}"


def test_a_refused_connection_is_transient():
    port = free_port()
    result = deliver(EmailChannel(settings(port)), single())

    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert result.reason.startswith(f"127.0.0.1:{port} refused the connection")


def test_a_server_hanging_up_mid_dialogue_is_transient(smtp_server):
    server = smtp_server(HangUp())
    result = deliver(EmailChannel(settings(server.port)), single())

    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert result.reason.startswith(f"127.0.0.1:{server.port} closed the connection")


def test_a_silent_server_is_transient_after_the_timeout(silent_server):
    started = time.monotonic()
    result = deliver(EmailChannel(settings(silent_server), timeout=0.5), single())

    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert result.reason == f"no answer from 127.0.0.1:{silent_server} within 0.5 s"
    assert time.monotonic() - started < 5


def test_starttls_then_login(smtp_server, certificate):
    server = smtp_server(login=Login("me", "correct horse"), starttls=certificate)
    passwords.set_password("me", "correct horse")
    channel = EmailChannel(settings(server.port, "starttls", "me"),
                           ssl_context=certificate.client_context())

    assert deliver(channel, single()).ok
    assert server.handler.received[0].login == "me"


def test_implicit_tls(smtp_server, certificate):
    server = smtp_server(tls=certificate)
    channel = EmailChannel(settings(server.port, "tls"), ssl_context=certificate.client_context())

    assert deliver(channel, single()).ok
    assert len(server.handler.received) == 1


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_an_untrusted_certificate_is_permanent(smtp_server, certificate, security):
    server = (smtp_server(starttls=certificate) if security == "starttls"
              else smtp_server(tls=certificate))
    result = deliver(EmailChannel(settings(server.port, security)), single())

    assert result.outcome is DeliveryResult.NEEDS_FIX
    assert result.reason.startswith(f"the certificate of 127.0.0.1:{server.port} could not "
                                    "be verified (self-signed certificate)")
    assert server.handler.received == []


def test_starttls_with_a_server_that_does_not_offer_it_is_permanent(smtp_server):
    server = smtp_server()
    result = deliver(EmailChannel(settings(server.port, "starttls")), single())

    assert result.outcome is DeliveryResult.NEEDS_FIX
    assert "STARTTLS extension not supported by server" in result.reason
    assert "check [notify.email] security and port" in result.reason


def test_a_german_nudge_email_speaks_german(smtp_server):
    # Issue 19, item 3: the nudge texts of a draft are in the interview's language.
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from followup import content
    from followup.models import Interview

    interview = Interview(id=4, company="Nordlicht", role="Entwicklerin",
                          interview_at=datetime(2026, 3, 2, 10, tzinfo=UTC),
                          interviewer="Herr Klaus Weber", language="de")
    notice = content.notice([content.reminder(interview, 1, 2,
                                              datetime(2026, 3, 6, 12, tzinfo=UTC),
                                              ZoneInfo("Europe/Berlin"))])
    server = smtp_server()
    assert deliver(EmailChannel(settings(server.port)), notice).ok
    message = server.handler.received[0].message
    assert message["Subject"] == "Nordlicht (Entwicklerin): Nachricht 1 von 2 ist fällig"
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith("Ihr Gespräch für die Stelle als Entwicklerin bei Nordlicht mit "
                           "Herrn Klaus Weber war vor 4 Tagen (Mo., 2. März 2026, 11:00 Uhr).\n")
    assert ("Ihr fertiger Entwurf:\n\nTo: (no address recorded)\n"
            "Subject: Vielen Dank für das Gespräch \N{EN DASH} Entwicklerin\n\n"
            "Sehr geehrter Herr Weber,\n\nvielen Dank") in body
    assert "\nIn Ihrem Mailprogramm öffnen:\nmailto:?subject=" in body
