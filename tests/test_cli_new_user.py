"""What a new user hit (issue 9) and the command-line parts of issue 10: undo,
confirmation, the daemon that is not running, a changed zone, topics and
domains, snooze feedback, input checks. Each test names its item."""

from __future__ import annotations

import os
import pty
import socket
import subprocess
import sys

import pytest
from freezegun import freeze_time

from followup.daemon import wake
from support.cli import dump, run, spawn, write_config

NOW = "2026-11-23T10:00:00+01:00"  # a Monday morning in Berlin
NO_DAEMON = "note: no followup daemon is running for this database"


@pytest.fixture
def cfg(tmp_path):
    return write_config(tmp_path / "followup.toml", tmp_path / "f.db")


@pytest.fixture
def fu(capsys, cfg):
    def call(*args: str):
        return run(capsys, "--config", str(cfg), *args)
    return call


def add(fu, *extra: str, at: str = "2026-11-20T15:00", company: str = "Acme"):
    result = fu("add", "--company", company, "--role", "Engineer", "--at", at, "--json", *extra)
    assert result.code == 0, result.err
    return result.json()


# --- item 2: rm asks first on a terminal -------------------------------------------------


def on_a_terminal(cfg, *args: str, answer: str) -> subprocess.CompletedProcess[str]:
    """`followup ARGS` with a real terminal on stdin, typing `answer`."""
    main, terminal = pty.openpty()
    try:
        os.write(main, answer.encode())
        return subprocess.run([sys.executable, "-m", "followup", "--config", str(cfg), *args],
                              stdin=terminal, capture_output=True, text=True, timeout=60,
                              check=False)
    finally:
        os.close(main)
        os.close(terminal)


@freeze_time(NOW)
def test_rm_on_a_terminal_asks_and_no_keeps_everything(fu, cfg, tmp_path):
    add(fu)
    before = dump(tmp_path / "f.db")
    refused = on_a_terminal(cfg, "rm", "1", answer="n\n")
    assert refused.returncode == 1, refused.stderr
    assert "Delete interview 1 (Acme — Engineer)" in refused.stderr
    assert "interview 1 was not deleted" in refused.stderr
    assert dump(tmp_path / "f.db") == before
    agreed = on_a_terminal(cfg, "rm", "1", answer="y\n")
    assert agreed.returncode == 0 and "Deleted interview 1." in agreed.stdout


@freeze_time(NOW)
def test_rm_yes_skips_the_question_and_json_says_what_went(fu, cfg):
    add(fu)
    add(fu)
    assert on_a_terminal(cfg, "rm", "1", "--yes", answer="").returncode == 0
    assert fu("rm", "2", "--json").json() == {"id": 2, "deleted": True}  # not a terminal
    assert fu("list", "--all", "--json").json() == []


# --- item 3: undo ------------------------------------------------------------------------


@freeze_time(NOW)
@pytest.mark.parametrize("how", [["heard", "1", "--outcome", "offer"], ["close", "1"]])
def test_reopen_undoes_heard_and_close(fu, how):
    add(fu)
    assert fu(*how).code == 0
    doc = fu("reopen", "1", "--json").json()
    assert (doc["status"], doc["outcome"], doc["heard_via"]) == ("waiting", None, None)
    assert doc["next_nudge_at"] == "2026-11-25T15:00:00+01:00"
    again = fu("reopen", "1")
    assert again.code == 1 and "already waiting" in again.err


@freeze_time(NOW)
def test_heard_records_that_the_user_said_so(fu):
    add(fu)
    doc = fu("heard", "1", "--json").json()
    assert doc["heard_via"] == "manual"
    assert fu("show", "1", "--json").json()["heard_message"] is None


