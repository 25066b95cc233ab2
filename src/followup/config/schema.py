"""What each configuration key may hold: one check per key, each returning the
clean value or raising Invalid with the problem in words a user can act on."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from followup.inputs import EMAIL_RE, has_control, shown
from followup.models import LANGUAGES

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SECURITY = ("starttls", "tls", "none")
AUTH = ("password", "oauth2")
LOG_LEVELS = ("debug", "info", "warning", "error")

Check = Callable[[Any], Any]  # returns the converted value or raises Invalid


class Invalid(ValueError):
    pass


def kind(value: Any) -> str:
    names = {bool: "a boolean", int: "a whole number", float: "a number", str: "a string",
             list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {kind(value)}")
    return value


def integer(low: int, high: int) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"expected a whole number, got {kind(value)}")
        if not low <= value <= high:
            raise Invalid(f"must be between {low} and {high}, got {value}")
        return value

    return check


def text(max_length: int = 1000, pattern: re.Pattern[str] | None = None,
         what: str = "") -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"expected a string, got {kind(value)}")
        if len(value) > max_length:
            raise Invalid(f"too long ({len(value)} characters, at most {max_length})")
        if has_control(value):
            raise Invalid("must not contain control characters")
        if pattern is not None and value and not pattern.match(value):
            raise Invalid(f"{shown(value)} is not {what}")
        return value

    return check


def choice(options: tuple[str, ...]) -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            shown = repr(value) if isinstance(value, str) else kind(value)
            raise Invalid(f"must be one of {', '.join(options)}; got {shown}")
        return value

    return check


def zone_name(value: Any) -> str:
    text(100)(value)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {shown(value)} (use an IANA name like "
                      "'Europe/Berlin')") from None
    return value


def clock_time(allow_24: bool) -> Check:
    def check(value: Any) -> time | None:
        if not isinstance(value, str) or not re.fullmatch(r"\d\d:\d\d", value):
            raise Invalid("expected a time as \"HH:MM\", like \"09:00\"")
        if allow_24 and value == "24:00":
            return None
        try:
            return time.fromisoformat(value)
        except ValueError:
            raise Invalid(f"{shown(value)} is not a time of day") from None

    return check


def day_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise Invalid(f"expected a non-empty array of days like [\"mon\", \"tue\"]; "
                      f"got {kind(value)}")
    bad = [day for day in value if day not in DAYS]
    if bad:
        raise Invalid(f"unknown day {bad[0]!r} (use {', '.join(DAYS)})")
    if len(set(value)) != len(value):
        raise Invalid("a day is listed twice")
    return tuple(value)


def holiday_country(value: Any) -> str:
    text(20)(value)
    if value and not holiday_code_known(value):
        raise Invalid(f"no public holidays known for {shown(value)} (use a country code "
                      "like \"US\" or \"DE\", optionally with a region: \"DE-BY\")")
    return value


def argv_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(arg, str) for arg in value):
        raise Invalid(f"expected an array of strings, got {kind(value)}")
    if any("\0" in arg for arg in value):
        raise Invalid("must not contain NUL characters")
    if value and not value[0]:
        raise Invalid("the program (first element) is empty")
    return tuple(value)


def address_list(value: Any) -> tuple[str, ...]:
    """Email addresses, lower-cased (they are compared with mail headers)."""
    if not isinstance(value, list):
        raise Invalid(f"expected an array of email addresses, got {kind(value)}")
    check = text(pattern=EMAIL_RE, what="an email address")
    return tuple(check(item).lower() for item in value)


def folder_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise Invalid(f"expected a non-empty array of folder names like [\"INBOX\"]; "
                      f"got {kind(value)}")
    check = text(1000)
    names = tuple(check(item) for item in value)
    if any(not name for name in names):
        raise Invalid("a folder name is empty")
    return names


def database_url(value: Any) -> str:
    """A SQLAlchemy URL without a password (it would be printed and logged).

    The value is never quoted back when it might hold a password.
    """
    text(4000)(value)
    if not re.match(r"^[a-z][a-z0-9+]*://", value):
        where = "" if "@" in value else f"{shown(value)} "
        raise Invalid(f"{where}is not a database URL (like \"sqlite:////path/to/file.db\")")
    if url_password(value) or _query_password(value):
        raise Invalid("a password does not go in the database URL (it would show in "
                      "logs and output): remove it and let the driver find it, for "
                      "PostgreSQL in ~/.pgpass")
    scheme, _, rest = value.partition("://")
    backend = scheme.partition("+")[0]
    if backend not in ("sqlite", "postgresql"):
        raise Invalid(f"{backend} databases are not supported: use SQLite "
                      "(\"sqlite:////path/to/file.db\") or PostgreSQL "
                      "(\"postgresql+psycopg://user@host/db\")")
    if backend == "sqlite" and _in_memory(rest):
        raise Invalid("an in-memory SQLite database forgets every write when the command "
                      "ends: give a file (like \"sqlite:////path/to/file.db\")")
    return value


def _in_memory(rest: str) -> bool:
    """Whether the part of a SQLite URL after `sqlite://` names an in-memory database."""
    database, _, query = rest.removeprefix("/").partition("?")
    return database in ("", ":memory:") or "mode=memory" in query or (
        database.startswith("file::memory:"))


def url_password(url: str) -> str | None:
    """The password part of a URL's user information (`user:password@host`), or None.

    Parsed by SQLAlchemy's `make_url`, as the database layer reads it (a password may
    hold a "/"); a URL it cannot parse counts as having one when a ":" comes before
    its last "@" (it is refused, and never quoted back)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        userinfo, at, _ = url.partition("://")[2].rpartition("@")
        return userinfo.partition(":")[2] or None if at else None
    return str(password) if password else None


