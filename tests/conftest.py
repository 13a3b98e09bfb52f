"""Shared fixtures: a throwaway HOME and a real, throwaway PostgreSQL server.

Self-contained on purpose (stdlib, pytest and psycopg only) so it works before the library does.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql

PG_USER = "labelkit"  # the cluster's superuser (initdb -U)
PG_HOST = "127.0.0.1"
PG_TOOLS = ("initdb", "pg_ctl", "postgres")


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point HOME at a temporary folder for the whole session, so nothing writes to the real one."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        yield home


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    data_dir: Path
    log_file: Path

    @property
    def base_url(self) -> str:
        """SQLAlchemy URL of the server, without a database name."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}"

    def url(self, dbname: str) -> str:
        """SQLAlchemy URL of one database on this server."""
        return f"{self.base_url}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        """psycopg connection string of one database on this server."""
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _version_key(bindir: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/15/bin -> (15,); sort numerically so 10 beats 9.6.
    version = Path(bindir).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version))


def _find_pg_bindir() -> Path | None:
    """Directory holding initdb, pg_ctl and postgres: newest Debian install first, then PATH."""
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        if all(os.access(Path(bindir, tool), os.X_OK) for tool in PG_TOOLS):
            return Path(bindir)
    found = [shutil.which(tool) for tool in PG_TOOLS]
    if all(found):
        return Path(found[0]).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((PG_HOST, 0))
        return sock.getsockname()[1]


def _postgres_os_user() -> str | None:
    """The user to run the server as: `postgres` when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        # The Debian package creates it; a bare install (e.g. binaries on PATH) may not have.
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return "postgres"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL cluster for the session; stop and delete it afterwards."""
    bindir = _find_pg_bindir()
    if bindir is None:
        message = (
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under "
            "/usr/lib/postgresql/*/bin or on PATH; run `scripts/setup.sh --test` "
            "(installs the Debian `postgresql` package)."
        )
        if _ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)

    os_user = _postgres_os_user()
    tmp = Path(tempfile.mkdtemp(prefix="labelkit-pg-"))
    data_dir, socket_dir, log_file = tmp / "data", tmp / "socket", tmp / "postgres.log"
    socket_dir.mkdir()
    if os_user is not None:
        for path in (tmp, socket_dir):
            shutil.chown(path, user=os_user, group=pwd.getpwnam(os_user).pw_gid)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(bindir / args[0]), *args[1:]]
        if os_user is not None:
            cmd = ["runuser", "-u", os_user, "--", *cmd]
        # cwd=tmp: the postgres user may not be allowed into the current directory.
        return subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, check=False)

    def fail(what: str, result: subprocess.CompletedProcess[str]) -> NoReturn:
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.fail(
            f"{what} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}\n{log}",
            pytrace=False,
        )

    # --no-sync: a throwaway cluster does not need to survive a power cut; initdb gets faster.
    initdb = ("initdb", "-D", str(data_dir), "--auth=trust", "-U", PG_USER, "--encoding=UTF8")
    result = run(*initdb, "--no-sync", "--locale=C.UTF-8")
    if result.returncode != 0:  # C.UTF-8 is missing on some systems
        shutil.rmtree(data_dir, ignore_errors=True)
        result = run(*initdb, "--no-sync", "--no-locale")
        if result.returncode != 0:
            fail("initdb", result)

    # The free port may be taken between finding and binding it: try a few times.
    for _attempt in range(3):
        port = _free_port()
        options = (
            f"-c listen_addresses={PG_HOST} -p {port} -k {socket_dir} "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        pg_ctl = ("pg_ctl", "-D", str(data_dir), "-o", options, "-w", "-t", "60")
        result = run(*pg_ctl, "-l", str(log_file), "start")
        if result.returncode == 0:
            break
    else:
        fail("pg_ctl start", result)

    try:
        yield PostgresServer(PG_HOST, port, PG_USER, data_dir, log_file)
    finally:
        if run("pg_ctl", "-D", str(data_dir), "-m", "fast", "-w", "stop").returncode != 0:
            _kill_postmaster(data_dir)
        shutil.rmtree(tmp, ignore_errors=True)


def _kill_postmaster(data_dir: Path) -> None:
    """Last resort when pg_ctl stop fails: SIGQUIT the postmaster (immediate shutdown)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGQUIT)
    except (OSError, ValueError, IndexError):
        pass


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database for this test; yields its SQLAlchemy URL and drops it after."""
    # Named after the test to ease debugging; identifiers are limited to 63 bytes.
    slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:40]
    dbname = f"t_{slug}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        yield postgres_server.url(dbname)
    finally:
        # FORCE: a test that leaks a connection (e.g. an undisposed engine) must not block this.
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str | None:
    """Run a test on each backend: None = the default embedded SQLite file, else a Postgres URL."""
    if request.param == "sqlite":
        return None
    # Requested lazily so SQLite-only runs (-m "not postgres") never start the server.
    return request.getfixturevalue("postgres_url")
