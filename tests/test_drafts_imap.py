"""Drafts in the mail client against a real Dovecot: the drafts channel APPENDs the
follow-up's draft into Drafts, threaded on the conversation; the clean-up removes it
when it is no longer wanted, and never a draft the user edited or moved; a server
that cannot take drafts is a needs-fix result and one notice."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from followup import config, content, passwords
from followup.app import App
from followup.app.drafts import DraftsLedger
from followup.channels.base import DeliveryResult
from followup.channels.drafts import DraftsChannel
from followup.models import Interview
from followup.sources.mailbox.tidy import DraftsTidy
from support.imap import PASSWORD, USER, Dovecot, mailbox_section, message

NOW = datetime.now(UTC)
FIRST = "Thank you \N{EN DASH} Engineer interview"  # follow-up 1's subject
DAY = timedelta(days=1)


@pytest.fixture
def apps(tmp_path, imap: Dovecot):
    """Make Apps on one configuration with drafts = true (and `extra` keys)."""
    made: list[App] = []

    def make(extra: str = "") -> App:
        passwords.set_password(USER, PASSWORD, "mailbox")
        path = tmp_path / "followup.toml"
        section = mailbox_section(imap.port).replace("[me]\n", '[me]\nname = "Jo Example"\n')
        path.write_text(f'timezone = "Europe/Berlin"\n[database]\n'
                        f'url = "sqlite:///{tmp_path}/f.db"\n{section}drafts = true\n{extra}')
        made.append(App(config.load(str(path))))
        return made[-1]

    yield make
    for app in made:
        app.store.close()


@pytest.fixture
def app(apps) -> App:
    return apps()


def add(app: App, company: str = "Acme", email: str = "dana@acme.example") -> int:
    made = app.store.add_interview(Interview(0, company, "Engineer", NOW - 10 * DAY,
                                             interviewer="Dana Smith", email=email,
                                             topics="the billing service"), NOW)
    return made.id


def nudge(app: App, interview_id: int, number: int = 1, key: str | None = None):
    record = app.store.get(interview_id)
    reminder = content.reminder(record.interview, number, 2, NOW, ZoneInfo("Europe/Berlin"),
                                sent=record.followups_sent, signature="Jo Example")
    notice = content.notice([reminder])
    return replace(notice, key=key or f"{notice.key}.{datetime.now(UTC):%H%M%S%f}")


def channel(app: App, told: list | None = None) -> DraftsChannel:
    async def tell(title: str, body: str) -> None:
        if told is not None:
            told.append((title, body))

    return DraftsChannel(app.settings, DraftsLedger(app), tell)


def deliver(app: App, notice, through: DraftsChannel | None = None):
    return asyncio.run((through or channel(app)).deliver(notice))


def drafts(imap: Dovecot, folder: str = "Drafts") -> list[tuple[object, tuple[bytes, ...]]]:
    with imap.client() as client:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        found = client.fetch(uids, [b"BODY.PEEK[]", b"FLAGS"]) if uids else {}
    return [(message_from_bytes(found[u][b"BODY[]"], policy=default), found[u][b"FLAGS"])
            for u in sorted(found)]


def tidy(app: App) -> None:
    DraftsTidy(app.settings).tidy(DraftsLedger(app))


def test_the_draft_lands_in_drafts_with_its_headers_flag_and_signature(app, imap):
    acme = add(app)
    assert deliver(app, nudge(app, acme)).ok
    [(draft, flags)] = drafts(imap)
    assert b"\\Draft" in flags
    assert draft["From"] == f"Jo Example <{USER}>"
    assert draft["To"] == "dana@acme.example"
    assert draft["Subject"] == FIRST
    assert draft["In-Reply-To"] is None  # no conversation known yet
    body = draft.get_content()
    assert "Dear Dana Smith," in body and "the billing service" in body
    assert body.rstrip().endswith("Jo Example")
    assert [d.interview_id for d in DraftsLedger(app).stored()] == [acme]


def test_the_draft_answers_the_users_last_followup_found_in_sent(app, imap):
    acme = add(app)
    imap.append("Sent", message(USER, "dana@acme.example", FIRST, NOW - 3 * DAY,
                                message_id="<fu1@example.org>"), seen=True)
    app.mailbox_scan()
    assert deliver(app, nudge(app, acme, 2)).ok
    [(draft, _)] = drafts(imap)
    assert draft["Subject"] == f"Re: {FIRST}"
    assert draft["In-Reply-To"] == "<fu1@example.org>"
    assert draft["References"] == "<fu1@example.org>"
    assert "following up" in draft.get_content()  # follow-up 2's text


def test_the_employers_last_message_comes_before_the_users_followup(app, imap):
    acme = add(app)
    imap.append("Sent", message(USER, "dana@acme.example", "Thank you", NOW - 3 * DAY,
                                message_id="<fu1@example.org>"), seen=True)
    imap.append("INBOX", message("Dana <dana@acme.example>", USER, "Re: Thank you",
                                 NOW - 2 * DAY, message_id="<dana1@acme.example>"))
    app.mailbox_scan()
    app.reopen(acme)  # the user read the reply as "not yet": nudges go on
    assert deliver(app, nudge(app, acme, 2)).ok
    [(draft, _)] = drafts(imap)
    assert (draft["Subject"], draft["In-Reply-To"]) == ("Re: Thank you", "<dana1@acme.example>")


def test_a_retry_of_the_same_nudge_writes_no_second_draft(app, imap):
    acme = add(app)
    notice = nudge(app, acme, key="nudge-1-1.fixed")
    assert deliver(app, notice).ok and deliver(app, notice).ok
    assert len(drafts(imap)) == 1 and len(DraftsLedger(app).stored()) == 1


def test_the_draft_goes_when_the_employer_replies(app, imap):
    acme, beta = add(app), add(app, "Beta", "kim@beta.example")
    assert deliver(app, nudge(app, acme)).ok and deliver(app, nudge(app, beta)).ok
    imap.append("INBOX", message("dana@acme.example", USER, "Re: Thank you", NOW))
    app.mailbox_scan()
    tidy(app)
    assert [d["To"] for d, _ in drafts(imap)] == ["kim@beta.example"]  # Beta's stays
    assert [d.interview_id for d in DraftsLedger(app).stored()] == [beta]


@pytest.mark.parametrize("change", ["sent", "close", "rm"])
def test_the_draft_goes_when_the_followup_is_sent_or_the_interview_closed(app, imap, change):
    acme = add(app)
    assert deliver(app, nudge(app, acme)).ok
    {"sent": lambda: app.sent(acme), "close": lambda: app.close(acme),
     "rm": lambda: app.remove(acme)}[change]()
    tidy(app)
    assert drafts(imap) == [] and DraftsLedger(app).stored() == []


def test_a_newer_draft_replaces_the_older(app, imap):
    acme = add(app)
    assert deliver(app, nudge(app, acme, 1)).ok
    assert deliver(app, nudge(app, acme, 2)).ok  # follow-up 1 was never recorded
    [(draft, _)] = drafts(imap)
    assert draft["Subject"] == FIRST  # still follow-up 1's text
    assert len(DraftsLedger(app).stored()) == 1


def test_a_draft_the_user_edited_is_kept(app, imap):
    acme = add(app)
    assert deliver(app, nudge(app, acme)).ok
    [(draft, _)] = drafts(imap)
    # A mail client saves an edit as a new message and removes the old one.
    edited = draft.as_bytes().replace(b"Thank you for taking", b"Many thanks for taking")
    with imap.client() as client:
        client.select_folder("Drafts")
        client.append("Drafts", edited, flags=[b"\\Draft"])
        old = min(client.search("ALL"))
        client.delete_messages([old])
        client.expunge()
    imap.append("INBOX", message("dana@acme.example", USER, "Re: Thank you", NOW))
    app.mailbox_scan()
    tidy(app)
    [(kept, _)] = drafts(imap)
    assert "Many thanks for taking" in kept.get_content()
    assert DraftsLedger(app).stored() == []  # forgotten: never looked at again


def test_a_draft_the_user_moved_is_kept(app, imap):
    acme = add(app)
    assert deliver(app, nudge(app, acme)).ok
    with imap.client() as client:
        if "Later" not in [name for _, _, name in client.list_folders()]:
            client.create_folder("Later")
        client.select_folder("Later")
        client.delete_messages(client.search("ALL"))
        client.expunge()
        client.select_folder("Drafts")
        client.move(client.search("ALL"), "Later")
    app.close(acme)
    tidy(app)
    assert len(drafts(imap, "Later")) == 1


def test_no_drafts_folder_is_needs_fix_and_one_notice(apps, imap):
    app = apps('drafts_folder = "Nowhere"\n')
    acme, told = add(app), []
    once = channel(app, told)
    results = [deliver(app, nudge(app, acme), once) for _ in range(2)]
    assert [r.outcome for r in results] == [DeliveryResult.NEEDS_FIX] * 2
    assert "Nowhere" in results[0].reason
    assert len(told) == 1
    assert "Nowhere" in told[0][1] and "other channels" in told[0][1]


def test_a_read_only_drafts_folder_is_needs_fix_and_one_notice(apps, imap):
    with imap.client() as client:
        if "Locked" not in [name for _, _, name in client.list_folders()]:
            client.create_folder("Locked")
    [folder] = list(Path(imap.root, "home").rglob(".Locked"))
    parts = [folder / part for part in ("cur", "new", "tmp")] + [folder]
    for part in parts:
        part.chmod(0o555)
    try:
        app = apps('drafts_folder = "Locked"\n')
        acme, told = add(app), []
        once = channel(app, told)
        results = [deliver(app, nudge(app, acme), once) for _ in range(2)]
    finally:
        for part in parts:
            part.chmod(0o755)
    assert [r.outcome for r in results] == [DeliveryResult.NEEDS_FIX] * 2
    assert len(told) == 1
    assert "the folder 'Locked' is read-only for this login" in told[0][1]
    assert drafts(imap, "Locked") == []
