"""Calendars over the network: iCalendar feeds over HTTP, and CalDAV collections.

A feed is fetched with a conditional request (If-None-Match / If-Modified-Since
from the last answer), so an unchanged feed costs one short 304. A CalDAV
collection is read with its sync token (RFC 6578): only what changed comes
back. Either has one total deadline (DEADLINE): every request starts before it
and waits at most the time left, and every answer's body is read a chunk at a
time, given up once it passed, so a server trickling bytes, or answering each of
many requests just in time, holds a fetch at most one read's timeout longer (an
answer's headers are read with that timeout alone). Errors
become CalendarError, one line without the password, and without the secret
part of a feed's address (Google's "secret address" is a password).
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from followup.sources.calendar.export import CALENDAR_NAME
from followup.sources.calendar.io import MAX_BYTES, TIMEOUT, CalendarError

USER_AGENT = "followup (+https://github.com/followup)"
DEADLINE = 120.0  # seconds for a whole fetch: a server trickling bytes cannot hold it longer
CHUNK = 64 * 1024


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


class _SameHost(urllib.request.HTTPRedirectHandler):
    """Redirects are followed only to http(s) on the same host: a feed from a
    stranger cannot send us to a local service or another scheme."""

    def http_error_302(self, req, fp, code, msg, headers):
        from urllib.parse import urljoin

        old = urlsplit(req.full_url)
        new = urlsplit(urljoin(req.full_url, headers.get("Location", "")))
        if new.scheme not in ("http", "https") or new.hostname != old.hostname:
            raise CalendarError(f"{shown_url(req.full_url)} redirected elsewhere "
                                f"({new.scheme or '?'}://{new.hostname or '?'}): not followed")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def fetch(url: str, login: tuple[str, str] | None = None,
          validators: Validators = Validators(), deadline: float = DEADLINE) -> Fetched:
    """GET a feed, conditionally when validators are given, all within `deadline`
    seconds. Raises CalendarError."""
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    handlers: list[Any] = [_SameHost()]
    if login is not None:
        # Sent with the first request, but only to this address: a redirect elsewhere
        # does not carry the password along (a header set by hand would).
        manager = urllib.request.HTTPPasswordMgrWithPriorAuth()
        manager.add_password(None, url, login[0], login[1], is_authenticated=True)
        handlers.append(urllib.request.HTTPBasicAuthHandler(manager))
    request = urllib.request.Request(url, headers=headers)
    until = time.monotonic() + deadline
    try:
        opener = urllib.request.build_opener(*handlers)
        with opener.open(request, timeout=min(TIMEOUT, deadline)) as answer:
            read = answer.read1 if hasattr(answer, "read1") else answer.read
            data = _read(lambda: read(CHUNK), until,
                         f"{shown_url(url)} took too long to send the calendar")
            got = Validators(answer.headers.get("ETag", ""),
                             answer.headers.get("Last-Modified", ""))
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return Fetched(None, validators)
        raise CalendarError(f"{shown_url(url)} answered {error.code} "
                            f"{_scrubbed(str(error.reason))}") from None
    except http.client.HTTPException as error:  # its text quotes the server's bytes
        raise CalendarError(f"cannot read {shown_url(url)}: a broken answer "
                            f"({type(error).__name__})") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise CalendarError(f"cannot reach {shown_url(url)}: "
                            f"{_scrubbed(str(reason)) or type(error).__name__}") from None
    if len(data) > MAX_BYTES:
        raise CalendarError(f"{shown_url(url)} is larger than {MAX_BYTES // 2**20} MB")
    return Fetched(data, got)


def _read(read: Callable[[], bytes], until: float, late: str) -> bytes:
    """A body, at most MAX_BYTES + 1 of it, read a chunk at a time by `read`; past the
    deadline `until`, CalendarError(`late`)."""
    parts, size = [], 0
    while size <= MAX_BYTES:
        if time.monotonic() > until:
            raise CalendarError(late)
        part = read()
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _scrubbed(text: str) -> str:
    """An error's text without URLs' paths or logins, quoted values, or control
    characters: one short line."""
    text = re.sub(r"[a-z][a-z0-9+.-]*://\S+", lambda m: shown_url(m.group(0).rstrip("'\">)")),
                  text)
    text = re.sub(r"'[^']*'", "'…'", text)
    return " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", text).split())[:200]


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
    daemon keeps no thread waking. Everything the block asks of the server is done
    within `deadline` seconds (DEADLINE unless given) from its start, as a feed's
    fetch is. Every method raises CalendarError."""

    def __init__(self, url: str, username: str = "", password: str | None = None,
                 deadline: float | None = None) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.username, self.password = username, password
        self.deadline = deadline
        self.client: Any = None

    def __enter__(self) -> CalDAV:
        import caldav

        login = {"username": self.username, "password": self.password or "",
                 "auth_type": "basic"} if self.username else {}
        deadline = DEADLINE if self.deadline is None else self.deadline
        until = time.monotonic() + deadline
        with _dav_errors(self.url):
            self.client = caldav.DAVClient(url=self.url, timeout=TIMEOUT, **login)
        session = self.client.session  # its one method the client calls, bounded
        session.request = _Bounded(session.request, until, deadline,
                                   f"CalDAV {shown_url(self.url)}")
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


class _Bounded:
    """A CalDAV session's `request`, within the session's one deadline `until`: each
    request starts before it and waits at most the time left (and TIMEOUT), and its
    answer is read a chunk at a time, given up once the deadline passed (as a
    feed's answer is), MAX_BYTES at most. Raises CalendarError."""

    def __init__(self, request: Callable[..., Any], until: float, deadline: float,
                 where: str) -> None:
        self.request, self.until, self.where = request, until, where
        self.late = f"{where} took too long to answer (more than {deadline:g} s)"

    def __call__(self, method: str, url: str, **options: Any) -> Any:
        left = self.until - time.monotonic()
        if left <= 0:
            raise CalendarError(self.late)
        options["timeout"] = min(options.get("timeout") or TIMEOUT, left)
        options["stream"] = True
        try:
            answer = self.request(method, url, **options)
            try:
                body = _read(lambda: answer.raw.read1(CHUNK, decode_content=True),
                             self.until, self.late)
            except BaseException:
                answer.close()
                raise
        except CalendarError:
            raise
        except Exception:  # a timeout shortened to the time left, most likely
            if time.monotonic() >= self.until:
                raise CalendarError(self.late) from None
            raise
        if len(body) > MAX_BYTES:
            answer.close()
            raise CalendarError(f"{self.where} sent more than {MAX_BYTES // 2**20} MB")
        # What `answer.content` gives (requests' own cache of a read body): the client
        # reads it there. Read whole, the connection goes back to the pool.
        answer._content, answer._content_consumed = body, True
        answer.close()
        return answer


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