@freeze_time(NOW)
def test_sent_undo_takes_back_the_last_follow_up(fu):
    add(fu)
    fu("sent", "1", "--at", "2026-11-21T10:00")
    fu("sent", "1", "--at", "2026-11-23T09:00")
    doc = fu("sent", "1", "--undo", "--json").json()
    assert doc["followups_sent"] == 1
    assert [f["sent_at"] for f in fu("show", "1", "--json").json()["followups"]] == [
        "2026-11-21T10:00:00+01:00"]
    fu("sent", "1", "--undo")
    nothing = fu("sent", "1", "--undo")
    assert nothing.code == 1 and "nothing to take back" in nothing.err


@freeze_time(NOW)
def test_a_follow_up_beyond_max_followups_is_refused_unless_forced(fu, tmp_path):
    add(fu)
    fu("sent", "1")
    fu("sent", "1")
    before = dump(tmp_path / "f.db")
    refused = fu("sent", "1")
    assert refused.code == 1 and "--force" in refused.err and "pushy" in refused.err
    assert dump(tmp_path / "f.db") == before
    assert fu("sent", "1", "--force", "--json").json()["followups_sent"] == 3


# --- item 4: nothing will deliver --------------------------------------------------------


@freeze_time(NOW)
def test_without_a_daemon_the_human_outputs_say_so(fu):
    added = fu("add", "--company", "Acme", "--role", "Engineer", "--at", "2026-11-20T15:00")
    assert NO_DAEMON in added.err and "followup service install" in added.err
    for args in (["list"], ["show", "1"], ["due"]):
        found = fu(*args)
        assert found.code == 0 and found.err.count(NO_DAEMON) == 1, args
    for args in (["list", "--json"], ["show", "1", "--json"], ["due", "--json"]):
        assert fu(*args).err == "", args


@freeze_time(NOW)
def test_with_a_daemon_listening_nothing_is_said(fu, tmp_path):
    add(fu)
    path = wake.socket_path(f"sqlite:///{tmp_path / 'f.db'}")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))  # as the daemon does
        assert fu("list").err == ""
    path.unlink()
    assert NO_DAEMON in fu("list").err


# --- item 5: a changed time zone ---------------------------------------------------------


@freeze_time(NOW)
def test_a_changed_zone_is_said_once_with_the_interviews_typed_in_the_old_one(
        capsys, tmp_path):
    config = write_config(tmp_path / "c.toml", tmp_path / "z.db")
    run(capsys, "--config", str(config), "add", "--company", "Acme", "--role", "Dev",
        "--at", "2026-11-20T15:00")
    run(capsys, "--config", str(config), "add", "--company", "Beta", "--role", "Dev",
        "--at", "2026-11-20T15:00-05:00")
    write_config(config, tmp_path / "z.db", zone="America/New_York")
    first = run(capsys, "--config", str(config), "list", "--json")
    assert first.code == 0
    assert "timezone changed from Europe/Berlin to America/New_York" in first.err
    assert "#1 Acme: typed in Europe/Berlin, now 2026-11-20 09:00 America/New_York" in first.err
    assert "Beta" not in first.err  # typed with its offset: nothing to check
    assert "fix it: `followup edit ID --at TIME`" in first.err
    second = run(capsys, "--config", str(config), "list", "--json")
    assert "time zone" not in second.err


# --- item 8 and the contract: topics, domains, sources ------------------------------------


@freeze_time(NOW)
def test_topics_go_into_the_draft_and_notes_never(fu):
    add(fu, "--topics", "the event pipeline; on-call", "--topics", "Rust",
        "--notes", "seemed rushed", "--interviewer", "Dana Smith")
    doc = fu("show", "1", "--json").json()
    assert doc["topics"] == "the event pipeline; on-call; Rust"
    body = fu("draft", "1", "--json").json()["body"]
    assert "our conversation about the event pipeline, on-call and Rust." in body
    assert "rushed" not in body


