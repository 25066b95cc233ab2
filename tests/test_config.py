"""The configuration: found, parsed and validated all at once; exit 78 when wrong."""

from __future__ import annotations

import sys
from datetime import time
from pathlib import Path

import pytest

from followup import config
from followup.errors import ConfigError
from support.cli import run

REPO = Path(__file__).resolve().parents[1]


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config.parse_text(text, Path("/x/f.toml"))
    return list(caught.value.problems)


def test_no_file_runs_on_defaults():
    settings = config.load()
    assert settings.path is None
    assert settings.timezone == "Europe/Berlin"  # $TZ, set by conftest
    assert settings.database_url.endswith("/followup/followup.db")
    assert settings.enabled_channels == ("desktop",)
    assert settings.rules.max_followups == 2


def test_the_reference_file_is_the_shipped_one_and_gives_the_defaults():
    shipped = (REPO / "src/followup/followup.toml").read_text()
    assert (REPO / "config/followup.toml").read_text() == shipped
    assert config.example_text() == shipped
    parsed = config.parse_text(shipped)
    defaults = config.parse({}, None)
    assert parsed == defaults


def test_every_key_is_read():
    settings = config.parse_text("""
timezone = "America/New_York"
[database]
url = "sqlite:////tmp/x.db"
[rules]
first_after_days = 2
second_after_days = 5
business_days = false
max_followups = 1
stale_after_days = 10
[hours]
days = ["sat", "sun"]
start = "08:30"
end = "24:00"
holidays = "US"
[daemon]
rescan_seconds = 5
retry_base_seconds = 2
retry_max_seconds = 100
log_level = "debug"
[notify.desktop]
enabled = false
[notify.email]
enabled = true
to = "me@example.com"
from = "fu@example.com"
host = "127.0.0.1"
port = 2525
security = "none"
username = "me"
auth = "oauth2"
oauth2_command = ["pizauth", "show", "office365"]
[notify.command]
enabled = true
argv = ["notify-me", "--x"]
[notify.apprise]
enabled = true
config = "~/apprise.yml"
tag = "phone"
[me]
name = "Jo Doe"
addresses = ["Jo@Example.com"]
""")
    assert settings.timezone == "America/New_York"
    assert settings.database_url == "sqlite:////tmp/x.db"
    assert (settings.rules.first_after_days, settings.rules.max_followups) == (2, 1)
    assert settings.hours.days == ("sat", "sun")
    assert (settings.hours.start, settings.hours.end) == (time(8, 30), None)
    assert settings.daemon.rescan_seconds == 5
    assert settings.email.sender == "fu@example.com" and settings.email.port == 2525
    assert settings.command.argv == ("notify-me", "--x")
    assert settings.email.auth == "oauth2"
    assert settings.email.oauth2_command == ("pizauth", "show", "office365")
    assert settings.enabled_channels == ("email", "command", "apprise")
    assert settings.apprise.config == str(Path.home() / "apprise.yml")
    assert settings.apprise.tag == "phone"
    assert (settings.me.name, settings.me.addresses) == ("Jo Doe", ("jo@example.com",))
    policy = settings.policy()
    assert policy.work_days == frozenset({5, 6})
    from datetime import date
    assert date(2026, 7, 4) in policy.holidays


