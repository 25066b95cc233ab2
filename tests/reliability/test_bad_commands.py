"""A corpus of malformed command lines: each exits 1 (or 2 for a mistake click itself
catches, counted apart), says what was wrong in one line on stderr, shows no
traceback, and leaves the database exactly as it was."""

from __future__ import annotations

from collections import Counter

import pytest

from support.cli import dump, run, spawn

pytestmark = pytest.mark.reliability

AT = "2026-11-20T10:00"
ADD = ["add", "--company", "Acme", "--role", "Engineer", "--at", AT]


def add_with(option: str, value: str) -> list[str]:
    """`add` with every required option, and one option set to `value`."""
    args = list(ADD)
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    return args


# Interview 1 is waiting, interview 2 heard back; nothing else exists.
WRONG_INPUT: list[list[str]] = [
    # add: empty, control characters, too long
    add_with("--company", ""),
    add_with("--company", "   "),
    add_with("--company", "Ac\x00me"),
    add_with("--company", "Ac\nme"),
    add_with("--company", "Acme\x1b[31m"),
    add_with("--company", "Ac\u2028me"),
    add_with("--company", "Ac\x7fme"),
    add_with("--company", "Ac\x85me"),
    add_with("--company", "x" * 1001),
    add_with("--company", "x" * 1_000_000),
    add_with("--role", "Eng\tineer"),
    add_with("--role", "Engineer\rX"),
    add_with("--interviewer", "y" * 1001),
    add_with("--interviewer", "Dana\x00Smith"),
    # add: times
    add_with("--at", "yesterday"),
    add_with("--at", "now"),
    add_with("--at", "2026-13-01"),
    add_with("--at", "2026-02-30T10:00"),
    add_with("--at", "2026-11-20T25:00"),
    add_with("--at", ""),
    add_with("--at", "1969-12-31"),
    add_with("--at", "2300-01-01"),
    add_with("--at", "2026-11-24T14:30+25:00"),
    add_with("--at", "99999-01-01"),
    add_with("--at", "2026-11-20 10:00:00 CET"),
    add_with("--at", "2026-11-20"),  # no time of day
    add_with("--at", "2099-11-20T10:00"),  # more than a year ahead
    add_with("--reply-by", "2026-11-19"),  # before the interview
    add_with("--domain", "not a domain"),
    add_with("--domain", "acme"),
    add_with("--topics", "a\x00b"),
    ["reopen", "1"],  # waiting already
    ["sent", "2", "--undo"],  # nothing to take back
    add_with("--at", "\x00"),
    add_with("--at", "9" * 5000),
    # add: email, notes, reply-by
    add_with("--email", "not-an-email"),
    add_with("--email", "a@b"),
    add_with("--email", "a b@example.com"),
    add_with("--email", "x" * 1000 + "@example.com"),
    add_with("--email", "ana@example.com\nBcc: eve@example.com"),
    add_with("--email", "<ana@example.com>"),
    add_with("--notes", "n" * 10_001),
    add_with("--notes", "a bell\x07"),
    add_with("--notes", "\x00"),
    add_with("--reply-by", "tomorrow"),
    add_with("--reply-by", "2026-02-30"),
    add_with("--reply-by", "2026/11/30"),
    add_with("--reply-by", "2026-11-30T10:00"),
    add_with("--reply-by", "30.11.2026"),
    # edit
    ["edit", "1"],
    ["edit", "9999", "--company", "Beta"],
    ["edit", "0", "--company", "Beta"],
    ["edit", "abc", "--company", "Beta"],
    ["edit", "1.5", "--company", "Beta"],
    ["edit", "99999999999999999999", "--company", "Beta"],
    ["edit", "1", "--company", ""],
    ["edit", "1", "--at", "garbage"],
    ["edit", "1", "--email", "bad"],
    ["edit", "1", "--company", "x" * 1001],
    ["edit", "1", "--role", "\x00"],
    ["edit", "1", "--reply-by", "2026-11-31"],
    # ids
    ["show", "0"],
    ["show", "abc"],
    ["show", "9999"],
    ["show", " 1"],
    ["show", "1 "],
    ["show", "0x1"],
    ["show", "1e3"],
    ["show", ""],
    ["show", "999999999999999999"],
    ["show", "\u00b9"],  # superscript one: str.isdigit() says yes, int() says no
    ["rm", "0"],
    ["rm", "9999"],
    ["rm", "abc"],
    # sent
    ["sent", "9999"],
    ["sent", "abc"],
    ["sent", "1", "--at", "garbage"],
    ["sent", "1", "--at", "2099-01-01"],
    ["sent", "1", "--at", "2000-01-01"],
    ["sent", "1", "--note", "x" * 1001],
    ["sent", "1", "--note", "a\nb"],
    # heard, close
    ["heard", "1", "--outcome", "bogus"],
    ["heard", "1", "--outcome", "OFFER"],
    ["heard", "9999"],
    ["heard", "0"],
    ["close", "9999"],
    ["close", "abc"],
    # snooze
    ["snooze", "1", ""],
    ["snooze", "1", "0m"],
    ["snooze", "1", "abc"],
    ["snooze", "1", "2x"],
    ["snooze", "1", "366d"],
    ["snooze", "1", "1y"],
    ["snooze", "1", "1d2"],
    ["snooze", "1", "1d\x00"],
    ["snooze", "1", "99999999999999999999d"],
    ["snooze", "9999", "1d"],
    ["snooze", "2", "1d"],
    # draft, notify-test, config init
    ["draft", "9999"],
    ["draft", "2"],
    ["draft", "abc"],
    ["notify-test", "--channel", "bogus"],
    ["notify-test", "--channel", "email"],
    ["config", "init"],
]