@freeze_time(NOW)
def test_domains_are_checked_lower_cased_and_replaced_by_edit(fu):
    doc = add(fu, "--domain", "ACME.example", "--domain", "@jobs.acme.example")
    assert doc["domains"] == ["acme.example", "jobs.acme.example"]
    assert (doc["source"], doc["heard_via"]) == ("manual", None)
    assert fu("edit", "1", "--domain", "acme.io", "--json").json()["domains"] == ["acme.io"]
    assert fu("edit", "1", "--domain", "", "--json").json()["domains"] == []
    bad = fu("edit", "1", "--domain", "acme")
    assert bad.code == 1 and "is not a domain name" in bad.err


# --- item 9: signed drafts, opened in the mail client --------------------------------------


@freeze_time(NOW)
def test_the_draft_is_signed_with_me_name(capsys, tmp_path):
    config = write_config(tmp_path / "c.toml", tmp_path / "d.db", extra='[me]\nname = "Jo Doe"')
    run(capsys, "--config", str(config), "add", "--company", "Acme", "--role", "Dev",
        "--at", "2026-11-20T15:00", "--interviewer", "Dr. Jürgen Müller")
    body = run(capsys, "--config", str(config), "draft", "1", "--json").json()["body"]
    assert body.startswith("Dear Dr. Müller,\n") and body.endswith("Best regards,\nJo Doe\n")


@freeze_time(NOW)
def test_draft_open_hands_the_mailto_link_to_xdg_open(fu, tmp_path, monkeypatch):
    add(fu, "--email", "dana@acme.example")
    folder = tmp_path / "bin"
    folder.mkdir()
    seen = tmp_path / "opened"
    opener = folder / "xdg-open"
    opener.write_text(f"#!/bin/sh\nprintf '%s' \"$1\" > {seen}\n")
    opener.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")
    done = fu("draft", "1", "--open")
    assert done.code == 0 and "Opened the draft of follow-up 1" in done.out
    assert seen.read_text() == fu("draft", "1", "--json").json()["mailto"]
    opener.write_text("#!/bin/sh\nexit 3\n")
    failed = fu("draft", "1", "--open")
    assert failed.code == 1 and "exit status 3" in failed.err


# --- item 10: snooze feedback --------------------------------------------------------------


@freeze_time(NOW)
def test_a_snooze_ending_outside_working_hours_says_when_the_nudge_comes(fu):
    add(fu, at="2026-11-17T10:00")  # window open since Fri 20 Nov: due now
    late = fu("snooze", "1", "8h")  # Mon 18:00, after hours
    assert late.code == 0
    assert ("note: the snooze ends outside working hours (Mon 23 Nov 18:00): the nudge "
            "comes Tue 24 Nov 2026 09:00") in late.err
    inside = fu("snooze", "1", "2h")
    assert "note:" not in inside.err


@freeze_time(NOW)
def test_a_snooze_before_the_window_opens_says_it_changes_nothing(fu):
    add(fu)  # window opens Wed 25 Nov 15:00
    early = fu("snooze", "1", "1h")
    assert "not due before then anyway: the nudge comes Wed 25 Nov 2026 15:00" in early.err


@freeze_time(NOW)
@pytest.mark.parametrize("clear", [["0"], ["--clear"]])
def test_snooze_zero_or_clear_removes_the_snooze(fu, clear):
    add(fu, at="2026-11-17T10:00")
    fu("snooze", "1", "2d")
    doc = fu("snooze", "1", *clear, "--json").json()
    assert doc["snoozed_until"] is None
    assert doc["next_nudge_at"] == "2026-11-23T10:00:00+01:00"
    assert fu("snooze", "1", "2d", "--clear").code == 2


@freeze_time(NOW)
def test_show_prints_no_snooze_once_the_interview_is_not_waiting(fu):
    add(fu)
    fu("snooze", "1", "2d")
    assert "snoozed:" in fu("show", "1").out
    fu("close", "1")
    assert "snoozed:" not in fu("show", "1").out


# --- item 13: input that was probably meant otherwise --------------------------------------