def test_holidays_are_frozen_for_the_years_the_rules_reach(tmp_path):
    from datetime import date
    from threading import Thread

    path = tmp_path / "followup.toml"
    path.write_text('timezone = "Europe/Berlin"\n[hours]\nholidays = "DE-BY"\n')
    policy = config.load(path).policy(2026)
    # A plain frozen set: lookups from several threads change nothing.
    assert isinstance(policy.holidays, frozenset)
    christmases = {date(year, 12, 25) for year in range(2025, 2030)}
    assert christmases <= policy.holidays
    assert date(2024, 12, 25) not in policy.holidays  # outside the years in use
    assert date(2026, 1, 6) in policy.holidays  # Epiphany: Bavaria's, not all of Germany's
    seen = []
    threads = [Thread(target=lambda: seen.append(date(2029, 1, 1) in policy.holidays))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert seen == [True] * 8


@pytest.mark.parametrize(("text", "expected"), [
    ("[rules]\nmax_followups = 3", "[rules] max_followups: must be between 1 and 2, got 3"),
    ("[rules]\nbusiness_days = 1", "[rules] business_days: expected true or false"),
    ("[rules]\nfirst_after_days = true", "[rules] first_after_days: expected a whole number"),
    ("[rules]\nsurprise = 1", "[rules] surprise: unknown key"),
    ("[hours]\nstart = \"9am\"", "[hours] start: expected a time as \"HH:MM\""),
    ("[hours]\nstart = \"25:00\"", "[hours] start: '25:00' is not a time of day"),
    ("[hours]\nend = \"08:00\"", "[hours] end: must be after start (09:00)"),
    ("[hours]\ndays = []", "[hours] days: expected a non-empty array"),
    ("[hours]\ndays = [\"monday\"]", "[hours] days: unknown day 'monday'"),
    ("[hours]\nholidays = \"ZZ\"", "[hours] holidays: no public holidays known for 'ZZ'"),
    ("timezone = \"Mars/Olympus\"", "timezone: unknown time zone 'Mars/Olympus'"),
    ("[daemon]\nrescan_seconds = 0", "[daemon] rescan_seconds: must be between 1 and"),
    ("[daemon]\nrescan_seconds = 3600",
     "[daemon] rescan_seconds: must be between 1 and 600, got 3600"),
    ("[daemon]\nlog_level = \"loud\"", "[daemon] log_level: must be one of debug, info"),
    ("[notify.email]\nsecurity = \"ssl\"", "[notify.email] security: must be one of"),
    ("[notify.email]\nto = \"not an address\"", "[notify.email] to: 'not an address' is not"),
    ("[notify.email]\nport = 70000", "[notify.email] port: must be between 1 and 65535"),
    ("[notify.email]\nenabled = true", "[notify.email] to: required when email is enabled"),
    ("[notify.email]\npassword = \"hunter2\"",
     "[notify.email] password: passwords never go in this file; store it in the system "
     "keyring with `followup password set`"),
    ("[notify.command]\nenabled = true", "[notify.command] argv: required when"),
    ("[notify.command]\nargv = \"notify-me\"", "[notify.command] argv: expected an array"),
    ("[notify.sms]\nenabled = true", "[notify.sms]: unknown section"),
    ("[database]\nurl = \"nowhere\"", "[database] url: 'nowhere' is not a database URL"),
    ("rules = 3", "[rules]: expected a table"),
    ("colour = \"blue\"", "colour: unknown key"),
    ("[notify.email]\nhost = \"a\\nb\"", "[notify.email] host: must not contain control"),
    # One control-character check for typed and configured text: C1 and U+2028 too.
    ("[me]\nname = \"Jo\\u0085Doe\"", "[me] name: must not contain control"),
    ("[me]\nname = \"Jo\\u2028Doe\"", "[me] name: must not contain control"),
    ("[notify.apprise]\nenabled = \"yes\"", "[notify.apprise] enabled: expected true or false"),
    ("[notify.apprise]\nurls = [\"ntfy://x\"]", "[notify.apprise] urls: unknown key"),
    ("[notify.email]\nhost = \"smtp.example.com\"\nsecurity = \"none\"\nusername = \"me\"",
     '[notify.email] security: "none" would send the password of me unencrypted to '
     "smtp.example.com"),
])
def test_one_bad_value_one_problem(text, expected):
    found = problems(text)
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_is_reported_at_once_with_the_file():
    with pytest.raises(ConfigError) as caught:
        config.parse_text("[rules]\nmax_followups = 9\n[hours]\nstart = \"x\"\n[x]\n",
                          Path("/cfg/f.toml"))
    lines = caught.value.message.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("/cfg/f.toml: ") for line in lines)


def test_toml_syntax_error_gives_the_line():
    found = problems("[rules]\nfirst_after_days = \n")
    assert len(found) == 1
    assert found[0].startswith("TOML syntax error") and "line 2" in found[0]


def test_explicit_file_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        config.load(tmp_path / "missing.toml")


def test_environment_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "env.toml"
    path.write_text("[rules]\nfirst_after_days = 5\n")
    monkeypatch.setenv("FOLLOWUP_CONFIG", str(path))
    assert config.load().rules.first_after_days == 5
    other = tmp_path / "flag.toml"
    other.write_text("[rules]\nfirst_after_days = 6\n")
    assert config.load(other).rules.first_after_days == 6  # --config wins


