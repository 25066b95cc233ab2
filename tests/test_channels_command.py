"""The command channel: real programs (small Python scripts written by each test)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest

from followup.channels.base import DeliveryResult
from followup.channels.command import CommandChannel
from followup.config import CommandSettings
from support.notices import digest, reminder, single


def script(folder: Path, source: str) -> tuple[str, ...]:
    """argv running `source` with this interpreter."""
    path = folder / "notify.py"
    path.write_text(source, encoding="utf-8")
    return (sys.executable, str(path))


def deliver(argv, notice, timeout: float = 30.0):
    channel = CommandChannel(CommandSettings(enabled=True, argv=tuple(argv)), timeout=timeout)
    return asyncio.run(channel.deliver(notice))


def recorder(folder: Path) -> tuple[tuple[str, ...], Path]:
    """argv of a command appending each stdin it gets, as one line, to a file."""
    out = folder / "received"
    return script(folder, f"import sys\nwith open({str(out)!r}, 'a') as out:\n"
                          "    out.write(sys.stdin.read())\n"), out


def test_the_nudge_is_one_json_object_on_stdin(tmp_path):
    argv, out = recorder(tmp_path)
    assert deliver(argv, single(interview_id=7, company="Acme Widgets")).ok

    assert json.loads(out.read_text(encoding="utf-8")) == {
        "interview_id": 7,
        "company": "Acme Widgets",
        "role": "Backend engineer",
        "interviewer": "Dana Smith",
        "email": "dana@acme.example",
        "interview_at": "2030-03-04T14:30:00+00:00",
        "number": 1,
        "of": 2,
        "title": "Time to follow up with Acme Widgets",
        "body": "Follow-up 1 of 2 for Backend engineer at Acme Widgets is due.",
        "draft_subject": "Thank you: Backend engineer interview",
        "draft_body": "Dear Dana,\n\nthank you for the talk about the API team & its plans."
                      "\n\nBest",
    }


def test_a_digest_is_delivered_one_nudge_at_a_time(tmp_path):
    argv, out = recorder(tmp_path)
    notice = digest(reminder(7, "Acme Widgets"), reminder(8, "Globex", number=2))
    assert deliver(argv, notice).ok

    lines = out.read_text(encoding="utf-8").splitlines()
    assert [(n["interview_id"], n["company"], n["number"]) for n in map(json.loads, lines)] == [
        (7, "Acme Widgets", 1), (8, "Globex", 2)]


def test_a_command_that_ignores_stdin_is_fine(tmp_path):
    assert deliver(script(tmp_path, "pass\n"), single()).ok


def test_a_failing_command_is_transient_with_the_end_of_its_stderr(tmp_path):
    argv = script(tmp_path, "import sys\nsys.stderr.write('early ' + 'x' * 400 + "
                            "' notify-send: cannot open display\\n')\nsys.exit(3)\n")
    result = deliver(argv, single())

    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert result.reason.startswith(f"the command {sys.executable!r} exited with status 3: …")
    assert result.reason.endswith("x notify-send: cannot open display")
    assert "early" not in result.reason
    assert len(result.reason) < 300 + 100 + len(sys.executable)


@pytest.mark.parametrize("program, words", [
    ("/nonexistent/notify-me", "was not found"),
    ("notify-me-not-on-path", "was not found"),
])
def test_a_missing_program_is_permanent(program, words):
    result = deliver([program, "--flag"], single())

    assert result.outcome is DeliveryResult.NEEDS_FIX
    assert result.reason.startswith(f"the command {program!r} {words}")


def test_a_program_that_is_not_executable_is_permanent(tmp_path):
    program = tmp_path / "notify-me"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o644)
    result = deliver([str(program)], single())

    assert result.outcome is DeliveryResult.NEEDS_FIX
    assert result.reason.startswith(f"the command {str(program)!r} is not executable")


def test_a_command_that_hangs_is_stopped_with_its_children(tmp_path):
    pids = tmp_path / "pids"
    argv = script(tmp_path, (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "time.sleep(60)\n"))
    started = time.monotonic()
    result = deliver(argv, single(), timeout=2.0)

    assert time.monotonic() - started < 10
    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert result.reason == (f"the command {sys.executable!r} did not finish within 2 s "
                             "and was stopped")
    for pid in map(int, pids.read_text().split()):
        assert wait_until_gone(pid), f"process {pid} is still running"


def wait_until_gone(pid: int, timeout: float = 5.0) -> bool:
    """Whether the process ended (a zombie waiting for its reaper counts as ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.02)
    return False


def test_a_digest_has_one_deadline_for_the_whole_attempt(tmp_path):
    # Each run takes 0.8 s, within the 1.5 s timeout; three of them are not.
    out = tmp_path / "received"
    argv = script(tmp_path, "import sys, time\ntime.sleep(0.8)\n"
                            f"open({str(out)!r}, 'a').write(sys.stdin.read())\n")
    notice = digest(reminder(1, "Acme"), reminder(2, "Globex"), reminder(3, "Initech"))
    started = time.monotonic()
    result = deliver(argv, notice, timeout=1.5)

    assert time.monotonic() - started < 2.2
    assert result.outcome is DeliveryResult.TRY_AGAIN
    assert "did not finish within 1.5 s" in result.reason
    assert len(out.read_text().splitlines()) == 1


def test_a_cancelled_attempt_stops_the_command_and_its_children(tmp_path):
    # The dispatcher's own bound cancels a channel that outlasts it: the command must
    # not live on to deliver after the attempt was recorded failed.
    pids = tmp_path / "pids"
    argv = script(tmp_path, (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "time.sleep(60)\n"))
    channel = CommandChannel(CommandSettings(enabled=True, argv=argv), timeout=30)

    async def scenario() -> None:
        attempt = asyncio.create_task(channel.deliver(single()))
        deadline = time.monotonic() + 30
        while not (pids.exists() and len(pids.read_text().split()) == 2):
            assert time.monotonic() < deadline, "the command did not start"
            await asyncio.sleep(0.02)
        attempt.cancel()
        with pytest.raises(asyncio.CancelledError):
            await attempt

    asyncio.run(scenario())
    for pid in map(int, pids.read_text().split()):
        assert wait_until_gone(pid), f"process {pid} is still running"
