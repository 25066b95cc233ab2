"""What a new user hit, round two (issue 22). Each test names its item."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from followup.models import DeliveryStatus
from support.cli import dump, run, write_config

NOW = "2026-11-23T10:00:00+01:00"  # a Monday morning in Berlin


@pytest.fixture
def cfg(tmp_path):
    return write_config(tmp_path / "followup.toml", tmp_path / "f.db")


@pytest.fixture
def fu(capsys, cfg):
    def call(*args: str):
        return run(capsys, "--config", str(cfg), *args)
    return call


@pytest.fixture
def store(tmp_path):
    from followup.store import Store

    return Store.open(f"sqlite:///{tmp_path / 'f.db'}")


def add(fu, *extra: str, at: str = "2026-11-20T15:00", company: str = "Acme"):
    result = fu("add", "--company", company, "--role", "Engineer", "--at", at, "--json", *extra)
    assert result.code == 0, result.err
    return result.json()


def fire(store, status: DeliveryStatus, at: datetime, channels=("desktop",)) -> None:
    """Nudge 1 of interview 1 fired at `at`; each channel's delivery ends in `status`."""
    store.claim_nudge(1, 1, at, list(channels), at, "me", lambda record: True)
    for channel in channels:
        store.record_delivery(1, 1, channel, status, at, None if status is
                              DeliveryStatus.DELIVERED else "no session bus")


# --- item 1: what the user recorded decides follow-up 2's window ----------------------------


@freeze_time(NOW)
def test_item_1_follow_up_2_counts_from_the_recorded_sent_time_not_the_nudge(fu, store):
    add(fu, at="2026-11-02T10:00")
    fire(store, DeliveryStatus.DELIVERED, datetime(2026, 11, 23, 8, 59, tzinfo=UTC))
    assert fu("sent", "1", "--at", "2026-11-06T10:00").code == 0
    # 7 business days after Fri 6 Nov 10:00 is Tue 17 Nov: overdue, so due now.
    doc = fu("show", "1", "--json").json()
    assert (doc["next_nudge_number"], doc["next_nudge_at"]) == (2, "2026-11-23T10:00:00+01:00")


@freeze_time(NOW)
def test_item_1_a_nudge_that_reached_no_channel_opens_no_window_and_show_says_why(fu, store):
    add(fu, at="2026-11-02T10:00")
    fire(store, DeliveryStatus.GAVE_UP, datetime(2026, 11, 5, 9, 0, tzinfo=UTC))
    doc = fu("show", "1", "--json").json()
    assert doc["next_nudge_at"] is None
    assert doc["next_nudge_note"] == (
        "nudge 1 reached no channel (every delivery failed), so no window opened for "
        "follow-up 2: it waits until you record follow-up 1 (`followup sent 1`)")
    assert "nudge 1 reached no channel" in fu("show", "1").out


# --- item 3: one set of checks for add and edit --------------------------------------------


@freeze_time(NOW)
def test_item_3_a_reply_by_date_more_than_a_year_ahead_is_refused_by_add_and_edit(fu, tmp_path):
    refused = fu("add", "--company", "Acme", "--role", "Dev", "--at", "2026-11-20T10:00",
                 "--reply-by", "2027-12-10")
    assert refused.code == 1
    assert refused.err == ("error: reply-by date 2027-12-10 is more than a year ahead: check "
                           "the year (did you mean 2026-12-10?)\n")
    add(fu)
    before = dump(tmp_path / "f.db")
    assert fu("edit", "1", "--reply-by", "2027-12-10").code == 1
    assert dump(tmp_path / "f.db") == before


@freeze_time("2026-11-01T10:00:00+01:00")
def test_item_3_edit_refuses_an_interview_time_that_add_refuses(fu, tmp_path):
    assert fu("add", "--company", "Acme", "--role", "Dev", "--at", "2027-11-20T10:00").code == 1
    add(fu, at="2026-10-28T10:00")
    refused = fu("edit", "1", "--at", "2027-11-20T10:00")
    assert refused.code == 1 and "more than a year ahead" in refused.err