@freeze_time(NOW)
@pytest.mark.parametrize(("at", "words"), [
    ("2026-11-20", "has no time of day: add it, like 2026-11-20T14:00"),
    ("2027-12-01T10:00", "more than a year ahead: check the year (did you mean "
                         "2026-12-01T10:00"),
])
def test_an_interview_time_that_was_probably_meant_otherwise_is_refused(fu, at, words):
    refused = fu("add", "--company", "A", "--role", "R", "--at", at)
    assert refused.code == 1 and words in refused.err


@freeze_time(NOW)
def test_a_reply_by_date_before_the_interview_is_refused(fu):
    refused = fu("add", "--company", "A", "--role", "R", "--at", "2026-11-20T10:00",
                 "--reply-by", "2026-11-19")
    assert refused.code == 1 and "is before the interview (2026-11-20)" in refused.err
    add(fu, "--reply-by", "2026-11-24")
    moved = fu("edit", "1", "--at", "2026-11-25T10:00")
    assert moved.code == 1 and "before the interview" in moved.err


def test_help_shows_the_real_default_configuration_path(tmp_path):
    env = os.environ | {"XDG_CONFIG_HOME": str(tmp_path / "elsewhere")}
    helped = spawn("--help", env=env)
    assert f"{tmp_path / 'elsewhere'}/followup/followup.toml" in "".join(helped.out.split())


# --- issue 10, item 18: the stale note's date is local -----------------------------------


@freeze_time("2026-12-30T12:00:00+13:00")
def test_the_stale_note_gives_the_local_opening_date(capsys, tmp_path):
    config = write_config(tmp_path / "c.toml", tmp_path / "s.db", zone="Pacific/Auckland")
    # Window opens Thu 5 Nov 10:00 in Auckland, which is Wed 4 Nov in UTC.
    run(capsys, "--config", str(config), "add", "--company", "Old", "--role", "Dev",
        "--at", "2026-11-02T10:00")
    note = run(capsys, "--config", str(config), "show", "1", "--json").json()["next_nudge_note"]
    assert "its window opened 2026-11-05," in note


# --- item 12: plain words, and a failing command's stderr in `show` --------------------------


@freeze_time(NOW)
def test_show_says_in_plain_words_what_a_failed_delivery_will_do(fu, tmp_path):
    from datetime import UTC, datetime

    from followup.models import DeliveryStatus
    from followup.store import Store

    add(fu, at="2026-11-17T10:00")
    store = Store.open(f"sqlite:///{tmp_path / 'f.db'}")
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    store.claim_nudge(1, 1, at, ["command", "email"], at, "me", lambda record: True)
    store.record_delivery(1, 1, "command", DeliveryStatus.RETRYING, at,
                          "the command 'notify-me' exited with status 2: "
                          "notify-me: no route to the phone",
                          datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    store.record_delivery(1, 1, "email", DeliveryStatus.GAVE_UP, at,
                          "after 5 attempts: the server refused the password")
    shown = fu("show", "1").out
    assert ("command failed (will retry Mon 23 Nov 2026 11:00") in shown
    assert ("the command 'notify-me' exited with status 2: notify-me: no route to the "
            "phone)") in shown
    assert "email gave up (after 5 attempts: the server refused the password)" in shown
    assert "transient" not in shown and "permanent" not in shown
    deliveries = fu("show", "1", "--json").json()["nudges"][0]["deliveries"]
    assert [(d["status"], d["state"]) for d in deliveries] == [
        ("failed", "retrying"), ("failed", "gave up")]


def test_shell_completion_as_the_readme_shows_it():
    env = os.environ | {"_FOLLOWUP_COMPLETE": "bash_source"}
    script = spawn(env=env)
    assert script.code == 0 and "_followup_completion()" in script.out
    env = os.environ | {"_FOLLOWUP_COMPLETE": "bash_complete", "COMP_WORDS": "followup reo",
                        "COMP_CWORD": "1"}
    assert spawn(env=env).out.split() == ["plain,reopen"]
