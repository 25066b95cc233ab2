"""Drafts in the mail client, end to end: the real daemon (a subprocess) with
`drafts = true` against a real Dovecot leaves a threaded draft in Drafts within
seconds of a nudge and removes it when the employer's reply arrives; a Drafts
folder it cannot write is one notice, and the nudge still reaches the user."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default

import pytest

from followup import passwords
from support.daemon import wait_for
from support.imap import PASSWORD, USER, Dovecot, mailbox_section, message


@pytest.fixture
def stored_password():
    passwords.set_password(USER, PASSWORD, "mailbox")


def drafts_config(imap: Dovecot, extra: str = "") -> str:
    section = mailbox_section(imap.port).replace("[me]\n", '[me]\nname = "Jo Example"\n')
    return section + "drafts = true\n" + extra


def add(w, company: str, email: str) -> int:
    at = (datetime.now().astimezone() - timedelta(hours=1)).isoformat(timespec="seconds")
    done = w.cli("add", "--company", company, "--role", "Engineer", "--at", at,
                 "--email", email, "--interviewer", "Dana Smith", "--json")
    return json.loads(done.stdout)["id"]


def drafts_in(imap: Dovecot) -> list:
    with imap.client() as client:
        client.select_folder("Drafts", readonly=True)
        uids = client.search("ALL")
        found = client.fetch(uids, [b"BODY.PEEK[]", b"FLAGS"]) if uids else {}
    return [(message_from_bytes(found[u][b"BODY[]"], policy=default), found[u][b"FLAGS"])
            for u in sorted(found)]


def deliveries(w, interview_id: int) -> dict[str, str]:
    with sqlite3.connect(w.database) as conn:
        rows = conn.execute("SELECT d.channel, d.status FROM deliveries d JOIN nudges n "
                            "ON n.id = d.nudge_id WHERE n.interview_id = ?",
                            (interview_id,)).fetchall()
    return dict(rows)


def test_a_threaded_draft_within_seconds_of_the_nudge_gone_when_the_employer_replies(
        world, imap, stored_password):
    w = world(extra=drafts_config(imap), first_after_days=3)
    acme = add(w, "Acme", "dana@acme.example")
    # The conversation so far: the employer wrote after the interview; the user
    # read it as "not yet" (`reopen`), so the nudges go on.
    imap.append("INBOX", message("Dana <dana@acme.example>", USER, "Your interview",
                                 datetime.now().astimezone(), message_id="<d1@acme.example>"))
    w.cli("mailbox", "scan")
    w.cli("reopen", str(acme))
    w.cli("edit", str(acme), "--at", (datetime.now().astimezone() - timedelta(days=4))
          .isoformat(timespec="seconds"))  # nudge 1 is due now
    daemon = w.start()
    [(draft, flags)] = wait_for(lambda: drafts_in(imap), timeout=30, what="the draft")
    assert b"\\Draft" in flags
    assert draft["From"] == f"Jo Example <{USER}>" and draft["To"] == "dana@acme.example"
    assert draft["Subject"] == "Re: Your interview"
    assert draft["In-Reply-To"] == draft["References"] == "<d1@acme.example>"
    wait_for(lambda: w.delivered(), what="the command channel's nudge")
    assert "a draft is waiting in Drafts" in w.delivered()[0]["body"]
    wait_for(lambda: deliveries(w, acme).get("drafts") == "delivered", what="the record")

    imap.append("INBOX", message("Dana <dana@acme.example>", USER, "Re: Your interview",
                                 datetime.now().astimezone()))
    wait_for(lambda: drafts_in(imap) == [], timeout=30, what="the draft to be removed")
    # The log line follows the EXPUNGE: wait for it rather than race it.
    wait_for(lambda: "drafts: draft of follow-up 1 for interview" in daemon.text(),
             what="the removal in the log")
    assert daemon.stop() == 0


def test_a_drafts_folder_that_cannot_be_written_is_one_notice_and_the_nudge_goes_on(
        world, imap, stored_password):
    w = world(extra=drafts_config(imap, 'drafts_folder = "Nowhere"\n'))
    acme = add(w, "Acme", "dana@acme.example")
    beta = add(w, "Beta", "kim@beta.example")
    daemon = w.start()
    wait_for(lambda: len(w.delivered()) == 2, what="both nudges by the command channel")
    wait_for(lambda: deliveries(w, acme).get("drafts") == "retrying"
             and deliveries(w, beta).get("drafts") == "retrying", what="the drafts failures")
    assert daemon.text().count("notice: Drafts cannot be put into your mailbox") == 1
    assert "Nowhere" in daemon.text()
    assert daemon.stop() == 0


def test_recording_the_followup_removes_its_draft_when_the_daemon_is_poked(
        world, imap, stored_password):
    w = world(extra=drafts_config(imap))  # no mailbox watch: only the poke tells
    w.config.write_text(w.config.read_text().replace("enabled = true\nhost", "enabled = false"
                                                     "\nhost"))
    acme = add(w, "Acme", "dana@acme.example")
    daemon = w.start()
    [(draft, _)] = wait_for(lambda: drafts_in(imap), timeout=30, what="the draft")
    assert draft["In-Reply-To"] is None  # nothing of the conversation known
    w.cli("sent", str(acme))
    wait_for(lambda: drafts_in(imap) == [], timeout=30, what="the draft to be removed")
    assert "mailbox: watching" not in daemon.text()
    assert daemon.stop() == 0