@freeze_time(NOW)
def test_item_3_edit_refuses_to_move_the_interview_after_a_recorded_follow_up(fu, tmp_path):
    add(fu, at="2026-11-16T10:00")
    assert fu("sent", "1", "--at", "2026-11-20T10:00").code == 0
    before = dump(tmp_path / "f.db")
    refused = fu("edit", "1", "--at", "2026-11-21T10:00")
    assert refused.code == 1
    assert refused.err == ("error: the interview cannot be after follow-up 1, recorded as sent "
                           "2026-11-20 10:00: give an earlier time, or take the follow-up back "
                           "with `followup sent ID --undo`\n")
    assert dump(tmp_path / "f.db") == before
    assert fu("edit", "1", "--at", "2026-11-19T10:00").code == 0


# --- item 5: times the clocks skip or show twice ----------------------------------------------


@freeze_time("2026-03-20T10:00:00+01:00")
def test_item_5_a_time_in_the_spring_gap_is_refused_with_what_was_meant(fu, tmp_path):
    refused = fu("add", "--company", "Acme", "--role", "Dev", "--at", "2026-03-29T02:30")
    assert refused.code == 1
    assert refused.err == ("error: interview time '2026-03-29T02:30' does not exist in "
                           "Europe/Berlin: the clocks skip that hour (did you mean "
                           "2026-03-29T03:30?)\n")
    assert fu("list", "--json").json() == []


@freeze_time("2026-10-20T10:00:00+02:00")
def test_item_5_a_time_shown_twice_says_which_was_taken(fu):
    added = fu("add", "--company", "Acme", "--role", "Dev", "--at", "2026-10-25T02:30", "--json")
    assert added.json()["interview_at"] == "2026-10-25T02:30:00+02:00"
    assert added.err == ("note: 2026-10-25T02:30 happens twice in Europe/Berlin (the clocks go "
                         "back): took the first, 2026-10-25T02:30+02:00; for the second write "
                         "2026-10-25T02:30+01:00\n")
    plain = fu("add", "--company", "Acme", "--role", "Dev", "--at", "2026-10-25T12:30")
    assert "happens twice" not in plain.err


# --- item 4: "in N units" with the clock running between the snooze and its print -----------


@pytest.mark.parametrize(("duration", "said"), [
    ("1m", "(in 1 minute)"), ("2d", "(in 2 days)"), ("2w", "(in 2 weeks)")])
def test_item_4_a_snooze_says_the_duration_given(fu, duration, said):
    with freeze_time(NOW, tick=True):
        add(fu, at="2026-11-20T10:00")
        shown = fu("snooze", "1", duration).out
    assert next(line for line in shown.splitlines() if "snoozed:" in line).endswith(said)


# --- item 2: a repeated single-valued option is a usage error -------------------------------


@freeze_time(NOW)
@pytest.mark.parametrize("command", [
    ("add", "--company", "Acme", "--role", "Dev", "--at", "2026-11-20T10:00"),
    ("edit", "1"),
])
def test_item_2_interviewer_given_twice_is_a_usage_error(fu, tmp_path, command):
    add(fu)
    before = dump(tmp_path / "f.db")
    refused = fu(*command, "--interviewer", "Ana", "--interviewer", "Bo")
    assert refused.code == 2
    assert "--interviewer" in refused.err and "given 2 times" in refused.err
    assert dump(tmp_path / "f.db") == before


# --- item 10: a missing option is a usage error; --json everywhere data is printed --------


@freeze_time(NOW)
def test_item_10_a_missing_required_option_is_a_usage_error_naming_it(fu):
    refused = fu("add", "--role", "Dev", "--at", "2026-11-20T10:00")
    assert refused.code == 2
    assert "missing --company: add needs --company, --role and --at" in refused.err
    assert "missing --role, --at:" in fu("add", "--company", "Acme").err


