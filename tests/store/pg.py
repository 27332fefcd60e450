"""A real, throw-away PostgreSQL server on loopback for the store's tests and benchmark.

`initdb` into a temp dir, `pg_ctl start` on a free 127.0.0.1 port with its unix socket in
the same dir, stopped by the postmaster's pid. PostgreSQL refuses to run as root, so when
we are root the server runs as the `postgres` OS user (created with `useradd` if absent).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_USER = "postgres"


def pg_bindir() -> Path | None:
    """The newest installed /usr/lib/postgresql/<version>/bin, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _os_user() -> str | None:
    """The OS user to run the server as, or None to run as ourselves (not root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )
    return PG_USER


@dataclass
class PgServer:
    """A running server: connect as the `postgres` superuser over TCP on loopback."""

    port: int
    datadir: Path
    pid: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_schema(self, database: str = "postgres") -> str:
        """A URL whose search_path is a new empty schema: cheaper than a new database."""
        import psycopg

        name = "duty_" + uuid.uuid4().hex[:12]
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname={database}", autocommit=True
        ) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return f"{self.url(database)}?options=-csearch_path%3D{name}"

    def create_database(self, template: str | None = None) -> str:
        """A new empty database (or a copy of `template`, which is faster than migrating)."""
        import psycopg

        name = "duty_" + uuid.uuid4().hex[:12]
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)  # fast shutdown
        for _ in range(200):
            if not _alive(self.pid):
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def kill(self) -> None:
        """Take the server away abruptly (outage tests)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        for _ in range(200):
            if not _alive(self.pid):
                return
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def _as(user: str | None, argv: list[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else argv


@contextlib.contextmanager
def pg_server(durable: bool = False) -> Iterator[PgServer]:
    """Start a server for the duration of the `with` block.

    Tests run it with `fsync=off` (faster, nothing to keep); `durable` keeps PostgreSQL's
    defaults, so a benchmark's commits cost what they cost in production.
    """
    bindir = pg_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries not found under /usr/lib/postgresql")
    user = _os_user()
    base = Path(tempfile.mkdtemp(prefix="duty-pg-"))
    server: PgServer | None = None
    try:
        datadir = base / "data"
        if user:
            shutil.chown(base, user)
        subprocess.run(
            _as(
                user,
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(datadir),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ],
            ),
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
        )
        server = start(bindir, datadir, user, durable=durable)
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


def start(
    bindir: Path, datadir: Path, user: str | None, port: int | None = None, durable: bool = False
) -> PgServer:
    """Start (or restart) the server in `datadir`; returns it with the postmaster's pid."""
    last = ""
    for _ in range(5):
        chosen = port or _free_port()
        opts = f"-p {chosen} -k {datadir.parent} -c listen_addresses=127.0.0.1"
        if not durable:
            opts += " -c fsync=off -c full_page_writes=off"
        proc = subprocess.run(
            _as(
                user,
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(datadir),
                    "-o",
                    opts,
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(datadir.parent / "server.log"),
                    "start",
                ],
            ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=90,
        )
        if proc.returncode == 0:
            pid = int((datadir / "postmaster.pid").read_text().splitlines()[0])
            return PgServer(chosen, datadir, pid)
        last = proc.stderr + proc.stdout
        if port is not None:
            break
    log = datadir.parent / "server.log"
    raise RuntimeError(
        f"PostgreSQL did not start: {last}\n{log.read_text()[-2000:] if log.exists() else ''}"
    )


def stop_immediate(server: PgServer, timeout: float = 30.0) -> None:
    """`pg_ctl stop -m immediate`: the server quits at once without a checkpoint, as on a
    crash (every backend gone, recovery at the next start). Waits for the postmaster's
    pid to be gone; `restart` starts it again on its port."""
    bindir = pg_bindir()
    assert bindir is not None
    subprocess.run(
        _as(_os_user(), [str(bindir / "pg_ctl"), "-D", str(server.datadir), "-m", "immediate",
                         "-w", "-t", str(int(timeout)), "stop"]),
        check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout + 10,
    )
    deadline = time.monotonic() + timeout
    while _alive(server.pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def restart(server: PgServer) -> PgServer:
    """Start the server again on the same port after `kill`."""
    bindir = pg_bindir()
    assert bindir is not None
    sockdir = server.datadir.parent
    last: Exception | None = None
    for _ in range(20):  # backends orphaned by the kill exit on their own, shortly
        (server.datadir / "postmaster.pid").unlink(missing_ok=True)
        for stale in (f".s.PGSQL.{server.port}.lock", f".s.PGSQL.{server.port}"):
            (sockdir / stale).unlink(missing_ok=True)
        try:
            return start(bindir, server.datadir, _os_user(), port=server.port)
        except RuntimeError as exc:
            last = exc
            time.sleep(0.25)
    raise RuntimeError(f"PostgreSQL did not restart: {last}")
