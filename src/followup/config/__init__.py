"""Find, parse and validate the configuration into frozen settings.

The file is found as `--config` > `$FOLLOWUP_CONFIG` > the XDG config home.
Every key is optional. Validation looks at everything and reports every
problem at once, as `FILE: [section] key: problem`.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from followup import clock
from followup.config.schema import DAYS, SCHEMA, Invalid, kind, url_password
from followup.errors import ConfigError
from followup.models import Policy

APP_NAME = "followup"
ENV_CONFIG = "FOLLOWUP_CONFIG"
SECRET_KEYS = ("password", "pass", "passwd", "secret")


@dataclass(frozen=True, slots=True)
class RulesSettings:
    first_after_days: int = 3
    second_after_days: int = 7
    business_days: bool = True
    max_followups: int = 2
    stale_after_days: int = 30


@dataclass(frozen=True, slots=True)
class HoursSettings:
    days: tuple[str, ...] = DAYS[:5]
    start: time = time(9, 0)
    end: time | None = time(17, 0)  # None is "24:00"
    holidays: str = ""  # a country code, optionally with a subdivision: "US", "DE-BY"


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    rescan_seconds: int = 60
    retry_base_seconds: int = 60
    retry_max_seconds: int = 21600
    log_level: str = "info"
    lease_seconds: int = 30  # a delivery in flight is its daemon's for this long, renewed


@dataclass(frozen=True, slots=True)
class DesktopSettings:
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class EmailSettings:
    enabled: bool = False
    to: str = ""
    sender: str = ""  # the `from` key
    host: str = ""
    port: int = 587
    security: str = "starttls"
    username: str = ""
    auth: str = "password"  # or "oauth2": a token from oauth2_command at each login
    oauth2_command: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CommandSettings:
    enabled: bool = False
    argv: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AppriseSettings:
    enabled: bool = False
    config: str = ""  # Apprise's own configuration file (holds the URLs); "" = its defaults
    tag: str = ""  # only the URLs with this tag


@dataclass(frozen=True, slots=True)
class MeSettings:
    name: str = ""  # signs the drafts
    language: str = "en"  # the drafts' language, unless an interview names its own
    addresses: tuple[str, ...] = ()  # the user's own addresses, lower case


MATCH = ("interview", "phone screen", "screening call", "Vorstellungsgespräch",
         "Bewerbungsgespräch", "entretien d'embauche", "entrevista de trabajo")
EXCLUDE = ("mock", "practice", "workshop", "webinar", "training", "course", "skills")


@dataclass(frozen=True, slots=True)
class CalendarSettings:
    files: tuple[Path, ...] = ()  # .ics files to watch
    feeds: tuple[str, ...] = ()  # http(s) URLs of iCalendar feeds
    caldav: str = ""  # a CalDAV calendar collection URL
    username: str = ""  # for feeds and CalDAV; the password is in the keyring
    match: tuple[str, ...] = MATCH  # words that make an event an interview
    exclude: tuple[str, ...] = EXCLUDE  # ... unless one of these is in it too
    poll_seconds: int = 300
    export: Path | None = None  # an .ics file kept current with the planned nudges
    export_caldav: str = ""  # a CalDAV collection the planned nudges are written into

    @property
    def watching(self) -> bool:
        return bool(self.files or self.feeds or self.caldav or self.export
                    or self.export_caldav)


@dataclass(frozen=True, slots=True)
class MailboxSettings:
    enabled: bool = False
    host: str = ""
    port: int = 993
    security: str = "tls"
    username: str = ""  # the password is in the keyring: `followup password set mailbox`
    inbox: tuple[str, ...] = ("INBOX",)
    sent: str = ""  # "" finds the folder by its special use (\Sent)
    lookback_days: int = 60
    poll_seconds: int = 300
    auth: str = "password"  # or "oauth2": a token from oauth2_command at each login
    oauth2_command: tuple[str, ...] = ()
    drafts: bool = False  # put each due follow-up's draft into the Drafts folder
    drafts_folder: str = ""  # "" finds the folder by its special use (\\Drafts)


@dataclass(frozen=True, slots=True)
class Settings:
    timezone: str
    database_url: str
    path: Path | None = None  # the file these came from; None when running on defaults
    rules: RulesSettings = field(default_factory=RulesSettings)
    hours: HoursSettings = field(default_factory=HoursSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    desktop: DesktopSettings = field(default_factory=DesktopSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    command: CommandSettings = field(default_factory=CommandSettings)
    apprise: AppriseSettings = field(default_factory=AppriseSettings)
    me: MeSettings = field(default_factory=MeSettings)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    mailbox: MailboxSettings = field(default_factory=MailboxSettings)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def enabled_channels(self) -> tuple[str, ...]:
        on = {"desktop": self.desktop.enabled, "email": self.email.enabled,
              "command": self.command.enabled, "apprise": self.apprise.enabled}
        return tuple(name for name, enabled in on.items() if enabled)

    @property
    def database_shown(self) -> str:
        """The database URL as it may be printed: any password replaced by ***."""
        return redacted_url(self.database_url)

    def policy(self, year: int | None = None) -> Policy:
        """What the rules need, with the public holidays when a country is set: frozen
        for the years around `year` (default: this year) that the rules can reach."""
        rules, hours = self.rules, self.hours
        year = year if year is not None else clock.now().year
        return Policy(
            zone=self.zone,
            first_after_days=rules.first_after_days,
            second_after_days=rules.second_after_days,
            business_days=rules.business_days,
            max_followups=rules.max_followups,
            stale_after_days=rules.stale_after_days,
            work_days=frozenset(DAYS.index(day) for day in hours.days),
            start=hours.start,
            end=hours.end,
            holidays=holiday_dates(hours.holidays, year) if hours.holidays else frozenset(),
        )


# --- finding the file -------------------------------------------------------------


def default_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "followup.toml"


def default_database_url() -> str:
    from platformdirs import user_data_path

    return f"sqlite:///{user_data_path(APP_NAME) / 'followup.db'}"


def find(explicit: str | os.PathLike[str] | None = None) -> tuple[Path, bool]:
    """The configuration file to use, and whether it must exist.

    A file named by `--config` or `$FOLLOWUP_CONFIG` must exist; the default one
    may be missing, and then the defaults apply.
    """
    if explicit:
        return Path(explicit).expanduser(), True
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG]).expanduser(), True
    return default_path(), False


def load(explicit: str | os.PathLike[str] | None = None) -> Settings:
    """Find, read and validate the configuration. Raises ConfigError."""
    path, required = find(explicit)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is fine
    except FileNotFoundError:
        if required:
            problem = "file not found (create one with `followup config init`)"
            raise ConfigError(path, [problem]) from None
        return parse({}, None)
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(path, [f"cannot read the file: {error}"]) from None
    return parse_text(text, path)


def parse_text(text: str, path: Path | None = None) -> Settings:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, [f"TOML syntax error: {error}"]) from None
    return parse(data, path)


# --- validation -------------------------------------------------------------------


def parse(data: Mapping[str, Any], path: Path | None) -> Settings:
    """Validate a parsed TOML document into Settings, reporting every problem at once."""
    problems: list[str] = []
    values: dict[str, dict[str, Any]] = {}
    _refuse_passwords(data, "", problems)
    for section, value in data.items():
        if section in SCHEMA[""] or section.lower() in SECRET_KEYS:
            continue  # the top level's keys, and passwords (refused above)
        if section == "notify" and isinstance(value, Mapping):
            for sub, subvalue in value.items():
                _check_section(f"notify.{sub}", subvalue, problems, values)
        elif not isinstance(value, Mapping) and section not in SCHEMA:
            problems.append(f"{section}: unknown key (known: timezone, and the tables "
                            f"{', '.join(f'[{name}]' for name in SCHEMA if name)})")
        else:
            _check_section(section, value, problems, values)
    _check_section("", {k: v for k, v in data.items() if k in SCHEMA[""]}, problems, values)
    settings = _build(values, path)
    # A key whose value was refused is missing from `settings`: not "required" as well.
    refused = {problem.partition(":")[0] for problem in problems}
    problems.extend(p for p in _cross_checks(settings) if p.partition(":")[0] not in refused)
    if problems:
        raise ConfigError(path, problems)
    return settings


def _refuse_passwords(data: Mapping[str, Any], prefix: str, problems: list[str]) -> None:
    for key, value in data.items():
        if isinstance(value, Mapping):
            _refuse_passwords(value, f"{prefix}{key}.", problems)
        elif key.lower() in SECRET_KEYS:
            section = prefix.rstrip(".")
            where = f"[{section}] {key}" if section else key
            problems.append(
                f"{where}: passwords never go in this file; "
                "store it in the system keyring with `followup password set`"
            )


def _check_section(section: str, table: Any, problems: list[str], values: dict) -> None:
    label = f"[{section}] " if section else ""
    if section not in SCHEMA:
        problems.append(f"[{section}]: unknown section")
        return
    if not isinstance(table, Mapping):
        problems.append(f"[{section}]: expected a table, got {kind(table)}")
        return
    schema = SCHEMA[section]
    out = values.setdefault(section, {})
    for key, value in table.items():
        if key.lower() in SECRET_KEYS:
            continue  # reported by _refuse_passwords
        if key not in schema:
            problems.append(f"{label}{key}: unknown key (known: {', '.join(schema)})")
            continue
        try:
            out[key] = schema[key](value)
        except Invalid as error:
            problems.append(f"{label}{key}: {error}")


def _build(values: dict[str, dict[str, Any]], path: Path | None) -> Settings:
    top = values.get("", {})
    email = dict(values.get("notify.email", {}))
    if "from" in email:
        email["sender"] = email.pop("from")
    apprise = dict(values.get("notify.apprise", {}))
    if apprise.get("config"):
        apprise["config"] = str(_beside(Path(apprise["config"]).expanduser(), path))
    url = values.get("database", {}).get("url") or default_database_url()
    return Settings(
        timezone=top.get("timezone") or system_zone_name(),
        database_url=sqlite_url_resolved(url, path),
        path=path,
        rules=RulesSettings(**values.get("rules", {})),
        hours=HoursSettings(**values.get("hours", {})),
        daemon=DaemonSettings(**values.get("daemon", {})),
        desktop=DesktopSettings(**values.get("notify.desktop", {})),
        email=EmailSettings(**email),
        command=CommandSettings(**values.get("notify.command", {})),
        apprise=AppriseSettings(**apprise),
        me=MeSettings(**values.get("me", {})),
        calendar=CalendarSettings(**values.get("calendar", {})),
        mailbox=MailboxSettings(**values.get("mailbox", {})),
    )


def _cross_checks(settings: Settings) -> list[str]:
    problems = []
    hours, daemon, email = settings.hours, settings.daemon, settings.email
    if hours.end is not None and hours.end <= hours.start:
        problems.append(f"[hours] end: must be after start ({hours.start:%H:%M})")
    if daemon.retry_max_seconds < daemon.retry_base_seconds:
        problems.append("[daemon] retry_max_seconds: must be at least retry_base_seconds")
    if email.enabled:
        for key, value in (("to", email.to), ("from", email.sender), ("host", email.host)):
            if not value:
                problems.append(f"[notify.email] {key}: required when email is enabled")
    if settings.command.enabled and not settings.command.argv:
        problems.append("[notify.command] argv: required when the command channel is enabled")
    problems.extend(_oauth2_checks("notify.email", email.auth, email.oauth2_command))
    if email.enabled and email.auth == "oauth2" and not email.username:
        problems.append('[notify.email] username: required with auth = "oauth2" (the '
                        "account the token is for)")
    if email.security == "none" and email.username and not is_loopback(email.host):
        secret = "token" if email.auth == "oauth2" else "password"
        problems.append(f'[notify.email] security: "none" would send the {secret} of '
                        f"{email.username} unencrypted to {email.host or 'the server'}: use "
                        '"starttls" or "tls" (\"none\" is only for a server on this machine)')
    if settings.database_url.startswith(RELATIVE_SQLITE):
        problems.append("[database] url: a relative SQLite path needs a configuration file "
                        "to be relative to; write the whole path")
    problems.extend(_mailbox_checks(settings.mailbox))
    problems.extend(_drafts_checks(settings.mailbox, settings.me))
    return problems


def _oauth2_checks(section: str, auth: str, command: tuple[str, ...]) -> list[str]:
    if auth == "oauth2" and not command:
        return [f'[{section}] oauth2_command: required with auth = "oauth2" (the program '
                'that prints an access token, as an array: ["pizauth", "show", "office365"])']
    return []


def _mailbox_checks(mailbox: MailboxSettings) -> list[str]:
    problems = _oauth2_checks("mailbox", mailbox.auth, mailbox.oauth2_command)
    if mailbox.enabled:
        for key, value in (("host", mailbox.host), ("username", mailbox.username)):
            if not value:
                problems.append(f"[mailbox] {key}: required when the mailbox watch is enabled")
    if mailbox.security == "none" and mailbox.host and not is_loopback(mailbox.host):
        problems.append("[mailbox] security: \"none\" (no encryption) only for a server on "
                        "this machine (127.0.0.1, ::1, localhost); use \"tls\" or \"starttls\"")
    return problems


def _drafts_checks(mailbox: MailboxSettings, me: MeSettings) -> list[str]:
    if not mailbox.drafts:
        return []
    problems = [f"[mailbox] {key}: required with drafts = true (the drafts are written "
                "into this mailbox)" for key, value in (("host", mailbox.host),
                                                        ("username", mailbox.username))
                if not value and not mailbox.enabled]
    if not me.addresses:
        problems.append("[me] addresses: required with [mailbox] drafts = true (the first "
                        "is the drafts' From)")
    return problems


# --- database URLs --------------------------------------------------------------------

RELATIVE_SQLITE = "relative:"  # marks a relative SQLite path with no file to resolve it by


def sqlite_url_resolved(url: str, config_path: Path | None) -> str:
    """A SQLite URL with `~` expanded and a relative path made absolute against the
    configuration file's folder (so the data does not depend on the working directory).

    Other URLs, and SQLite in memory, come back unchanged.
    """
    scheme, sep, rest = url.partition(":///")
    if not sep or not scheme.startswith("sqlite"):
        return url
    database, query_sep, query = rest.partition("?")
    if database in ("", ":memory:") or database.startswith("file:"):
        return url
    path = Path(database).expanduser()
    if not path.is_absolute():
        if config_path is None:
            return RELATIVE_SQLITE + url
        path = _beside(path, config_path)
    return f"{scheme}:///{path}{query_sep}{query}"


def _beside(path: Path, config_path: Path | None) -> Path:
    """A relative path read as relative to the configuration file's folder."""
    if path.is_absolute() or config_path is None:
        return path
    return Path(os.path.abspath(config_path.expanduser().parent / path))