@freeze_time(NOW)
def test_item_10_config_path_check_export_and_notify_test_take_json(fu, cfg):
    assert fu("config", "path", "--json").json() == {"path": str(cfg), "exists": True}
    checked = fu("config", "check", "--json").json()
    assert (checked["ok"], checked["path"], checked["timezone"]) == (
        True, str(cfg), "Europe/Berlin")
    add(fu, at="2026-11-20T10:00")
    exported = fu("export", "--json").json()
    assert exported["calendar"].startswith("BEGIN:VCALENDAR")
    tested = fu("notify-test", "--json", "--channel", "desktop")
    assert tested.code in (0, 1) and set(tested.json()) == {"results"}


# --- item 9: the words of snooze and of dates ---------------------------------------------------


@freeze_time(NOW)
def test_item_9_snooze_without_a_duration_says_what_to_give(fu):
    add(fu)
    refused = fu("snooze", "1")
    assert refused.code == 2
    assert "give a DURATION (like 2d) or a DATE (like 2026-12-14), or --clear" in refused.err
    assert "not both" not in refused.err
    assert "not both" in fu("snooze", "1", "2d", "--clear").err


@freeze_time(NOW)
@pytest.mark.parametrize(("args", "message"), [
    (("add", "--company", "A", "--role", "D", "--at", "yesterday"),
     "error: interview time 'yesterday' is not an ISO 8601 date or time (like "
     "2026-11-23T14:30)\n"),
    (("add", "--company", "A", "--role", "D", "--at", "2026-11-31T10:00"),
     "error: interview time '2026-11-31T10:00' has no day 31: November 2026 has 30 days\n"),
    (("sent", "1", "--at", "2026-02-29T10:00"),
     "error: sent time '2026-02-29T10:00' has no day 29: February 2026 has 28 days\n"),
])
def test_item_9_a_date_hint_that_works_and_a_day_past_the_month(fu, args, message):
    add(fu)
    assert fu(*args).err == message


# --- item 16: snooze until a date, "2 days", "1.5d"; a negative snooze -------------------------


@freeze_time(NOW)
@pytest.mark.parametrize(("given", "until"), [
    ("2026-12-14", "2026-12-14T00:00:00+01:00"),
    ("2026-12-14T10:00", "2026-12-14T10:00:00+01:00"),
    ("2 days", "2026-11-25T10:00:00+01:00"),
    ("1.5d", "2026-11-24T22:00:00+01:00"),
])
def test_item_16_snooze_takes_a_date_or_a_duration_in_words(fu, given, until):
    add(fu)
    assert fu("snooze", "1", given, "--json").json()["snoozed_until"] == until


@freeze_time(NOW)
@pytest.mark.parametrize(("given", "message"), [
    ("-1d", "error: duration '-1d' is negative: a snooze only pushes a nudge later (to end a "
            "snooze, use --clear)\n"),
    ("2026-11-20", "error: snooze date '2026-11-20' has passed: give a later one\n"),
])
def test_item_16_a_negative_or_past_snooze_is_one_clear_line(fu, tmp_path, given, message):
    add(fu)
    before = dump(tmp_path / "f.db")
    refused = fu("snooze", "1", given)
    assert (refused.code, refused.err) == (1, message)
    assert dump(tmp_path / "f.db") == before


# --- item 15: a company where an ID is expected; shell completion -------------------------------


@freeze_time(NOW)
def test_item_15_a_company_name_stands_for_its_one_waiting_interview(fu):
    add(fu, company="Acme")
    add(fu, company="Globex")
    assert fu("show", "acme", "--json").json()["id"] == 1
    assert fu("heard", "GLOBEX", "--json").json()["status"] == "heard"


@freeze_time(NOW)
def test_item_15_a_company_with_several_waiting_interviews_is_exit_1_naming_them(fu, tmp_path):
    add(fu, company="Acme")
    add(fu, company="acme")
    before = dump(tmp_path / "f.db")
    refused = fu("close", "Acme")
    assert refused.code == 1
    assert refused.err == ("error: 2 waiting interviews are with 'Acme': #1 Acme — Engineer, "
                           "#2 acme — Engineer; give the ID\n")
    assert dump(tmp_path / "f.db") == before


