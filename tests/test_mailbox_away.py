"""An employer's out-of-office reply against a real Dovecot (issue 19 item 4): its
return date, from the subject or the first 8 KB of its text, moves the next nudge to
the first working hour of the working day after it; `returns_on` in the finding;
without a date nothing moves."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from followup import passwords
from support.cli import run
from support.daemon import wait_for
from support.imap import PASSWORD, USER, mailbox_section, message
from test_mailbox import interview, mailbox_config, record, scan

NOW = datetime.now(UTC)
DAY = timedelta(days=1)
AUTO = {"Auto-Submitted": "auto-replied"}


@pytest.fixture
def cfg(tmp_path, imap):
    passwords.set_password(USER, PASSWORD, "mailbox")
    return mailbox_config(tmp_path, imap.port)


@pytest.fixture
def fu(capsys, cfg):
    def call(*args: str):
        return run(capsys, "--config", cfg, *args)
    return call


def next_thursday_after(days: int) -> datetime:
    day = (NOW + days * DAY).astimezone(ZoneInfo("Europe/Berlin"))
    return day + ((3 - day.weekday()) % 7) * DAY


def test_an_employers_out_of_office_reply_moves_the_next_nudge_after_its_return(
        fu, cfg, imap):
    acme = interview(cfg, "Acme", "dana@acme.example")
    back = next_thursday_after(10)
    body = f"I am out of the office until {back.day} {back:%B %Y} and will reply then."
    imap.append("INBOX", message("dana@acme.example", USER, "Automatic reply: Thank you",
                                 NOW - DAY, headers=AUTO, body=body))
    [found] = scan(fu)
    assert (found["kind"], found["returns_on"], found["applied"]) == (
        "auto_reply", back.date().isoformat(), True)
    friday_nine = (back + DAY).replace(hour=9, minute=0, second=0, microsecond=0)
    assert record(cfg, acme).interview.snoozed_until == friday_nine.astimezone(UTC)
    [flags] = imap.flags("INBOX").values()
    assert b"\\Seen" not in flags  # read with PEEK: still unread
    assert scan(fu) == []


def test_an_out_of_office_reply_without_a_date_moves_nothing(fu, cfg, imap):
    acme = interview(cfg, "Acme", "dana@acme.example")
    imap.append("INBOX", message("dana@acme.example", USER, "Out of office", NOW - DAY,
                                 headers=AUTO,
                                 body="I am travelling with limited access to email."))
    [found] = scan(fu)
    assert (found["kind"], found["returns_on"], found["applied"]) == (
        "auto_reply", None, False)
    assert record(cfg, acme).interview.snoozed_until is None


def test_the_return_date_in_the_subject_and_in_a_base64_text(fu, cfg, imap):
    acme = interview(cfg, "Acme", "dana@acme.example")
    beta = interview(cfg, "Beta", "kim@beta.example")
    back = next_thursday_after(20)
    imap.append("INBOX", message("dana@acme.example", USER,
                                 f"Abwesenheitsnotiz: zurück am {back:%d.%m.%Y}", NOW - DAY,
                                 headers=AUTO))
    text = base64.b64encode(f"Je serai de retour le {back:%d/%m/%Y}.".encode()).decode()
    raw = message("kim@beta.example", USER, "Réponse automatique", NOW - DAY,
                  headers=AUTO, body=text)
    raw = raw.replace(b"Content-Type: text/plain; charset=utf-8",
                      b"Content-Type: text/plain; charset=utf-8\r\n"
                      b"Content-Transfer-Encoding: base64")
    imap.append("INBOX", raw)
    found = {f["interview_ids"][0]: (f["returns_on"], f["applied"]) for f in scan(fu)}
    assert found == {acme: (back.date().isoformat(), True),
                     beta: (back.date().isoformat(), True)}


def test_an_auto_reply_from_elsewhere_naming_a_followup_moves_nothing(fu, cfg, imap):
    acme = interview(cfg, "Acme", "dana@acme.example")
    imap.append("Sent", message(USER, "dana@acme.example", "Thank you", NOW - 2 * DAY,
                                message_id="<fu1@example.org>"), seen=True)
    back = next_thursday_after(10)
    imap.append("INBOX", message("assistant@elsewhere.example", USER,
                                 f"Out of office until {back:%d.%m.%Y}", NOW - DAY,
                                 headers={**AUTO, "In-Reply-To": "<fu1@example.org>"}))
    found = [(f["kind"], f["returns_on"], f["applied"]) for f in scan(fu)]
    assert ("auto_reply", None, False) in found
    assert record(cfg, acme).interview.snoozed_until is None


def test_the_daemon_moves_the_nudge_and_says_so_once(world, imap):
    passwords.set_password(USER, PASSWORD, "mailbox")
    w = world(extra=mailbox_section(imap.port), first_after_days=3)
    at = (datetime.now().astimezone() - timedelta(hours=1)).isoformat(timespec="seconds")
    acme = json.loads(w.cli("add", "--company", "Acme", "--role", "Engineer", "--at", at,
                            "--email", "dana@acme.example", "--json").stdout)["id"]
    daemon = w.start()
    wait_for(lambda: "mailbox: watching" in daemon.text(), what="the mailbox watch")
    back = next_thursday_after(10)
    imap.append("INBOX", message("dana@acme.example", USER, "Out of office",
                                 datetime.now(UTC), headers=AUTO,
                                 body=f"Back on {back.day} {back:%B}."))
    title = f"notice: Acme is away until {back:%a} {back.day} {back:%b %Y}"
    wait_for(lambda: title in daemon.text(), what="the notice")
    shown = json.loads(w.cli("show", str(acme), "--json").stdout)
    # This world works around the clock: the working day after starts at midnight.
    friday = (back + DAY).replace(hour=0, minute=0, second=0, microsecond=0)
    assert datetime.fromisoformat(shown["next_nudge_at"]) == friday
    assert daemon.text().count(title) == 1
    assert daemon.stop() == 0