def _query_password(url: str) -> bool:
    """Whether the URL's query carries a password (`?password=...`)."""
    query = url.partition("?")[2]
    return "password" in {pair.partition("=")[0].lower() for pair in query.split("&")}


def path_text(value: Any) -> str:
    """A file path as written; `~` is expanded where the path is used."""
    return text(4000)(value)


def path_list(value: Any) -> tuple[Path, ...]:
    """Files, `~` expanded."""
    if not isinstance(value, list):
        raise Invalid(f"expected an array of file paths, got {kind(value)}")
    return tuple(path for path in map(file_path, value) if path is not None)


def file_path(value: Any) -> Path | None:
    """A file path, `~` expanded; "" is none."""
    text(4000)(value)
    return Path(value).expanduser() if value else None


def web_url(value: Any) -> str:
    """An http(s) URL ("" for none); webcal:// is read as https://."""
    text(4000)(value)
    if value.startswith("webcal://"):
        value = "https://" + value.removeprefix("webcal://")
    if value and not re.match(r"^https?://[^/\s]+", value):
        raise Invalid(f"{shown(value)} is not an http(s) URL")
    if "@" in value.split("://", 1)[-1].split("/", 1)[0]:
        # a login in the URL: its password would be shown (and urllib misreads it)
        raise Invalid("a login in the URL is not allowed: give [calendar] username and "
                      "use `followup password set calendar`")
    return value


def url_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise Invalid(f"expected an array of http(s) URLs, got {kind(value)}")
    return tuple(url for url in map(web_url, value) if url)


def word_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise Invalid(f"expected a non-empty array of words, got {kind(value)}")
    words = tuple(text(200)(item).strip() for item in value)
    if not all(words):
        raise Invalid("an empty word would match every event")
    return words


def excluded_words(value: Any) -> tuple[str, ...]:
    """Like `word_list`, but may be empty (nothing excluded)."""
    if isinstance(value, list) and not value:
        return ()
    return word_list(value)


SCHEMA: dict[str, dict[str, Check]] = {
    "": {"timezone": zone_name},
    "database": {"url": database_url},
    "rules": {
        "first_after_days": integer(0, 60),
        "second_after_days": integer(1, 90),
        "business_days": boolean,
        "max_followups": integer(1, 2),
        "stale_after_days": integer(1, 3650),
    },
    "hours": {
        "days": day_list,
        "start": clock_time(allow_24=False),
        "end": clock_time(allow_24=True),
        "holidays": holiday_country,
    },
    "daemon": {
        "rescan_seconds": integer(1, 600),  # a rescan also catches a resume: keep it short
        "retry_base_seconds": integer(1, 86400),
        "retry_max_seconds": integer(1, 7 * 86400),
        "log_level": choice(LOG_LEVELS),
        "lease_seconds": integer(3, 3600),
    },
    "notify.desktop": {"enabled": boolean},
    "notify.email": {
        "enabled": boolean,
        "to": text(pattern=EMAIL_RE, what="an email address"),
        "from": text(pattern=EMAIL_RE, what="an email address"),
        "host": text(253),
        "port": integer(1, 65535),
        "security": choice(SECURITY),
        "username": text(),
        "auth": choice(AUTH),
        "oauth2_command": argv_list,
    },
    "notify.command": {"enabled": boolean, "argv": argv_list},
    "notify.apprise": {"enabled": boolean, "config": path_text, "tag": text(200)},
    "me": {"name": text(200), "language": choice(LANGUAGES), "addresses": address_list},
    "calendar": {
        "files": path_list,
        "feeds": url_list,
        "caldav": web_url,
        "username": text(),
        "match": word_list,
        "exclude": excluded_words,
        "poll_seconds": integer(1, 86400),
        "export": file_path,
        "export_caldav": web_url,
    },
    "mailbox": {
        "enabled": boolean,
        "host": text(253),
        "port": integer(1, 65535),
        "security": choice(SECURITY),
        "username": text(),
        "inbox": folder_list,
        "sent": text(1000),
        "lookback_days": integer(1, 3650),
        "poll_seconds": integer(1, 86400),
        "auth": choice(AUTH),
        "oauth2_command": argv_list,
        "drafts": boolean,
        "drafts_folder": text(1000),
    },
}


def holiday_code_known(code: str) -> bool:
    import holidays

    country, _, region = code.partition("-")
    supported = holidays.list_supported_countries()
    return country in supported and (not region or region in supported[country])