def complete(cfg, words: str) -> list[str]:
    """What the shell (zsh: value and help) is offered for the last word of `words`."""
    import os

    from support.cli import spawn

    env = os.environ | {"_FOLLOWUP_COMPLETE": "zsh_complete",
                        "COMP_WORDS": f"followup --config {cfg} {words}",
                        "COMP_CWORD": str(len(words.split(" ")) + 2)}
    return spawn(env=env).out.splitlines()


@freeze_time(NOW)
def test_item_15_the_shell_completes_ids_with_the_company_and_outcomes(fu, cfg):
    add(fu, company="Acme")
    add(fu, company="Globex")
    assert complete(cfg, "show ") == ["plain", "1", "Acme — Engineer",
                                      "plain", "2", "Globex — Engineer"]
    assert complete(cfg, "show Gl") == ["plain", "Globex", "company"]
    assert complete(cfg, "heard 1 --outcome o") == ["plain", "offer", "_", "plain", "other",
                                                    "_"]


# --- item 17: an import is one transaction; Ctrl-C imports nothing -----------------------------


def many_events(count: int) -> str:
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:ev-{n}@example.com\r\nDTSTAMP:20261101T000000Z\r\n"
        f"DTSTART:202612{1 + n % 28:02d}T{9 + n % 8:02d}0000Z\r\nDURATION:PT1H\r\n"
        f"SUMMARY:Interview with Company{n}\r\nEND:VEVENT\r\n" for n in range(count))
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{events}END:VCALENDAR\r\n"


