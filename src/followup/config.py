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
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from followup.config_schema import DAYS, SCHEMA, Invalid, kind
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


@dataclass(frozen=True, slots=True)
class CommandSettings:
    enabled: bool = False
    argv: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MeSettings:
    name: str = ""  # signs the drafts
    addresses: tuple[str, ...] = ()  # the user's own addresses, lower case


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
    me: MeSettings = field(default_factory=MeSettings)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def enabled_channels(self) -> tuple[str, ...]:
        on = {"desktop": self.desktop.enabled, "email": self.email.enabled,
              "command": self.command.enabled}
        return tuple(name for name, enabled in on.items() if enabled)

    def policy(self) -> Policy:
        """What the rules need, with the public-holiday calendar when one is set."""
        rules, hours = self.rules, self.hours
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
            holidays=holiday_calendar(hours.holidays) if hours.holidays else frozenset(),
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
    problems.extend(_cross_checks(settings))
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
    return Settings(
        timezone=top.get("timezone") or system_zone_name(),
        database_url=values.get("database", {}).get("url") or default_database_url(),
        path=path,
        rules=RulesSettings(**values.get("rules", {})),
        hours=HoursSettings(**values.get("hours", {})),
        daemon=DaemonSettings(**values.get("daemon", {})),
        desktop=DesktopSettings(**values.get("notify.desktop", {})),
        email=EmailSettings(**email),
        command=CommandSettings(**values.get("notify.command", {})),
        me=MeSettings(**values.get("me", {})),
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
    return problems


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


def holiday_calendar(code: str):
    """A container of dates (`date in calendar`) for a country code like "DE-BY"."""
    import holidays

    country, _, region = code.partition("-")
    return holidays.country_holidays(country, subdiv=region or None)


# --- the commented default file -----------------------------------------------------


def example_text() -> str:
    """The commented reference configuration, as shipped in the package."""
    from importlib.resources import files

    return files("followup").joinpath("followup.toml").read_text(encoding="utf-8")
