"""A real IMAP server for the tests: Dovecot from Debian, private to the test run.

`dovecot -F -c CONF` runs in the foreground with its own configuration in a
temporary folder: listening on 127.0.0.1 on a free port, no TLS, one
passwd-file user with a maildir: INBOX, `\\Sent` and `\\Drafts`. Debian 12 ships
Dovecot 2.3 and Debian 13 ships 2.4, whose configuration syntax differs: the
fixture writes the one `dovecot --version` asks for. Messages are put in with
IMAP APPEND, as a mail client would.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

USER = "jo@example.org"
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dovecot_version() -> tuple[int, int]:
    out = subprocess.run(["dovecot", "--version"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    major, minor = out.split()[0].split(".")[:2]
    return int(major), int(minor)


def _mail_user() -> tuple[int, int]:
    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    entry = pwd.getpwnam("dovecot")  # Dovecot refuses to give mail to uid 0
    return entry.pw_uid, entry.pw_gid


CONFIG_23 = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = followup-test-{port}
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login{mechanisms}
log_path = {root}/dovecot.log
{users}
{oauth2}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = create
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""

CONFIG_24 = """\
dovecot_config_version = {version}
dovecot_storage_version = {version}
base_dir = {root}/run
state_dir = {root}/state
instance_name = followup-test-{port}
listen = 127.0.0.1
protocols = imap
ssl = no
auth_allow_cleartext = yes
auth_mechanisms = plain login{mechanisms}
log_path = {root}/dovecot.log
{users}
{oauth2}passdb passwd-file {{
  passwd_file_path = {root}/passwd
}}
userdb static {{
  fields {{
    uid = {uid}
    gid = {gid}
    home = {root}/home/%{{user}}
  }}
}}
mail_driver = maildir
mail_path = ~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = create
  }}
}}
service imap-login {{
  inet_listener imap {{
    listen = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


# OAuth2 (SASL XOAUTH2 and OAUTHBEARER): each token is checked against a token-info
# endpoint, asked again at every login (no cache). 2.3 does it in a passdb of its own,
# beside the passwd-file one that the tests' own logins use; 2.4 in an `oauth2 { }`
# block without a passdb (written from its documentation: not run on Debian 12).
OAUTH2_23 = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf
}}
"""

OAUTH2_24 = """\
oauth2 {{
  oauth2_tokeninfo_url = {url}
  oauth2_username_attribute = email
}}
"""


class Dovecot:
    """One private Dovecot. `start()` / `stop()` may be called again (same port).

    With `tokeninfo_url` it also takes OAuth2 logins, their tokens checked there.
    """

    def __init__(self, port: int | None = None, tokeninfo_url: str | None = None) -> None:
        self.port = port or free_port()
        self.tokeninfo_url = tokeninfo_url
        # Outside pytest's 0700 folders: the mail user (not root) must reach its home.
        self.root = Path(tempfile.mkdtemp(prefix="followup-dovecot-"))
        self.root.chmod(0o755)
        self.process: subprocess.Popen | None = None
        self.config = self.root / "dovecot.conf"
        self._write_config()

    def _write_config(self) -> None:
        uid, gid = _mail_user()
        for name in ("run", "state", "home"):
            (self.root / name).mkdir(exist_ok=True)
        os.chown(self.root / "home", uid, gid)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        users = ""
        if os.getuid() == 0:
            users = "default_internal_user = dovecot\ndefault_login_user = dovenull"
        users += f"\nfirst_valid_uid = {uid}\nfirst_valid_gid = {gid}"
        major, minor = dovecot_version()
        template = CONFIG_24 if (major, minor) >= (2, 4) else CONFIG_23
        mechanisms = oauth2 = ""
        if self.tokeninfo_url:
            mechanisms = " xoauth2 oauthbearer"
            oauth2 = (OAUTH2_24 if (major, minor) >= (2, 4) else OAUTH2_23).format(
                root=self.root, url=self.tokeninfo_url)
            if (major, minor) < (2, 4):  # 2.3's oauth2 passdb reads its own file
                (self.root / "oauth2.conf").write_text(
                    f"tokeninfo_url = {self.tokeninfo_url}\nusername_attribute = email\n")
        self.config.write_text(template.format(
            root=self.root, port=self.port, uid=uid, gid=gid, users=users,
            version=f"{major}.{minor}.0", mechanisms=mechanisms, oauth2=oauth2))

    def start(self, timeout: float = 30) -> None:
        log = (self.root / "stderr.log").open("ab")
        self.process = subprocess.Popen(["dovecot", "-F", "-c", str(self.config)],
                                        stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.logs()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"dovecot did not answer in {timeout} s: {self.logs()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def logs(self) -> str:
        parts = [self.root / "stderr.log", self.root / "dovecot.log"]
        return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())

    # --- as a mail client would ------------------------------------------------------------

    def client(self):
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=30)
        client.login(USER, PASSWORD)
        return client

    def append(self, folder: str, message: bytes, seen: bool = False) -> None:
        with self.client() as client:
            client.append(folder, message, flags=[b"\\Seen"] if seen else [])

    def reset(self) -> None:
        """Empty every folder (a new test starts from an empty mailbox)."""
        with self.client() as client:
            for folder in ("INBOX", "Sent", "Drafts"):
                client.select_folder(folder)
                uids = client.search("ALL")
                if uids:
                    client.delete_messages(uids)
                    client.expunge()
                client.unselect_folder()

    def recreate_sent(self) -> int:
        """Delete and create the Sent folder: a new UIDVALIDITY. Returns it."""
        with self.client() as client:
            old = client.folder_status("Sent", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
            client.delete_folder("Sent")
            client.create_folder("Sent")
            new = client.folder_status("Sent", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
            while new == old:  # the same second: Dovecot's validity is time based
                time.sleep(0.2)
                client.delete_folder("Sent")
                client.create_folder("Sent")
                new = client.folder_status("Sent", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
            return new

    def flags(self, folder: str) -> dict[int, tuple[bytes, ...]]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            found = client.get_flags(client.search("ALL"))
            return {uid: tuple(sorted(flags)) for uid, flags in found.items()}


def mailbox_section(port: int) -> str:
    """The configuration of a mailbox watch on the test server, logged in as USER."""
    return f"""
[me]
addresses = ["{USER}"]
[mailbox]
enabled = true
host = "127.0.0.1"
port = {port}
security = "none"
username = "{USER}"
"""


def message(sender: str, to: str, subject: str, date: datetime, *,
            message_id: str | None = None, headers: dict[str, str] | None = None,
            body: str = "Thank you for your time.") -> bytes:
    """A plain RFC 5322 message with these headers, as bytes for APPEND."""
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}",
             f"Date: {format_datetime(date)}",
             f"Message-ID: {message_id or make_msgid(domain='test.example')}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\r\n".join(lines).encode()


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    """One Dovecot for the whole session; tests empty it with `imap` below."""
    if shutil.which("dovecot") is None:
        pytest.skip("dovecot is not installed (Debian: dovecot-imapd)")
    server = Dovecot()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def imap(dovecot_server: Dovecot) -> Dovecot:
    """The session's Dovecot, with empty folders."""
    dovecot_server.reset()
    return dovecot_server


@pytest.fixture(scope="session")
def oauth2_dovecot_server(token_info) -> Iterator[Dovecot]:
    """One Dovecot taking OAuth2 logins, checked against the session's `token_info`.
    Never refuse a login on it (a refusal slows the next logins): use `lone_dovecot`."""
    if shutil.which("dovecot") is None:
        pytest.skip("dovecot is not installed (Debian: dovecot-imapd)")
    server = Dovecot(tokeninfo_url=token_info.url)
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def oauth2_imap(oauth2_dovecot_server: Dovecot) -> Dovecot:
    """The session's OAuth2 Dovecot, with empty folders."""
    oauth2_dovecot_server.reset()
    return oauth2_dovecot_server


@pytest.fixture
def lone_dovecot(token_info) -> Iterator[Dovecot]:
    """A Dovecot taking OAuth2 logins for this test alone: after a refused login,
    Dovecot slows the next ones from the same address (measured: 2 s, then 4, 6, 8)."""
    if shutil.which("dovecot") is None:
        pytest.skip("dovecot is not installed (Debian: dovecot-imapd)")
    server = Dovecot(tokeninfo_url=token_info.url)
    server.start()
    yield server
    server.cleanup()


def oauth2_mailbox_section(port: int, command: list[str]) -> str:
    """A mailbox watch on the test server signing in as USER with a token command."""
    return mailbox_section(port) + f'auth = "oauth2"\noauth2_command = {json.dumps(command)}\n'