@freeze_time("2026-11-30T09:00:00+00:00")
def test_item_17_an_import_that_fails_half_way_leaves_nothing_behind(fu, tmp_path):
    import sqlite3

    add(fu, at="2026-11-20T10:00")  # creates the database
    with sqlite3.connect(tmp_path / "f.db") as conn:  # the database refuses the 195th
        conn.execute("CREATE TRIGGER full BEFORE INSERT ON interviews "
                     "WHEN (SELECT count(*) FROM interviews) >= 195 "
                     "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    (tmp_path / "many.ics").write_text(many_events(1000))
    before = dump(tmp_path / "f.db")
    failed = fu("import", str(tmp_path / "many.ics"))
    assert failed.code == 1 and "Traceback" not in failed.err
    assert dump(tmp_path / "f.db") == before


def test_item_17_ctrl_c_during_an_import_says_nothing_was_imported(tmp_path, cfg):
    import signal
    import subprocess
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    asked, release = threading.Event(), threading.Event()

    class Stalling(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.set()
            release.wait(60)  # a slow feed: the user presses Ctrl-C meanwhile

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stalling)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        command = subprocess.Popen(
            [sys.executable, "-m", "followup", "--config", str(cfg), "import",
             f"http://127.0.0.1:{server.server_port}/cal.ics"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert asked.wait(60), "the import never asked for the feed"
        command.send_signal(signal.SIGINT)
        _, err = command.communicate(timeout=60)
    finally:
        release.set()
        server.shutdown()
    assert (command.returncode, err) == (130, "interrupted: nothing imported\n")


# --- item 11: tables stay in line with wide characters --------------------------------------------


@freeze_time(NOW)
@pytest.mark.parametrize("command", [("list",), ("due",)])
def test_item_11_wide_characters_keep_the_columns_in_line(fu, command):
    from wcwidth import wcswidth

    add(fu, company="北京科技", at="2026-11-20T10:00")
    add(fu, company="Acme", at="2026-11-20T11:00")
    lines = fu(*command).out.splitlines()
    header = lines[0]
    column = header.index("ROLE")  # every line's role starts in the same terminal column
    for line in lines[1:3]:
        before_role = line[:line.index("Engineer")]
        assert wcswidth(before_role) == column, line


@freeze_time(NOW)
@pytest.mark.parametrize("command", [("list",), ("due",)])
def test_item_11_a_long_name_is_cut_at_40_columns_and_the_rest_stays_in_line(fu, command):
    from wcwidth import wcswidth

    long = "Vereinigte Maschinenbau- und Elektrotechnik Werke Süd GmbH"  # 58 characters
    add(fu, company=long, at="2026-11-20T10:00")
    add(fu, company="東京" * 30, at="2026-11-20T11:00")  # 120 terminal columns
    add(fu, company="Acme", at="2026-11-20T12:00")
    lines = fu(*command).out.splitlines()
    column = lines[0].index("ROLE")
    assert [wcswidth(line[:line.index("Engineer")]) for line in lines[1:4]] == [column] * 3
    assert long[:39] + "…" in lines[1]
    assert wcswidth(lines[2][lines[2].index("東"):lines[2].index("…") + 1]) <= 40


# --- item 12: the configuration file is private ---------------------------------------------------


def test_item_12_config_init_writes_the_file_0600(capsys, tmp_path):
    path = tmp_path / "new" / "followup.toml"
    assert run(capsys, "--config", str(path), "config", "init").code == 0
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(("mode", "warned"), [(0o644, True), (0o640, True), (0o600, False)])
def test_item_12_config_check_warns_when_others_can_read_a_feed_address(capsys, tmp_path,
                                                                       mode, warned):
    path = tmp_path / "followup.toml"
    path.write_text('[calendar]\nfeeds = ["https://cal.example.com/private-abc123/basic.ics"]\n'
                    '[notify.desktop]\nenabled = false\n[notify.command]\nenabled = true\n'
                    'argv = ["true"]\n')
    path.chmod(mode)
    checked = run(capsys, "--config", str(path), "config", "check")
    assert checked.code == 0
    warning = (f"warning: {path} can be read by others (mode {mode:04o}) and holds [calendar] "
               f"feeds, whose addresses are secret: chmod 600 {path}")
    assert (warning in checked.err.splitlines()) is warned


# --- item 13: a headless machine is told the desktop channel cannot work --------------------------


def test_item_13_config_init_without_a_session_bus_writes_the_desktop_channel_off(capsys,
                                                                                  tmp_path):
    from followup import config

    path = tmp_path / "followup.toml"
    written = run(capsys, "--config", str(path), "config", "init")  # no bus in the tests
    assert written.code == 0
    assert "note: no desktop session bus here, so the desktop channel is written off" in (
        written.err)
    assert config.load(path).desktop.enabled is False


def test_item_13_the_daemon_says_at_start_which_enabled_channels_cannot_work_here(world):
    from support.daemon import wait_for

    w = world()
    w.config.write_text(w.config.read_text().replace("[notify.desktop]\nenabled = false",
                                                     "[notify.desktop]\nenabled = true"))
    daemon = w.start()  # no session bus in the tests
    daemon.wait_started()
    said = "[notify.desktop]: no desktop session bus here, so desktop notifications will fail"
    assert daemon.text().count(said) == 1
    channels = wait_for(lambda: json.loads(w.cli("service", "status", "--json").stdout)
                        ["sources"]["channels"], what="the channels' report")
    assert channels["state"] == "cannot all work here" and said in channels["detail"]
    assert "channels:     cannot all work here since" in w.cli("service", "status").stdout


# --- item 14: any follow-up's draft --------------------------------------------------------------


@freeze_time(NOW)
def test_item_14_draft_number_shows_a_follow_up_already_sent(fu):
    add(fu, at="2026-11-10T10:00")
    assert fu("sent", "1", "--at", "2026-11-13T10:00").code == 0
    assert fu("sent", "1", "--at", "2026-11-20T10:00").code == 0
    refused = fu("draft", "1")
    assert refused.code == 1 and "`--number K` shows follow-up K's draft again" in refused.err
    first, second = (fu("draft", "1", "--number", k, "--json").json() for k in ("1", "2"))
    assert (first["number"], second["number"]) == (1, 2)
    assert first["body"] != second["body"]
    assert fu("draft", "1", "--number", "3").err == (
        "error: --number 3 is not a follow-up of Acme: give 1 to 2\n")


# --- item 18: a public mail provider as the employer's domain ------------------------------------


@freeze_time(NOW)
@pytest.mark.parametrize("domain", ["gmail.com", "GMX.de", "yahoo.co.uk"])
def test_item_18_a_public_provider_domain_is_refused(fu, tmp_path, domain):
    add(fu)
    before = dump(tmp_path / "f.db")
    refused = fu("edit", "1", "--domain", "acme.example", "--domain", domain)
    assert refused.code == 1
    assert refused.err == (f"error: --domain {domain.lower()} is a public mail provider: anyone "
                           "can have an address there, so it never counts as the employer's "
                           "(give the interviewer's own address with --email instead)\n")
    assert dump(tmp_path / "f.db") == before


# --- item 19: heard via the mailbox in words; what to set for a calendar password -----------------


@freeze_time(NOW)
def test_item_19_show_names_the_reply_by_its_sender_and_subject(fu, store):
    from followup.models import HeardVia, Status

    add(fu)
    store.update_interview(1, {"status": Status.HEARD, "heard_via": HeardVia.MAILBOX,
                               "heard_message": "Pat Lee <pat@acme.example> | Next steps | "
                                                "<c4f2@mail.acme.example>"},
                           datetime(2026, 11, 23, 9, tzinfo=UTC))
    shown = fu("show", "1").out
    assert '  heard via:    mailbox: "Next steps" from Pat Lee <pat@acme.example>' in shown
    assert "c4f2@mail.acme.example" not in shown
    assert fu("show", "1", "--json").json()["heard_message"].endswith("<c4f2@mail.acme.example>")


def test_item_19_password_for_a_calendar_that_is_not_configured_says_what_to_set(fu, cfg):
    cleared = fu("password", "clear", "calendar")
    assert (cleared.code, cleared.err) == (1, (
        f"error: no calendar password to remove: [calendar] username is not set in {cfg} "
        "(a password is kept for a username)\n"))
    stored = fu("password", "set", "calendar")
    assert stored.code == 1
    assert stored.err == (f"error: no calendar login to keep a password for: set [calendar] "
                          f"username in {cfg} and the calendar that needs it ([calendar] "
                          "caldav, or feeds): none is configured\n")


# --- item 7: database URLs that cannot work are configuration errors ------------------------------


@pytest.mark.parametrize(("url", "problem"), [
    ("sqlite:///:memory:", "an in-memory SQLite database forgets every write when the command "
                           "ends: give a file (like \"sqlite:////path/to/file.db\")"),
    ("sqlite://", "an in-memory SQLite database forgets every write"),
    ("sqlite:///file:jobs?mode=memory&uri=true", "an in-memory SQLite database forgets"),
    ("mysql://me@db.example/jobs", "mysql databases are not supported: use SQLite "
                                   "(\"sqlite:////path/to/file.db\") or PostgreSQL "
                                   "(\"postgresql+psycopg://user@host/db\")"),
])
@pytest.mark.parametrize("command", [("config", "check"), ("list",)])
def test_item_7_a_database_that_cannot_keep_the_data_is_a_configuration_error(
        capsys, tmp_path, url, problem, command):
    path = tmp_path / "followup.toml"
    path.write_text(f'[database]\nurl = "{url}"\n')
    refused = run(capsys, "--config", str(path), *command)
    assert refused.code == 78
    assert refused.err.startswith(f"{path}: [database] url: {problem}")


# --- item 6: a PostgreSQL database that is not UTF8 --------------------------------------------


def test_item_6_a_sql_ascii_postgresql_database_is_refused_at_open(capsys, tmp_path,
                                                                  postgres_server, postgres_url):
    from support.postgres import ROLE, write_pgpass

    postgres_url()  # writes the test's ~/.pgpass
    postgres_server.admin(f"CREATE DATABASE ascii_jobs OWNER {ROLE} ENCODING 'SQL_ASCII' "
                          "LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    write_pgpass(tmp_path, postgres_server)
    path = tmp_path / "followup.toml"
    path.write_text(f'[database]\nurl = "{postgres_server.url("ascii_jobs")}"\n')
    refused = run(capsys, "--config", str(path), "list")
    assert (refused.code, refused.err) == (1, (
        "error: the database must be UTF8, and ascii_jobs is SQL_ASCII: create it with "
        "`createdb -E UTF8 -T template0 ascii_jobs` (an empty one)\n"))
