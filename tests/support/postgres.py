"""A real PostgreSQL server for the tests: Debian's, started once per session.

`initdb` into a temporary folder owned by the `postgres` user (initdb and
pg_ctl refuse to run as root, so as root they run through `runuser`), then
`pg_ctl start` on 127.0.0.1 and a free port, with its socket in the data
folder and fsync off. Local (socket) logins are trusted, for the tests' own
administration; TCP logins need a password, which followup finds, as every
libpq program does, in the `.pgpass` of the test's home.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path

import pytest

ROLE = "followup"
PASSWORD = "s3cret-only-in-pgpass"
TIMEOUT = 60


def binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps them per version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One server: a data folder, a port on 127.0.0.1, a role with a password."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="followup-pg-"))
        self.data = self.folder / "data"
        self.names = count(1)

    # --- running as the postgres user ---------------------------------------------------

    def _as_postgres(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *argv], capture_output=True, text=True,
                              timeout=TIMEOUT, stdin=subprocess.DEVNULL, cwd="/")
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {done.stderr or done.stdout}")
        return done

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                          "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync",
                          "-E", "UTF8", "--locale=C")

    def start(self) -> None:
        options = (f"-h {self.host} -p {self.port} -k {self.data} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                          "-l", str(self.data / "server.log"), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode,
                          "-w", "-t", "30", "stop", check=False)

    def restart(self) -> None:
        """Stop (dropping every connection) and start again on the same port."""
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- administration over the local socket ---------------------------------------------

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host=str(self.data), port=self.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)

    def create_role(self) -> None:
        self.admin(f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{PASSWORD}'")

    def create_database(self) -> str:
        """A new empty database owned by the role; returns its name."""
        name = f"t{next(self.names)}"
        self.admin(f"CREATE DATABASE {name} OWNER {ROLE}")
        return name

    def url(self, database: str) -> str:
        """The URL followup is given: no password in it (that is in .pgpass)."""
        return f"postgresql+psycopg://{ROLE}@{self.host}:{self.port}/{database}"

    def pgpass_line(self) -> str:
        return f"{self.host}:{self.port}:*:{ROLE}:{PASSWORD}\n"


def write_pgpass(home: Path, server: PostgresServer) -> None:
    """The password where libpq looks for it: ~/.pgpass, private to the user."""
    path = home / ".pgpass"
    path.write_text(server.pgpass_line())
    path.chmod(0o600)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = binaries()
    if bin_dir is None:
        message = "PostgreSQL is not installed (Debian: apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer(bin_dir)
    try:
        server.init()
        server.start()
        server.create_role()
        yield server
    finally:
        server.remove()


@pytest.fixture
def postgres_url(postgres_server, private_home) -> Callable[[], str]:
    """Make a fresh database on the session's server; its URL has no password, the
    test's ~/.pgpass has it (in $HOME as it is then: a user manager has its own)."""

    def make() -> str:
        write_pgpass(Path(os.environ["HOME"]), postgres_server)
        return postgres_server.url(postgres_server.create_database())

    return make


@pytest.fixture
def database_url(request, tmp_path) -> Callable[[], str]:
    """Make a fresh database of the engine the test is parametrized with (`engine`,
    indirectly: "sqlite" by default, or "postgresql")."""
    engine = getattr(request, "param", "sqlite")
    if engine == "postgresql":
        return request.getfixturevalue("postgres_url")
    made = count(1)
    return lambda: f"sqlite:///{tmp_path / 'databases' / f'followup-{next(made)}.db'}"
