"""Real calendar servers for tests: Radicale (CalDAV) and a small HTTP feed server.

Radicale runs once per session on 127.0.0.1 with a temporary storage folder
and a plain htpasswd file (user `jo`, password `secret`), so a test proves
that the password from the keyring reached the server. Each test gets its own
calendar collection. The feed server serves one iCalendar body per path,
answers conditional requests with 304, and records every request's headers.
`SlowDAV` stands in front of Radicale and answers late, or a byte at a time.
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

import pytest

USER, PASSWORD = "jo", "secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Radicale:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        users = folder / "users"
        users.write_text(f"{USER}:{PASSWORD}\n")
        self.log = (folder / "radicale.log").open("w")
        radicale = shutil.which("radicale", path=str(Path(sys.executable).parent)) or "radicale"
        self.process = subprocess.Popen(
            [radicale, "--config", "", "--server-hosts", f"127.0.0.1:{self.port}",
             "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(users),
             "--auth-htpasswd-encryption", "plain",
             "--storage-filesystem-folder", str(folder / "storage")],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"radicale exited: {(self.folder / 'radicale.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("radicale did not answer within 30 s")

    def client(self):
        import caldav

        return caldav.DAVClient(url=self.base, username=USER, password=PASSWORD,
                                auth_type="basic", timeout=30)

    def new_calendar(self) -> str:
        """A fresh, empty calendar collection; its URL."""
        url = f"{self.base}/{USER}/{uuid.uuid4().hex[:12]}/"
        answer = self.client().request(url, "MKCALENDAR", "")
        assert answer.status == 201, answer.status
        return url

    def put(self, collection: str, name: str, text: str) -> None:
        answer = self.client().put(collection + name, text,
                                   {"Content-Type": "text/calendar; charset=utf-8"})
        assert answer.status in (201, 204), answer.status

    def delete(self, collection: str, name: str) -> None:
        assert self.client().delete(collection + name).status in (200, 204)

    def objects(self, collection: str) -> dict[str, str]:
        """Every object in a collection: name -> iCalendar text."""
        calendar = self.client().calendar(url=collection)
        return {str(o.url).rsplit("/", 1)[1]: o.data for o in calendar.events()}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


@pytest.fixture(scope="session")
def radicale(tmp_path_factory) -> Iterator[Radicale]:
    server = Radicale(tmp_path_factory.mktemp("radicale"))
    yield server
    server.stop()


class FeedServer:
    """Serves `bodies[path]` with an ETag and Last-Modified; records request headers."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.status: int | None = None  # answer every request with this instead
        self.login: tuple[str, str] | None = None  # require HTTP basic auth
        self.redirects: dict[str, str] = {}  # path -> where to send the client (302)
        self.raw: dict[str, bytes] = {}  # path -> bytes written as the whole answer
        self.trickle: set[str] = set()  # paths whose body comes a byte at a time, slowly
        self.lock = threading.Lock()
        feeds = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feeds.handle(self)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.requests.append((request.path, dict(request.headers)))
            body = self.bodies.get(request.path)
            status = self.status
        if status is not None:
            return self._answer(request, status, b"")
        if request.path in self.raw:
            request.wfile.write(self.raw[request.path])
            request.close_connection = True
            return None
        if request.path in self.trickle:
            return self._trickle(request, body or b"")
        if request.path in self.redirects:
            return self._answer(request, 302, b"", {"Location": self.redirects[request.path]})
        if self.login is not None and not _authorized(request, self.login):
            return self._answer(request, 401, b"", {"WWW-Authenticate": 'Basic realm="feed"'})
        if body is None:
            return self._answer(request, 404, b"")
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return self._answer(request, 304, b"", {"ETag": etag})
        self._answer(request, 200, body, {"ETag": etag, "Content-Type": "text/calendar",
                                          "Last-Modified": formatdate(usegmt=True)})

    @staticmethod
    def _answer(request, status: int, body: bytes, headers: dict | None = None) -> None:
        request.send_response(status)
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    @staticmethod
    def _trickle(request, body: bytes) -> None:
        """A server that never quite finishes: a byte every 0.2 s (a slow server is
        what is simulated here; the client's deadline is what the test waits for)."""
        request.send_response(200)
        request.send_header("Content-Length", str(len(body) * 100))
        request.end_headers()
        try:
            for _ in range(len(body) * 100):
                request.wfile.write(b" ")
                request.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass

    def seen(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [headers for p, headers in self.requests if p == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SlowDAV:
    """A CalDAV server that answers slowly: each request goes on to `target` (Radicale)
    and its answer comes back whole after `delay` seconds, or, with `trickle`, a byte
    every 0.2 s. `methods` records what the client asked, `open` how many connections
    are being answered now. `stop` ends every answer under way."""

    def __init__(self, target: str) -> None:
        self.target = urlsplit(target)
        self.delay = 0.0
        self.trickle = False
        self.methods: list[str] = []
        self.open = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        slow = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_one_request(self) -> None:
                with slow.lock:
                    slow.open += 1
                try:
                    super().handle_one_request()
                finally:
                    with slow.lock:
                        slow.open -= 1

            def answer(self) -> None:
                slow.handle(self)

            do_GET = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = do_MKCALENDAR = answer

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, collection: str) -> str:
        """`collection` (a URL on the target) through this server."""
        return f"http://127.0.0.1:{self.server.server_port}{urlsplit(collection).path}"

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.methods.append(request.command)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else None
        headers = {name: value for name, value in request.headers.items()
                   if name.lower() not in ("host", "connection", "accept-encoding")}
        upstream = http.client.HTTPConnection(self.target.hostname, self.target.port,
                                              timeout=30)
        try:
            upstream.request(request.command, request.path, body, headers)
            answer = upstream.getresponse()
            status, reason, data = answer.status, answer.reason, answer.read()
            kept = [(n, v) for n, v in answer.getheaders()
                    if n.lower() not in ("connection", "transfer-encoding", "content-length")]
        finally:
            upstream.close()
        if self.delay and self.stopping.wait(self.delay):
            return
        request.send_response(status, reason)
        for name, value in kept:
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.send_header("Connection", "close")
        request.end_headers()
        request.close_connection = True
        try:
            if not self.trickle:
                request.wfile.write(data)
                return
            for byte in data:
                request.wfile.write(bytes([byte]))
                request.wfile.flush()
                if self.stopping.wait(0.2):
                    return
        except OSError:
            pass

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_dav(radicale) -> Iterator[SlowDAV]:
    server = SlowDAV(radicale.base)
    yield server
    server.stop()


def _authorized(request, login: tuple[str, str]) -> bool:
    import base64

    expected = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode()
    return request.headers.get("Authorization") == f"Basic {expected}"


@pytest.fixture(scope="session")
def feeds() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.stop()


def vcalendar(*events: str, extra: str = "") -> str:
    """A minimal calendar around VEVENT texts (CRLF line ends, as servers send)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//followup tests//EN", *filter(None, [
        extra]), *events, "END:VCALENDAR"]
    return "\r\n".join("\r\n".join(lines).splitlines()) + "\r\n"


def vevent(uid: str, summary: str, start: str, organizer: str = "dana@acme.example",
           status: str = "CONFIRMED") -> str:
    """A VEVENT; `start` as iCalendar UTC (20261203T090000Z)."""
    return "\n".join([
        "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261201T080000Z", f"DTSTART:{start}",
        f"SUMMARY:{summary}", f"ORGANIZER;CN=Dana Smith:mailto:{organizer}",
        f"STATUS:{status}", "END:VEVENT"])
