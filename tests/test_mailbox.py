"""`followup mailbox scan` against a real Dovecot: every decision end to end, once.

Messages are put into the server with IMAP APPEND, as a mail client would;
the command reads them back with EXAMINE and header fields only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from followup import config, passwords
from followup.app import App
from followup.models import HeardVia, Interview, Status
from support.cli import dump, run
from support.imap import PASSWORD, USER, Dovecot, free_port, mailbox_section, message

NOW = datetime.now(UTC)
DAY = timedelta(days=1)


def mailbox_config(tmp_path, port: int, **keys) -> str:
    extra = "".join(f"{key} = {value}\n" for key, value in keys.items())
    path = tmp_path / "followup.toml"
    path.write_text(f"""timezone = "Europe/Berlin"
[database]
url = "sqlite:///{tmp_path}/f.db"
{mailbox_section(port)}{extra}""")
    return str(path)


@pytest.fixture
def cfg(tmp_path, imap):
    passwords.set_password(USER, PASSWORD, "mailbox")
    return mailbox_config(tmp_path, imap.port)


@pytest.fixture
def fu(capsys, cfg):
    def call(*args: str):
        return run(capsys, "--config", cfg, *args)
    return call


def app_for(cfg: str) -> App:
    return App(config.load(cfg))


def interview(cfg: str, company: str, email: str = "", role: str = "Engineer",
              at: datetime = NOW - 10 * DAY, domains: tuple[str, ...] = ()) -> int:
    app = app_for(cfg)
    made = app.store.add_interview(Interview(0, company, role, at, email=email,
                                             domains=domains), NOW)
    app.store.close()
    return made.id


def record(cfg: str, interview_id: int):
    app = app_for(cfg)
    try:
        return app.store.get(interview_id)
    finally:
        app.store.close()


def scan(fu, *args: str) -> list[dict]:
    result = fu("mailbox", "scan", "--json", *args)
    assert result.code == 0, result.err
    return result.json()["findings"]


def test_every_decision_end_to_end(fu, cfg, imap: Dovecot):
    acme = interview(cfg, "Acme Inc.", "dana@acme.example")
    meta = interview(cfg, "Meta", "sam@gmail.com")
    beta = interview(cfg, "Beta", "kim@beta.example")
    gamma = interview(cfg, "Gamma", "ann@gamma.example", at=NOW - 2 * DAY)
    delta = interview(cfg, "Delta Labs", "hr@delta.example")
    eps = interview(cfg, "Epsilon", "eve@epsilon.example")
    zeta = interview(cfg, "Zeta", "ref@example.org")  # a referral at my own domain
    theta = interview(cfg, "Theta", "hr@theta.example", domains=("theta-jobs.example",))
    put = imap.append
    # Mail from my own address is never a reply, even at the employer's domain.
    put("INBOX", message(f"Jo <{USER}>", "ref@example.org", "Fwd: notes", NOW - DAY))
    # A sender domain given with --domain: a reply.
    put("INBOX", message("talent@eu.theta-jobs.example", USER, "Offer", NOW - DAY))
    # A colleague at the employer's domain: a reply.
    put("INBOX", message("Pat <pat@acme.example>", USER, "Next steps", NOW - 3 * DAY))
    # Someone else at the interviewer's free-mail provider: nothing.
    put("INBOX", message("alex@gmail.com", USER, "Hello", NOW - 3 * DAY))
    # Out of office: never a reply.
    put("INBOX", message("kim@beta.example", USER, "Automatic reply: Thanks", NOW - 3 * DAY,
                         headers={"Auto-Submitted": "auto-replied"}))
    # Dated before the interview began: nothing.
    put("INBOX", message("ann@gamma.example", USER, "Invitation", NOW - 4 * DAY))
    # A tracking system naming the company: a reply.
    put("INBOX", message("Delta Labs Recruiting <no-reply@greenhouse-mail.io>", USER,
                         "Your application", NOW - 2 * DAY,
                         headers={"Auto-Submitted": "auto-generated"}))
    # A follow-up in Sent, then a reply from another address naming it.
    put("Sent", message(USER, "eve@epsilon.example", "Thank you", NOW - 5 * DAY,
                        message_id="<fu-eps@example.org>"), seen=True)
    put("INBOX", message("team@elsewhere.example", USER, "Re: Thank you", NOW - DAY,
                         headers={"In-Reply-To": "<fu-eps@example.org>"}))
    found = scan(fu)
    assert sorted((f["kind"], f["interview_ids"], f["applied"]) for f in found) == sorted([
        ("reply", [acme], True),
        ("auto_reply", [beta], False),
        ("reply", [delta], True),
        ("followup_sent", [eps], True),
        ("reply", [eps], True),
        ("reply", [theta], True),
    ])
    everyone = (acme, meta, beta, gamma, delta, eps, zeta, theta)
    statuses = {i: record(cfg, i).interview.status for i in everyone}
    assert statuses == {acme: Status.HEARD, meta: Status.WAITING, beta: Status.WAITING,
                        gamma: Status.WAITING, delta: Status.HEARD, eps: Status.HEARD,
                        zeta: Status.WAITING, theta: Status.HEARD}
    heard = record(cfg, acme).interview
    assert heard.heard_via is HeardVia.MAILBOX
    assert heard.heard_message.startswith("pat@acme.example | Next steps | <")
    followed = record(cfg, eps)
    assert [f.sent_at for f in followed.followups] == [
        (NOW - 5 * DAY).replace(microsecond=0)]
    assert scan(fu) == []  # nothing new, nothing twice


def test_a_dry_run_changes_nothing(fu, cfg, imap, tmp_path):
    acme = interview(cfg, "Acme", "dana@acme.example")
    imap.append("INBOX", message("dana@acme.example", USER, "Re: thanks", NOW - DAY))
    assert fu("list").code == 0  # the first command remembers the configured zone
    before = dump(tmp_path / "f.db")
    found = scan(fu, "--dry-run")
    assert [(f["kind"], f["interview_ids"], f["applied"]) for f in found] == [
        ("reply", [acme], False)]
    assert dump(tmp_path / "f.db") == before
    assert [f["applied"] for f in scan(fu)] == [True]


def test_the_human_output(fu, cfg, imap):
    interview(cfg, "Acme", "dana@acme.example")
    imap.append("INBOX", message("dana@acme.example", USER, "Re: thanks", NOW - DAY))
    result = fu("mailbox", "scan")
    assert result.code == 0
    assert re.search(r"reply .* from dana@acme.example: Re: thanks\s+\[applied\]", result.out)
    assert fu("mailbox", "scan").out.strip() == "Nothing new in the mailbox."


def test_a_sent_follow_up_counts_once_across_rescans_and_a_uidvalidity_change(fu, cfg, imap):
    acme = interview(cfg, "Acme", "dana@acme.example")
    follow_up = message(USER, "Dana <dana@acme.example>", "Thank you", NOW - 3 * DAY,
                        message_id="<fu-1@example.org>")
    imap.append("Sent", follow_up, seen=True)
    assert [f["kind"] for f in scan(fu)] == ["followup_sent"]
    assert scan(fu) == []
    imap.recreate_sent()  # a new UIDVALIDITY: the folder is read back again
    imap.append("Sent", follow_up, seen=True)
    assert scan(fu) == []
    assert record(cfg, acme).followups_sent == 1


def test_a_follow_up_already_recorded_by_hand_is_not_counted_again(fu, cfg, imap):
    acme = interview(cfg, "Acme", "dana@acme.example")
    assert fu("sent", str(acme)).code == 0  # recorded now, sent an hour ago
    imap.append("Sent", message(USER, "dana@acme.example", "Thanks", NOW - timedelta(hours=1)))
    found = scan(fu)
    assert [(f["kind"], f["already_recorded"]) for f in found] == [("followup_sent", True)]
    assert record(cfg, acme).followups_sent == 1


def test_two_interviews_at_one_employer_and_no_role_named_is_ambiguous(fu, cfg, imap):
    first = interview(cfg, "Acme", "dana@acme.example", role="Backend Engineer")
    second = interview(cfg, "Acme", "lee@acme.example", role="Data Analyst")
    imap.append("INBOX", message("hr@acme.example", USER, "Next steps", NOW - DAY))
    imap.append("INBOX", message("hr@acme.example", USER, "Your Data Analyst interview",
                                 NOW - DAY / 2))
    found = scan(fu)
    assert [(f["kind"], f["interview_ids"]) for f in found] == [
        ("ambiguous", [first, second]), ("reply", [second])]
    assert record(cfg, first).interview.status is Status.WAITING


def test_a_bounce_of_a_follow_up_is_not_a_reply(fu, cfg, imap):
    acme = interview(cfg, "Acme", "dana@acme.example")
    imap.append("Sent", message(USER, "dana@acme.example", "Thanks", NOW - 2 * DAY,
                                message_id="<fu-b@example.org>"))
    imap.append("INBOX", message(
        "Mail Delivery System <MAILER-DAEMON@mx.acme.example>", USER,
        "Undelivered Mail Returned to Sender", NOW - DAY,
        headers={"In-Reply-To": "<fu-b@example.org>", "Return-Path": "<>"}))
    found = scan(fu)
    assert [(f["kind"], f["interview_ids"]) for f in found] == [
        ("followup_sent", [acme]), ("bounce", [acme])]
    bounce = found[1]
    assert (bounce["to"], bounce["applied"], bounce["returns_on"]) == (
        "dana@acme.example", False, None)  # the address that failed
    assert record(cfg, acme).interview.status is Status.WAITING


def raw(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\nhi\r\n").encode("latin-1")


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_messy_real_mail_is_read_leniently_and_what_cannot_be_read_skipped_once(
        capsys, tmp_path, imap, database_url):
    passwords.set_password(USER, PASSWORD, "mailbox")
    cfg = mailbox_config(tmp_path, imap.port)
    Path(cfg).write_text(Path(cfg).read_text().replace(
        f"sqlite:///{tmp_path}/f.db", database_url()))
    acme = interview(cfg, "Acme", "dana@acme.example")
    beta = interview(cfg, "Beta", "kim@beta.example")
    gamma = interview(cfg, "Gamma", "ann@gamma.example")
    # No Date, and a NUL in an encoded subject: the arrival time; the NUL removed.
    imap.append("INBOX", raw("From: Dana <dana@acme.example>",
                             "Subject: =?ISO-8859-1?Q?testing=00?=", "Message-ID: <nul@a>"))
    # Dated in the year 3000, a display name with a comma and "via".
    imap.append("INBOX", raw("From: 'Lee, Kim' via Beta Hiring <kim@beta.example>",
                             "Date: Mon, 1 Jan 3000 10:00:00 +0000", "Subject: Next round"))
    # Headers past every bound: skipped, reported once, and the folder goes on.
    imap.append("INBOX", raw("From: ann@gamma.example", "Subject: " + "A" * 1100 * 1024))
    imap.append("INBOX", message("ann@gamma.example", USER, "The real reply", NOW - DAY))
    result = run(capsys, "--config", cfg, "mailbox", "scan", "--json")
    assert result.code == 0, result.err
    found = result.json()["findings"]
    assert sorted((f["kind"], f["interview_ids"], f["subject"]) for f in found) == [
        ("reply", [acme], "testing"), ("reply", [beta], "Next round"),
        ("reply", [gamma], "The real reply")]
    assert all(abs(datetime.fromisoformat(f["date"]) - NOW) < 2 * DAY for f in found)
    assert result.err.count("skipped a message in INBOX") == 1
    assert "Traceback" not in result.err
    statuses = [record(cfg, i).interview.status for i in (acme, beta, gamma)]
    assert statuses == [Status.HEARD] * 3
    again = run(capsys, "--config", cfg, "mailbox", "scan", "--json")
    assert again.json()["findings"] == [] and "skipped" not in again.err


def test_machine_mail_from_the_employer_is_never_heard(fu, cfg, imap):
    acme = interview(cfg, "Acme", "dana@acme.example")
    imap.append("INBOX", message("Acme News <news@acme.example>", USER, "Our newsletter",
                                 NOW - DAY, headers={"List-Unsubscribe": "<mailto:x@acme.example>",
                                                     "Precedence": "bulk"}))
    found = scan(fu)
    assert [(f["kind"], f["interview_ids"], f["applied"], f["returns_on"]) for f in found] \
        == [("automatic", [acme], False, None)]
    assert record(cfg, acme).interview.status is Status.WAITING
    assert scan(fu) == []  # told once


def test_flags_stay_as_they_were_and_no_body_is_read(fu, cfg, imap):
    interview(cfg, "Acme", "dana@acme.example")
    imap.append("INBOX", message("dana@acme.example", USER, "unread reply", NOW - DAY))
    imap.append("INBOX", message("pat@acme.example", USER, "read reply", NOW - DAY), seen=True)
    before, logged = imap.flags("INBOX"), len(imap.logs())
    assert len(scan(fu)) == 1
    assert imap.flags("INBOX") == before
    sessions = [line for line in imap.logs()[logged:].splitlines()  # this scan's sessions
                if "Disconnected: Logged out" in line]
    assert sessions and all("body_count=0" in line for line in sessions)


def test_a_wrong_password_is_exit_1_in_one_line(fu, cfg):
    passwords.set_password(USER, "wrong", "mailbox")
    result = fu("mailbox", "scan")
    assert result.code == 1
    assert result.err.count("\n") == 1 and "refused the login" in result.err


def test_an_unreachable_server_is_exit_1_in_one_line(capsys, tmp_path):
    passwords.set_password(USER, PASSWORD, "mailbox")
    cfg = mailbox_config(tmp_path, free_port())
    result = run(capsys, "--config", cfg, "mailbox", "scan")
    assert result.code == 1
    assert result.err.count("\n") == 1 and "cannot reach the mailbox server" in result.err


def test_no_password_in_the_keyring_says_how_to_store_it(fu):
    passwords.clear_password(USER, "mailbox")
    result = fu("mailbox", "scan")
    assert result.code == 1 and "followup password set mailbox" in result.err


def test_a_password_in_the_mailbox_section_is_a_configuration_error(capsys, tmp_path):
    cfg = mailbox_config(tmp_path, 993, password='"hunter2"')
    result = run(capsys, "--config", cfg, "mailbox", "scan")
    assert result.code == 78
    assert "[mailbox] password" in result.err and "hunter2" not in result.err


@pytest.mark.parametrize(("keys", "problem"), [
    ({"host": '"imap.example.com"'}, "[mailbox] security"),  # "none" away from loopback
    ({"inbox": "[]"}, "[mailbox] inbox"),
    ({"poll_seconds": "0"}, "[mailbox] poll_seconds"),
    ({"lookback_days": '"60"'}, "[mailbox] lookback_days"),
])
def test_bad_mailbox_settings_are_configuration_errors(capsys, tmp_path, keys, problem):
    cfg = mailbox_config(tmp_path, 993)
    text = Path(cfg).read_text()
    for key, value in keys.items():
        text = re.sub(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.M) \
            if re.search(rf"^{key} = ", text, flags=re.M) else text + f"{key} = {value}\n"
    Path(cfg).write_text(text)
    result = run(capsys, "--config", cfg, "mailbox", "scan")
    assert result.code == 78 and problem in result.err


def test_the_notices_a_finding_gives():
    from dataclasses import replace

    from followup.sources.mailbox.replies import Finding, Folder, Kind, Message
    from followup.sources.mailbox.watch import notice_of

    mail = Message(Folder.INBOX, "<m@x>", "dana@acme.example", NOW, "Re: Thanks")
    company = {1: "Acme", 2: "Acme"}.get
    cases = [
        (Finding(Kind.REPLY, (1,), mail, applied=True),
         ("Acme replied: nudges stopped", "From dana@acme.example: Re: Thanks")),
        (Finding(Kind.AMBIGUOUS, (1, 2), mail),
         ("Is this a reply?", "It could be about Acme (1), Acme (2)")),
        (Finding(Kind.BOUNCE, (1,), mail, counterpart="dana@acme.example"),
         ("Your follow-up to dana@acme.example did not arrive",
          "The address dana@acme.example (Acme) failed")),
        (Finding(Kind.BOUNCE, (1,), mail),
         ("Your follow-up to Acme did not arrive", "A mail server of Acme sent it back")),
        (Finding(Kind.BOUNCE, (1,), replace(mail, subject="Delivery Status Notification "
                                             "(Delay)"), counterpart="dana@acme.example"),
         None),  # still being retried: it may yet arrive
        (Finding(Kind.AUTOMATIC, (1,), replace(mail, subject="Our newsletter")),
         ("Automatic mail from Acme", "acme.example sent 'Our newsletter': not counted as a "
          "reply; `followup heard 1` if it is one")),
        (Finding(Kind.AUTO_REPLY, (1,), mail), None),
        (Finding(Kind.FOLLOWUP_SENT, (1,), mail, applied=True, linked=True), None),
    ]
    for finding, expected in cases:
        said = notice_of(finding, company)
        if expected is None:
            assert said is None
        else:
            assert said[0] == expected[0] and expected[1] in said[1]
