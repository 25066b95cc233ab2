"""The token command: run without a shell before each login, bounded in time, its
first line the token; a failure is one line that never shows what it printed."""

from __future__ import annotations

import sys
import time

import pytest

from followup import oauth2
from followup.oauth2 import TokenCommandFailed
from support.oauth2 import new_token


def test_the_first_line_printed_is_the_token_and_each_call_asks_again(token_helper):
    token_helper.give(new_token())
    first = oauth2.access_token(token_helper.argv)
    token_helper.give("ya29.second-token\nsecond line, ignored")
    assert oauth2.access_token(token_helper.argv) == "ya29.second-token"
    assert first != "ya29.second-token"
    assert token_helper.asked == 2  # never cached


def test_a_failing_command_names_itself_and_its_exit_status_never_the_token(token_helper):
    token = new_token()
    token_helper.give(token)
    argv = token_helper.failing(status=3)
    with pytest.raises(TokenCommandFailed) as caught:
        oauth2.access_token(argv)
    assert caught.value.message == (f"the token command `{argv[0]}` exited with status 3 "
                                    "(run it yourself to see why)")
    assert token not in caught.value.message
    assert caught.value.lasting


def test_a_hanging_command_is_stopped_at_the_timeout(token_helper):
    token = new_token()
    token_helper.give(token)
    argv = token_helper.hanging()
    started = time.monotonic()
    with pytest.raises(TokenCommandFailed) as caught:
        oauth2.access_token(argv, timeout=1.0)
    assert time.monotonic() - started < 10  # its child (a sleep) did not hold it up
    assert caught.value.message == (f"the token command `{argv[0]}` gave no token within 1 s "
                                    "and was stopped")
    assert token not in caught.value.message
    assert not caught.value.lasting


@pytest.mark.parametrize(("argv", "expected"), [
    (["no-such-token-helper", "show"],
     "the token command `no-such-token-helper show` was not found (a full path, or a "
     "program on $PATH)"),
    ([sys.executable, "-c", "pass"],
     f"the token command `{sys.executable} -c pass` printed no token on its first line"),
    ([sys.executable, "-c", "print('not a token')"],
     f"the token command `{sys.executable} -c 'print('\"'\"'not a token'\"'\"')'` printed "
     "something that is not a token on its first line"),
    ([sys.executable, "-c", "import sys; sys.exit(-9 % 256)"],
     f"the token command `{sys.executable} -c 'import sys; sys.exit(-9 % 256)'` exited with "
     "status 247 (run it yourself to see why)"),
    ([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"],
     f"the token command `{sys.executable} -c 'import os, signal; os.kill(os.getpid(), "
     "signal.SIGTERM)'` was killed by SIGTERM (run it yourself to see why)"),
])
def test_a_command_that_gives_no_token_is_one_line(argv, expected):
    with pytest.raises(TokenCommandFailed) as caught:
        oauth2.access_token(argv)
    assert caught.value.message == expected


def test_a_script_that_is_not_executable_is_named(tmp_path):
    script = tmp_path / "helper"
    script.write_text("#!/bin/sh\necho token\n")
    with pytest.raises(TokenCommandFailed) as caught:
        oauth2.access_token([str(script)])
    assert caught.value.message == f"the token command `{script}` is not executable"


def test_the_xoauth2_response_is_the_sasl_string():
    assert oauth2.xoauth2("jo@example.org", "ya29.abc") == \
        "user=jo@example.org\x01auth=Bearer ya29.abc\x01\x01"