# Mistakes click itself catches: exit 2 with its usage text.
USAGE: list[list[str]] = [
    ["frobnicate"],
    # a required option left out names it (DESIGN: a usage error)
    ["add", "--company", "Acme", "--role", "Engineer"],
    ["add", "--role", "Engineer", "--at", AT],
    ["add", "--company", "Acme", "--at", AT],
    ["add", "--bogus", "x"],
    ["show"],
    ["show", "1", "2"],
    ["snooze", "1"],
    ["list", "extra"],
    ["due", "--days"],
    # --days is a count of days from 1 to 3650: anything else is a usage mistake.
    ["due", "--days", "-1"],
    ["due", "--days", "0"],
    ["due", "--days", "abc"],
    ["due", "--days", "3651"],
    ["due", "--days", "1e3"],
    ["due", "--days", ""],
    ["due", "--days", "99999999999999999999"],
    ["due", "--days", "\u00b2"],
    ["edit", "-1", "--company", "Beta"],
    ["heard", "1", "--outcome"],
]

# Each once ended in "unexpected error" instead of saying what was wrong: str.isdigit()
# takes superscript digits, and a huge duration overflowed timedelta.
ONCE_UNCLEAR = {("show", "\u00b9"), ("due", "--days", "\u00b2"),
                ("snooze", "1", "99999999999999999999d")}


@pytest.fixture
def fu(capsys, tmp_path):
    config = tmp_path / "followup.toml"
    config.write_text(f'timezone = "Europe/Berlin"\n[database]\n'
                      f'url = "sqlite:///{tmp_path}/f.db"\n')

    def call(*args: str):
        return run(capsys, "--config", str(config), *args)

    assert call(*ADD).code == 0
    assert call(*add_with("--company", "Heard Co")).code == 0
    assert call("heard", "2").code == 0
    call.database = tmp_path / "f.db"
    call.config = config
    return call


def short(args: list[str]) -> str:
    text = " ".join(args)
    return repr(text if len(text) < 60 else text[:57] + "...")


def test_malformed_command_lines_are_refused_cleanly(fu, report):
    before = dump(fu.database)
    problems, codes, unclear = [], Counter(), []
    for args in WRONG_INPUT + USAGE:
        outcome = fu(*args)
        codes[outcome.code] += 1
        lines = outcome.err.strip().splitlines()
        expected = 2 if args in USAGE else 1
        if outcome.code != expected:
            problems.append(f"{short(args)} exited {outcome.code}: {outcome.err.strip()}")
        if "Traceback" in outcome.err or (expected == 1 and len(lines) != 1):
            problems.append(f"{short(args)} printed {len(lines)} lines: {outcome.err!r:.300}")
        if lines and lines[0].startswith("unexpected error"):
            unclear.append(tuple(args))
        if dump(fu.database) != before:
            problems.append(f"{short(args)} changed the database")
            before = dump(fu.database)
    report(f"bad command lines: {len(WRONG_INPUT)} wrong input, {len(USAGE)} usage "
           f"mistakes; exit codes {dict(sorted(codes.items()))}; {len(unclear)} unclear "
           f"('unexpected error'), {len(problems)} problems")
    assert problems == []
    assert unclear == [], "an unexpected error instead of a clear one"
    assert len(WRONG_INPUT) >= 100


@pytest.mark.parametrize("args", sorted(ONCE_UNCLEAR))
def test_what_once_was_unclear_says_what_was_wrong(fu, args):
    outcome = fu(*args)
    assert not outcome.err.startswith("unexpected error"), outcome.err


SUBPROCESS = [ADD[:5], add_with("--at", "yesterday"), ["show", "abc"],
              ["snooze", "1", "2x"], ["frobnicate"]]


@pytest.mark.parametrize("args", SUBPROCESS, ids=lambda a: " ".join(a)[:30])
def test_a_real_process_exits_as_the_in_process_call_does(fu, args):
    before = dump(fu.database)
    inside = fu(*args)
    outside = spawn("--config", str(fu.config), *args)
    assert (outside.code, outside.err) == (inside.code, inside.err)
    assert "Traceback" not in outside.err and outside.out == ""
    assert dump(fu.database) == before
