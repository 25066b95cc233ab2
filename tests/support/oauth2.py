"""OAuth2 for the tests: the token helper a user would run, and the server's side.

`TokenHelper` writes a tiny token command (a shell script, as pizauth or oama
would be) that prints the token kept in a file and counts how often it was
asked; `failing()` and `hanging()` make commands that print a token and then
exit 3, or hang. `TokenInfo` is the provider's token-info endpoint on
127.0.0.1 that Dovecot's oauth2 passdb asks (GET ...?access_token=TOKEN); the
test grants and revokes tokens, and the SMTP server's XOAUTH2 checks the same
grants.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest


def new_token() -> str:
    """A token no other test has: tests share one endpoint."""
    return f"ya29.test-{secrets.token_urlsafe(24)}"


@dataclass
class TokenHelper:
    """A token command in `folder`: `argv` runs it; `give(token)` sets what it prints."""

    folder: Path

    def __post_init__(self) -> None:
        self.token_file = self.folder / "token"
        self.asked_file = self.folder / "asked"
        self.script = self._script("token-helper", "")

    @property
    def argv(self) -> list[str]:
        return [str(self.script), "show", "work"]

    def give(self, token: str) -> None:
        self.token_file.write_text(token + "\n")

    @property
    def asked(self) -> int:
        """How many times the command ran."""
        return len(self.asked_file.read_text().splitlines()) if self.asked_file.exists() else 0

    def failing(self, status: int = 3) -> list[str]:
        """A command that prints the token and then fails with `status`."""
        return [str(self._script("failing-helper", f"exit {status}\n"))]

    def hanging(self) -> list[str]:
        """A command that prints the token and then never ends (a child sleeps on)."""
        return [str(self._script("hanging-helper", "sleep 3600\n"))]

    def _script(self, name: str, tail: str) -> Path:
        path = self.folder / name
        path.write_text(f'#!/bin/sh\necho asked >> "{self.asked_file}"\n'
                        f'cat "{self.token_file}"\n{tail}')
        path.chmod(0o755)
        return path


class TokenInfo:
    """The provider's token-info endpoint: 200 with the account's email for a token
    granted, 401 for any other. Counts the questions it was asked."""

    def __init__(self) -> None:
        self.granted: dict[str, str] = {}  # token -> the account it signs in
        self.asked = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """What Dovecot appends the token to."""
        return f"http://127.0.0.1:{self.server.server_port}/tokeninfo?access_token="

    def grant(self, token: str, account: str) -> None:
        with self.lock:
            self.granted[token] = account

    def revoke(self, token: str) -> None:
        """The token expired: the provider refuses it from now on."""
        with self.lock:
            self.granted.pop(token, None)

    def account(self, token: str) -> str | None:
        with self.lock:
            self.asked += 1
            return self.granted.get(token)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        info = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                token = parse_qs(urlparse(self.path).query).get("access_token", [""])[0]
                account = info.account(token)
                if account is None:
                    self._answer(401, {"error": "invalid_token"})
                else:
                    self._answer(200, {"email": account, "expires_in": 3599})

            def _answer(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:  # the URL holds the token: keep quiet
                pass

        return Handler


@pytest.fixture(scope="session")
def token_info() -> Iterator[TokenInfo]:
    endpoint = TokenInfo()
    yield endpoint
    endpoint.close()


@pytest.fixture
def token_helper(tmp_path) -> TokenHelper:
    folder = tmp_path / "token-helper"
    folder.mkdir()
    return TokenHelper(folder)
