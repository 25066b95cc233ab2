"""[calendar] in the configuration: every key, and one clear problem per bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from followup import config
from followup.errors import ConfigError


def test_every_calendar_key():
    settings = config.parse_text("""
[calendar]
files = ["~/calendars/work.ics"]
feeds = ["webcal://example.com/cal.ics", "https://calendar.google.com/x/basic.ics"]
caldav = "https://cloud.example.com/remote.php/dav/calendars/jo/personal/"
username = "jo"
match = ["interview", "Bewerbungsgespräch"]
poll_seconds = 60
export = "~/calendars/followups.ics"
export_caldav = "https://cloud.example.com/remote.php/dav/calendars/jo/follow-ups/"
""").calendar
    assert settings.files == (Path("~/calendars/work.ics").expanduser(),)
    assert settings.feeds == ("https://example.com/cal.ics",
                              "https://calendar.google.com/x/basic.ics")
    assert settings.match == ("interview", "Bewerbungsgespräch")
    assert settings.poll_seconds == 60
    assert settings.export == Path("~/calendars/followups.ics").expanduser()
    assert settings.watching


def test_the_defaults_watch_nothing():
    settings = config.parse_text("").calendar
    assert not settings.watching
    assert settings.poll_seconds == 300 and "phone screen" in settings.match


@pytest.mark.parametrize(("line", "problem"), [
    ('feeds = ["ftp://example.com/cal.ics"]', "[calendar] feeds: 'ftp://example.com/cal.ics' "
                                              "is not an http(s) URL"),
    ('caldav = "cloud.example.com"', "[calendar] caldav: 'cloud.example.com' is not an "
                                     "http(s) URL"),
    ("poll_seconds = 0", "[calendar] poll_seconds: must be between 1 and 86400, got 0"),
    ("match = []", "[calendar] match: expected a non-empty array of words, got an array"),
    ('match = [" "]', "[calendar] match: an empty word would match every event"),
    ('files = "work.ics"', "[calendar] files: expected an array of file paths, got a string"),
    ('password = "x"', "[calendar] password: passwords never go in this file"),
])
def test_a_bad_calendar_value_is_named(line, problem):
    with pytest.raises(ConfigError) as raised:
        config.parse_text(f"[calendar]\n{line}\n")
    assert problem in raised.value.message