def redacted_url(url: str) -> str:
    """The URL with the password of its user information replaced by ***: the user,
    then what follows the last "@" (a password may hold "/" and "@")."""
    if not url_password(url):
        return url
    scheme, _, rest = url.partition("://")
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.partition(":")[0]
    return f"{scheme}://{user}:***@{host}"


def is_loopback(host: str) -> bool:
    """Whether a host name or address is this machine (traffic never leaves it)."""
    import ipaddress

    name = host.strip().rstrip(".").lower().strip("[]")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# --- the system's zone and public holidays -----------------------------------------


def system_zone_name() -> str:
    """The IANA name of the system's zone: $TZ, /etc/localtime, /etc/timezone, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(os.readlink("/etc/localtime").partition("zoneinfo/")[2])
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        try:
            if name:
                ZoneInfo(name)
                return name
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return "UTC"


HOLIDAY_YEARS = (-1, 3)  # the years before and after this one whose holidays are known


def holiday_dates(code: str, year: int) -> frozenset[date]:
    """The public holidays of a country code like "DE-BY", for the years from
    `year` - 1 to `year` + 3: the rules look up to two years ahead of dates that
    can lie a year back. A frozen set, so that threads can share it (the library's
    calendar fills itself lazily, year by year, on lookup)."""
    import holidays

    country, _, region = code.partition("-")
    before, after = HOLIDAY_YEARS
    calendar = holidays.country_holidays(country, subdiv=region or None,
                                         years=range(year + before, year + after + 1))
    return frozenset(calendar)


# --- the commented default file -----------------------------------------------------


def exposure(settings: Settings) -> list[str]:
    """A warning when the configuration file holds a secret (a calendar feed's address)
    and others may read it; else []."""
    if settings.path is None or not settings.calendar.feeds:
        return []
    try:
        mode = Path(settings.path).stat().st_mode & 0o777
    except OSError:
        return []
    if not mode & 0o077:
        return []
    return [f"{settings.path} can be read by others (mode {mode:04o}) and holds [calendar] "
            f"feeds, whose addresses are secret: chmod 600 {settings.path}"]


def example_text() -> str:
    """The commented reference configuration, as shipped in the package."""
    from importlib.resources import files

    return files("followup").joinpath("followup.toml").read_text(encoding="utf-8")