def test_cli_config_errors_exit_78_naming_file_and_key(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[rules]\nmax_followups = 5\n[hours]\ndays = [\"funday\"]\n")
    result = run(capsys, "--config", str(path), "list")
    assert result.code == 78
    assert result.err.splitlines() == [
        f"{path}: [rules] max_followups: must be between 1 and 2, got 5",
        f"{path}: [hours] days: unknown day 'funday' (use mon, tue, wed, thu, fri, sat, sun)",
    ]
    assert "Traceback" not in result.err
    assert run(capsys, "--config", str(path), "config", "check").code == 78


def test_config_path_init_check(capsys, private_home, monkeypatch):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={private_home}/bus")
    path = private_home / "xdg_config_home" / "followup" / "followup.toml"
    assert run(capsys, "config", "path").out.strip() == str(path)
    assert run(capsys, "config", "init").code == 0
    assert path.read_text() == config.example_text()
    again = run(capsys, "config", "init")
    assert again.code == 1 and "already exists" in again.err
    checked = run(capsys, "config", "check")
    assert checked.code == 0 and str(path) in checked.out


def test_config_path_and_init_work_with_a_broken_file(capsys, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("this is = = not toml")
    assert run(capsys, "--config", str(path), "config", "path").out.strip() == str(path)
    assert run(capsys, "--config", str(path), "config", "init", "--force").code == 0
    assert run(capsys, "--config", str(path), "config", "check").code == 0


def test_a_byte_order_mark_is_fine(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeff[rules]\nfirst_after_days = 4\n".encode())
    assert config.load(path).rules.first_after_days == 4


# --- database URLs (issue 10, items 13 and 15) ------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:///~/jobs/f.db", "sqlite:///{home}/jobs/f.db"),
    ("sqlite:///rel.db", "sqlite:////cfg/rel.db"),
    ("sqlite:///data/../f.db?timeout=5", "sqlite:////cfg/f.db?timeout=5"),
    ("sqlite:////abs/f.db", "sqlite:////abs/f.db"),
    ("postgresql+psycopg://me@db.example/jobs", "postgresql+psycopg://me@db.example/jobs"),
])
def test_sqlite_paths_are_expanded_and_made_absolute_at_load(url, expected):
    settings = config.parse_text(f'[database]\nurl = "{url}"', Path("/cfg/f.toml"))
    assert settings.database_url == expected.format(home=Path.home())


def test_a_relative_sqlite_path_without_a_file_is_refused():
    with pytest.raises(ConfigError) as caught:
        config.parse_text('[database]\nurl = "sqlite:///rel.db"')
    assert "a relative SQLite path needs a configuration file" in caught.value.message


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://me:hunter2@db.example/jobs",
    "postgresql://me:hunter2@db.example:5432/jobs?sslmode=require",
    "mysql://u:hunter2@h/d",
    "postgresql://me:hun/ter2@db.example/jobs",  # a "/" in the password
    "postgresql://me:hunter2/x@db.example:5432/jobs?sslmode=require",
])
def test_a_password_in_the_database_url_is_refused_without_echoing_it(capsys, tmp_path, url):
    path = tmp_path / "f.toml"
    path.write_text(f'[database]\nurl = "{url}"\n')
    checked = run(capsys, "--config", str(path), "config", "check")
    assert checked.code == 78
    assert "[database] url: a password does not go in the database URL" in checked.err
    assert "hunter2" not in checked.err + checked.out
    assert "ter2" not in checked.err + checked.out


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://me:pw@h/db", "postgresql://me:***@h/db"),
    ("postgresql://me:p/w@h/db", "postgresql://me:***@h/db"),
    ("postgresql://me:p@w@h:5432/db?sslmode=require", "postgresql://me:***@h:5432/db?sslmode=require"),
    ("postgresql://me@h/db", "postgresql://me@h/db"),
    ("sqlite:////tmp/a@b/f.db", "sqlite:////tmp/a@b/f.db"),
])
def test_only_the_redacted_database_url_is_shown(url, shown):
    assert config.Settings(timezone="UTC", database_url=url).database_shown == shown


def test_config_check_never_prints_a_password():
    settings = config.Settings(timezone="UTC", database_url="postgresql://me:pw@h/db")
    assert settings.database_shown == "postgresql://me:***@h/db"


@pytest.mark.parametrize(("host", "refused"), [
    ("localhost", False), ("127.0.0.1", False), ("::1", False), ("[::1]", False),
    ("127.0.0.53", False), ("smtp.example.com", True), ("10.0.0.1", True), ("", True),
])
def test_security_none_with_a_login_is_only_for_this_machine(host, refused):
    text = f'[notify.email]\nhost = "{host}"\nsecurity = "none"\nusername = "me"\n'
    if refused:
        assert any("security" in p for p in problems(text))
    else:
        assert config.parse_text(text).email.host == host
    assert config.parse_text(text.replace('username = "me"', 'username = ""'))


