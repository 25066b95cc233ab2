"""Building the enabled channels, and `notify-test` through them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from followup.channels import build, notify_test
from followup.channels.base import DeliveryResult
from followup.config import parse_text
from followup.content import mailto
from followup.errors import UserError
from followup.models import Draft

CONFIG = Path("/home/me/.config/followup/followup.toml")


def settings(text: str):
    return parse_text(text, CONFIG)


def test_build_makes_only_the_enabled_channels_in_order():
    everything = settings("""
        [notify.email]
        enabled = true
        to = "me@example.com"
        from = "followup@example.com"
        host = "smtp.example.com"
        [notify.command]
        enabled = true
        argv = ["notify-me"]
    """)
    assert [channel.name for channel in build(everything)] == ["desktop", "email", "command"]
    assert build(settings("[notify.desktop]\nenabled = false\n")) == []


def test_importing_the_channels_does_not_import_smtp_or_dbus():
    code = ("import sys, followup.channels\n"
            "print(sorted(m for m in ('smtplib', 'dbus_fast', 'keyring') if m in sys.modules))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60).stdout
    assert output.strip() == "[]"


@pytest.mark.parametrize("draft, url", [
    (Draft("dana@acme.example", "Thank you", "Hi Dana,\nthanks!"),
     "mailto:dana@acme.example?subject=Thank%20you&body=Hi%20Dana%2C%0D%0Athanks%21"),
    (Draft("a+b@x.example", "R&D: 100%?", "Ü"),
     "mailto:a+b@x.example?subject=R%26D%3A%20100%25%3F&body=%C3%9C"),
])
def test_mailto_links_are_percent_encoded(draft, url):
    assert mailto(draft) == url


@pytest.mark.parametrize("text, only, message", [
    ("", "email", f"channel 'email' is not enabled in {CONFIG}: "
                  "set [notify.email] enabled = true"),
    ("", "fax", "there is no channel 'fax' (channels: desktop, email, command, apprise)"),
    ("[notify.desktop]\nenabled = false\n", None,
     f"no channel is enabled in {CONFIG}: set `enabled = true` in one of [notify.desktop], "
     "[notify.email], [notify.command], [notify.apprise]"),
])
def test_notify_test_refuses_what_it_cannot_test(text, only, message):
    with pytest.raises(UserError) as raised:
        asyncio.run(notify_test(settings(text), only))
    assert raised.value.message == message


def test_notify_test_delivers_an_example_nudge_and_reports_each_channel(tmp_path):
    out = tmp_path / "received"
    program = tmp_path / "notify.py"
    program.write_text(f"import sys\nopen({str(out)!r}, 'w').write(sys.stdin.read())\n")
    config = settings(f"""
        [notify.command]
        enabled = true
        argv = [{json.dumps(sys.executable)}, {json.dumps(str(program))}]
    """)

    results = asyncio.run(notify_test(config))

    [(desktop, no_bus), (command, delivered)] = results
    assert (desktop, no_bus.outcome) == ("desktop", DeliveryResult.TRY_AGAIN)
    assert no_bus.reason.startswith("no desktop session bus")
    assert (command, delivered.outcome) == ("command", DeliveryResult.DELIVERED)
    nudge = json.loads(out.read_text())
    assert (nudge["company"], nudge["role"], nudge["number"], nudge["of"]) == (
        "[Test] Example Corp", "Test role", 1, 2)
    assert nudge["title"].startswith("Test from followup: ")


def test_notify_test_can_test_one_channel(tmp_path):
    config = settings("""
        [notify.command]
        enabled = true
        argv = ["/nonexistent/notify-me"]
    """)
    [(name, result)] = asyncio.run(notify_test(config, "command"))
    assert (name, result.outcome) == ("command", DeliveryResult.NEEDS_FIX)
    assert result.reason.startswith("the command '/nonexistent/notify-me' was not found")
