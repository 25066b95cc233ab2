"""Calendars over the network: iCalendar feeds over HTTP, and CalDAV collections.

A feed is fetched with a conditional request (If-None-Match / If-Modified-Since
from the last answer), so an unchanged feed costs one short 304. A CalDAV
collection is read with its sync token (RFC 6578): only what changed comes
back. Errors become CalendarError, one line without the password, and without
the secret part of a feed's address (Google's "secret address" is a password).
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from followup.sources.calendar.export import CALENDAR_NAME
from followup.sources.calendar.io import MAX_BYTES, TIMEOUT, CalendarError

USER_AGENT = "followup (+https://github.com/followup)"


def shown_url(url: str) -> str:
    """A URL as logs and messages show it: scheme and host only (the path may be a secret)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


# --- feeds -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Validators:
    """What the server said about the version we have (ETag, Last-Modified)."""

    etag: str = ""
    last_modified: str = ""


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes | None  # None: not modified since `validators`
    validators: Validators


def fetch(url: str, login: tuple[str, str] | None = None,
          validators: Validators = Validators()) -> Fetched:
    """GET a feed, conditionally when validators are given. Raises CalendarError."""
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    handlers = []
    if login is not None:
        # Sent with the first request, but only to this address: a redirect elsewhere
        # does not carry the password along (a header set by hand would).
        manager = urllib.request.HTTPPasswordMgrWithPriorAuth()
        manager.add_password(None, url, login[0], login[1], is_authenticated=True)
        handlers.append(urllib.request.HTTPBasicAuthHandler(manager))
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=TIMEOUT) as answer:
            data = answer.read(MAX_BYTES + 1)
            got = Validators(answer.headers.get("ETag", ""),
                             answer.headers.get("Last-Modified", ""))
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return Fetched(None, validators)
        raise CalendarError(f"{shown_url(url)} answered {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise CalendarError(f"cannot reach {shown_url(url)}: {reason}") from None
    if len(data) > MAX_BYTES:
        raise CalendarError(f"{shown_url(url)} is larger than {MAX_BYTES // 2**20} MB")
    return Fetched(data, got)


# --- CalDAV ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed in a collection since a sync token: objects (href, data) and deleted
    hrefs. `complete` when this is the whole collection (no token, or it expired)."""

    objects: list[tuple[str, bytes]]
    deleted: list[str]
    token: str
    complete: bool


class CalDAV:
    """One CalDAV collection, used in a `with` block: the HTTP session (and the
    keep-alive thread niquests runs for it) lives only that long, so an idle
    daemon keeps no thread waking. Every method raises CalendarError."""

    def __init__(self, url: str, username: str = "", password: str | None = None) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.username, self.password = username, password
        self.client: Any = None

    def __enter__(self) -> CalDAV:
        import caldav

        login = {"username": self.username, "password": self.password or "",
                 "auth_type": "basic"} if self.username else {}
        with _dav_errors(self.url):
            self.client = caldav.DAVClient(url=self.url, timeout=TIMEOUT, **login)
        return self

    def __exit__(self, *_exception) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.close()

    def changes(self, token: str | None) -> Changes:
        with _dav_errors(self.url):
            calendar = self.client.calendar(url=self.url)
            found = calendar.objects_by_sync_token(sync_token=token or None, load_objects=True)
            objects = [(str(o.url), _bytes(o.data)) for o in found if o.data is not None]
            deleted = [str(url) for url in found.deleted_urls]
            return Changes(objects, deleted, str(found.sync_token or ""), token is None)

    def ensure(self, name: str = CALENDAR_NAME) -> None:
        """Create the collection (a calendar named `name`) unless it exists."""
        with _dav_errors(self.url):
            client = self.client
            found = client.request(self.url, "PROPFIND", "", {"Depth": "0"})
            if found.status == 404:
                body = _MKCALENDAR.format(name=name)
                made = client.request(self.url, "MKCALENDAR", body,
                                      {"Content-Type": "application/xml; charset=utf-8"})
                if made.status not in (200, 201):
                    raise CalendarError(f"{shown_url(self.url)} refused to create the "
                                        f"calendar ({made.status})")

    def put(self, uid: str, data: bytes) -> None:
        with _dav_errors(self.url):
            done = self.client.put(self._object(uid), data.decode(),
                                      {"Content-Type": "text/calendar; charset=utf-8"})
            if done.status not in (200, 201, 204):
                raise CalendarError(f"{shown_url(self.url)} refused an event ({done.status})")

    def delete(self, uid: str) -> None:
        with _dav_errors(self.url):
            done = self.client.delete(self._object(uid))
            if done.status not in (200, 204, 404):
                raise CalendarError(f"{shown_url(self.url)} refused to delete an event "
                                    f"({done.status})")

    def _object(self, uid: str) -> str:
        return self.url + quote(uid, safe="") + ".ics"


_MKCALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <D:displayname>{name}</D:displayname>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>"""


def _bytes(data: Any) -> bytes:
    return data if isinstance(data, bytes) else str(data).encode()


@contextmanager
def _dav_errors(url: str) -> Iterator[None]:
    """Any failure of the CalDAV client (HTTP, XML, a refused login) becomes one line."""
    from caldav.lib.error import AuthorizationError

    try:
        yield
    except CalendarError:
        raise
    except AuthorizationError:
        raise CalendarError(f"CalDAV {shown_url(url)}: the server refused the login (check "
                            "[calendar] username and `followup password set calendar`)"
                            ) from None
    except Exception as error:
        first = (str(error).splitlines() or [""])[0][:200]
        first = re.sub(r"https?://\S+", lambda m: shown_url(m.group(0)), first)
        raise CalendarError(f"CalDAV {shown_url(url)}: {type(error).__name__}"
                            + (f": {first}" if first else "")) from None
