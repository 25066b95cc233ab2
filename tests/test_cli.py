"""The command line as DESIGN.md specifies it: commands, JSON, exit codes."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from support.cli import dump, run, spawn

NOW = "2026-11-23T10:00:00+01:00"  # a Monday morning in Berlin


@pytest.fixture
def cfg(tmp_path):
    """A configuration with a database in tmp and Berlin working hours."""
    path = tmp_path / "followup.toml"
    path.write_text(f'timezone = "Europe/Berlin"\n[database]\nurl = "sqlite:///{tmp_path}/f.db"\n')
    return path


@pytest.fixture
def fu(capsys, cfg):
    def call(*args: str):
        return run(capsys, "--config", str(cfg), *args)
    return call


def add(fu, **fields):
    args = ["add", "--json"]
    values = {"company": "Acme", "role": "Engineer", "at": "2026-11-20T15:00"} | fields
    for key, value in values.items():
        args += [f"--{key.replace('_', '-')}", value]
    result = fu(*args)
    assert result.code == 0, result.err
    return result.json()


@freeze_time(NOW)
def test_add_prints_the_interview_with_its_next_nudge(fu):
    doc = add(fu, interviewer="Dana Smith", email="dana@acme.example",
              notes="the event pipeline", reply_by="2026-11-24")
    assert doc["id"] == 1
    assert doc["interview_at"] == "2026-11-20T15:00:00+01:00"  # naive: the configured zone
    assert doc["reply_by"] == "2026-11-24"
    assert doc["status"] == "waiting"
    assert (doc["followups_sent"], doc["nudges_fired"]) == (0, 0)
    # Fri 15:00 + 3 business days = Wed 15:00, and not before Wed 25 (after reply-by).
    assert doc["next_nudge_at"] == "2026-11-25T15:00:00+01:00"
    assert doc["next_nudge_number"] == 1


@freeze_time(NOW)
def test_list_show_and_all(fu):
    add(fu)
    add(fu, company="Beta", at="2026-11-21T10:00:00-05:00")
    assert fu("heard", "2", "--outcome", "offer").code == 0
    waiting = fu("list", "--json").json()
    assert [i["company"] for i in waiting] == ["Acme"]
    everything = fu("list", "--all", "--json").json()
    assert [(i["company"], i["status"], i["outcome"]) for i in everything] == [
        ("Acme", "waiting", None), ("Beta", "heard", "offer")]
    assert everything[1]["next_nudge_at"] is None
    shown = fu("show", "1", "--json").json()
    assert shown["followups"] == [] and shown["nudges"] == []
    table = fu("list").out.splitlines()
    assert table[0].split() == ["ID", "COMPANY", "ROLE", "INTERVIEW", "STATUS", "SENT",
                                "NEXT", "NUDGE"]
    assert "Wed 25 Nov 2026 15:00 (in 2 days)" in table[1]


@freeze_time(NOW)
def test_sent_moves_the_next_window_and_two_end_it(fu):
    add(fu)
    doc = fu("sent", "1", "--at", "2026-11-23T09:30", "--note", "thanked Dana", "--json").json()
    assert doc["followups_sent"] == 1
    assert doc["next_nudge_number"] == 2
    assert doc["next_nudge_at"] == "2026-12-02T09:30:00+01:00"  # 7 business days later
    fu("sent", "1")
    doc = fu("show", "1", "--json").json()
    assert doc["next_nudge_at"] is None and doc["next_nudge_number"] is None
    assert [(f["number"], f["note"]) for f in doc["followups"]] == [(1, "thanked Dana"),
                                                                    (2, "")]


@freeze_time(NOW)
def test_heard_and_close_stop_nudging(fu):
    add(fu)
    add(fu)
    assert fu("close", "1", "--json").json()["status"] == "closed"
    assert fu("heard", "2", "--json").json()["next_nudge_at"] is None
    assert fu("due", "--json").json() == []


@freeze_time(NOW)
def test_snooze_pushes_the_nudge_back(fu):
    add(fu)
    doc = fu("snooze", "1", "3d", "--json").json()
    assert doc["snoozed_until"] == "2026-11-26T10:00:00+01:00"
    assert doc["next_nudge_at"] == "2026-11-26T10:00:00+01:00"


@freeze_time(NOW)
def test_edit_changes_only_what_is_given(fu):
    add(fu, interviewer="Dana")
    doc = fu("edit", "1", "--role", "Staff engineer", "--interviewer", "", "--json").json()
    assert (doc["company"], doc["role"], doc["interviewer"]) == ("Acme", "Staff engineer", "")
    assert fu("edit", "1", "--at", "2026-11-23T09:00", "--json").json()[
        "next_nudge_at"] == "2026-11-26T09:00:00+01:00"


@freeze_time(NOW)
def test_rm_deletes(fu):
    add(fu)
    assert fu("rm", "1").code == 0
    missing = fu("show", "1")
    assert missing.code == 1
    assert missing.err == "error: no interview with id 1 (see `followup list --all`)\n"


@freeze_time(NOW)
def test_due_lists_soonest_first_within_the_days(fu):
    add(fu, company="Later", at="2026-11-23T09:00")      # Thu 26 09:00
    add(fu, company="Sooner", at="2026-11-20T15:00")     # Wed 25 15:00
    add(fu, company="Far", at="2026-12-20T15:00")        # beyond 14 days
    due = fu("due", "--json").json()
    assert [(d["company"], d["number"], d["fire_at"]) for d in due] == [
        ("Sooner", 1, "2026-11-25T15:00:00+01:00"), ("Later", 1, "2026-11-26T09:00:00+01:00")]
    assert set(due[0]) == {"interview_id", "company", "role", "number", "opens_at", "fire_at"}
    assert len(fu("due", "--days", "60", "--json").json()) == 3


@freeze_time(NOW)
def test_a_stale_nudge_is_not_due_and_show_says_why(fu):
    add(fu, company="Old", at="2026-09-01T10:00")
    assert fu("due", "--json").json() == []
    assert "not nudged" in fu("due").out
    doc = fu("show", "1", "--json").json()
    assert doc["next_nudge_at"] is None
    assert "stale_after_days" in doc["next_nudge_note"]


@freeze_time(NOW)
def test_draft_prints_subject_and_body(fu):
    add(fu, interviewer="Dana Smith", email="dana@acme.example", topics="the event pipeline")
    out = fu("draft", "1").out
    assert out.startswith("To: dana@acme.example\nSubject: ")
    assert "Dear Dana Smith" in out and "event pipeline" in out
    doc = fu("draft", "1", "--json").json()
    assert doc["number"] == 1 and doc["mailto"].startswith("mailto:dana@acme.example?")
    fu("sent", "1")
    fu("sent", "1")
    refused = fu("draft", "1")
    assert refused.code == 1 and "more would be pushy" in refused.err


BAD_INPUT = [
    (["add", "--company", "Acme", "--role", "Dev", "--at", "yesterday"], "is not an ISO 8601"),
    (["add", "--company", "Acme", "--role", "Dev", "--at", "2026-13-01"], "is not an ISO 8601"),
    (["add", "--company", "", "--role", "Dev", "--at", "2026-11-01T10:00"], "company must not be"),
    (["add", "--company", "A" * 1001, "--role", "D", "--at", "2026-11-01T10:00"], "too long"),
    (["add", "--company", "A\nB", "--role", "D", "--at", "2026-11-01T10:00"], "single line"),
    (["add", "--company", "A\rB", "--role", "D", "--at", "2026-11-01T10:00"], "single line"),
    (["add", "--company", "A", "--role", "D", "--at", "2026-11-01T10:00", "--email", "nope"],
     "is not an email address"),
    (["add", "--company", "A", "--role", "D", "--at", "2026-11-01T10:00", "--notes", "n" * 10001],
     "notes are too long"),
    (["add", "--company", "A", "--role", "D", "--at", "2026-11-01T10:00", "--reply-by", "soon"],
     "is not a date"),
    (["show", "abc"], "no waiting interview with the company 'abc'"),
    (["show", "0"], "is not an interview id"),
    (["show", "99"], "no interview with id 99"),
    (["edit", "1"], "nothing to change"),
    (["edit", "1", "--role", "x" * 1001], "too long"),
    (["heard", "1", "--outcome", "maybe"], "is not one of next-round, offer, rejected, other"),
    (["snooze", "1", "soon"], "is not understood"),
    (["snooze", "1", "0d"], "must be more than zero"),
    (["snooze", "1", "400d"], "at most 365 days"),
    (["sent", "1", "--at", "2026-11-19T10:00"], "cannot be sent before the interview"),
    (["sent", "1", "--at", "2027-01-01"], "in the future"),
    (["sent", "1", "--note", "a\nb"], "single line"),
    (["rm", "7"], "no interview with id 7"),
]


@freeze_time(NOW)
@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_bad_input_is_one_line_exit_1_and_changes_nothing(fu, tmp_path, args, message):
    add(fu)
    before = dump(tmp_path / "f.db")
    result = fu(*args)
    assert result.code == 1
    assert result.err.startswith("error: ") and message in result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert result.out == ""
    assert dump(tmp_path / "f.db") == before


def test_usage_errors_exit_2(fu):
    assert fu("frobnicate").code == 2
    assert fu("add", "--colour", "red").code == 2
    assert fu("snooze", "1").code == 2
    for days in ("many", "0", "-1", "0003651"):  # 0003651 is 3651, not 365
        refused = fu("due", "--days", days)
        assert refused.code == 2 and "--days" in refused.err and "1 or more" in refused.err


def test_help_and_a_real_subprocess(cfg):
    helped = spawn("--help")
    assert helped.code == 0 and "follow up" in helped.out
    added = spawn("--config", str(cfg), "add", "--company", "Real", "--role", "Dev",
                  "--at", "2026-11-20T10:00", "--json")
    assert added.code == 0, added.err
    listed = spawn("--config", str(cfg), "list", "--json")
    assert [i["company"] for i in listed.json()] == ["Real"]
    broken = spawn("--config", str(cfg), "show", "x")
    assert broken.code == 1 and broken.err.startswith("error: ")


@pytest.mark.parametrize("command", ["list", "due"])
def test_list_and_due_leave_the_cycle_collector_as_they_found_it(fu, command):
    """They pause it while building their tables (cli.common.no_cycle_collection)."""
    import gc

    from followup.cli.common import no_cycle_collection

    add(fu)
    assert gc.isenabled()
    assert fu(command).code == 0
    assert gc.isenabled()
    gc.disable()
    try:
        assert fu(command).code == 0
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(KeyError), no_cycle_collection():
        assert not gc.isenabled()
        raise KeyError("a failure while building the table")
    assert gc.isenabled()