# --- config check looks at this machine (issue 9, item 7) -----------------------------------


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "f.toml"
    path.write_text(text)
    return path


def test_config_check_warns_that_desktop_cannot_work_without_a_session_bus(capsys, tmp_path):
    checked = run(capsys, "--config", str(write(tmp_path, "")), "config", "check")
    assert checked.code == 0 and checked.out.startswith("ok: ")
    assert checked.err.startswith("warning: [notify.desktop]: no desktop session bus here")
    assert "enabled = false" in checked.err


def test_config_check_warns_about_a_command_that_does_not_exist(capsys, tmp_path):
    path = write(tmp_path, '[notify.desktop]\nenabled = false\n[notify.command]\n'
                           'enabled = true\nargv = ["no-such-notifier-here"]\n')
    checked = run(capsys, "--config", str(path), "config", "check")
    assert checked.code == 0
    assert checked.err == ("warning: [notify.command]: the program 'no-such-notifier-here' is "
                           "not found or not executable (give a full path, or a program on "
                           "$PATH)\n")


def test_config_check_warns_when_no_channel_is_enabled(capsys, tmp_path):
    path = write(tmp_path, "[notify.desktop]\nenabled = false\n")
    checked = run(capsys, "--config", str(path), "config", "check")
    assert checked.code == 0 and "warning: no channel is enabled" in checked.err


def test_config_check_is_quiet_when_every_channel_can_work(capsys, tmp_path):
    path = write(tmp_path, f'[notify.desktop]\nenabled = false\n[notify.command]\n'
                           f'enabled = true\nargv = ["{sys.executable}"]\n')
    checked = run(capsys, "--config", str(path), "config", "check")
    assert (checked.code, checked.err) == (0, "")


# --- OAuth2 sign-in ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ('[mailbox]\nauth = "oauth2"\n',
     '[mailbox] oauth2_command: required with auth = "oauth2" (the program that prints an '
     'access token, as an array: ["pizauth", "show", "office365"])'),
    ('[notify.email]\nauth = "oauth2"\noauth2_command = []\n',
     '[notify.email] oauth2_command: required with auth = "oauth2" (the program that prints '
     'an access token, as an array: ["pizauth", "show", "office365"])'),
    ('[notify.email]\nenabled = true\nto = "a@b.example"\nfrom = "a@b.example"\n'
     'host = "smtp.b.example"\nauth = "oauth2"\noauth2_command = ["pizauth"]\n',
     '[notify.email] username: required with auth = "oauth2" (the account the token is for)'),
    ('[mailbox]\nauth = "kerberos"\n',
     "[mailbox] auth: must be one of password, oauth2; got 'kerberos'"),
    ('[mailbox]\nauth = "oauth2"\noauth2_command = "pizauth show office365"\n',
     "[mailbox] oauth2_command: expected an array of strings, got a string"),
])
def test_oauth2_without_a_usable_command_is_refused(text, expected):
    assert problems(text) == [expected]


def test_config_check_refuses_oauth2_without_a_command_exit_78(capsys, tmp_path):
    path = write(tmp_path, '[mailbox]\nauth = "oauth2"\n')
    checked = run(capsys, "--config", str(path), "config", "check")
    assert checked.code == 78
    assert checked.err == (f'{path}: [mailbox] oauth2_command: required with auth = "oauth2" '
                           '(the program that prints an access token, as an array: '
                           '["pizauth", "show", "office365"])\n')


def test_config_check_warns_about_a_token_command_that_is_not_found(capsys, tmp_path):
    path = write(tmp_path, f"""[notify.desktop]
enabled = false
[notify.command]
enabled = true
argv = ["{sys.executable}"]
[mailbox]
auth = "oauth2"
oauth2_command = ["no-such-token-helper", "show", "office365"]
[notify.email]
auth = "oauth2"
oauth2_command = ["{sys.executable}", "-c", "print('a-token')"]
""")
    checked = run(capsys, "--config", str(path), "config", "check")
    assert checked.code == 0
    assert checked.err == ("warning: [mailbox] oauth2_command: the program "
                           "'no-such-token-helper' is not found or not executable (give a "
                           "full path, or a program on $PATH)\n")
