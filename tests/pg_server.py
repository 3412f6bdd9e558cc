"""A real PostgreSQL server for a test: initdb and pg_ctl in a temporary folder, 127.0.0.1 on a free port.

Debian's ``postgresql`` package (installed by installer/setup.sh) puts the
server binaries in ``/usr/lib/postgresql/<version>/bin``. PostgreSQL refuses
to run as root, so when the tests run as root the server runs as an
unprivileged system user (``studio-pg``, created with ``useradd`` when
missing, else ``nobody``) through ``runuser``; its folder is made in /tmp
(pytest's own folders are closed to other users) and handed to that user.
The unix socket lies in the same folder, so no system directory is used.

``PgServer.stop()`` and ``start()`` again keep the data and the port: a test
takes the database away mid-run and brings it back.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_USER = "studio-pg"
DB_USER = "studio"


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    return Path(which).resolve().parent if which else None


def _run_as() -> str | None:
    """The user the server runs as when we are root; None when we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
        return PG_USER
    except KeyError:
        pass
    if shutil.which("useradd"):
        done = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                               PG_USER], capture_output=True, text=True)
        if done.returncode in (0, 9):       # 9: made meanwhile by another test process
            return PG_USER
    return "nobody"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable              # False: fsync off (tests); True: as a real server commits (benchmarks)
        self.bin = bin_dir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL's server is not installed (run installer/setup.sh, or apt-get install "
                               "postgresql)")
        self.user = _run_as()
        self.folder = Path(tempfile.mkdtemp(prefix="studio-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        if self.user:
            os.chmod(self.folder, 0o700)
            shutil.chown(self.folder, self.user, self.user)
        self._cmd([str(self.bin / "initdb"), "-D", str(self.data), "-U", DB_USER, "--auth=trust",
                   "-E", "UTF8", "--no-sync"])
        self.running = False

    def _cmd(self, argv: list[str], timeout: float = 60.0) -> subprocess.CompletedProcess:
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.folder)
        if done.returncode != 0:
            log = (self.folder / "server.log")
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr}{done.stdout}\n{tail}")
        return done

    @property
    def url(self) -> str:
        return f"postgresql://{DB_USER}@127.0.0.1:{self.port}/postgres"

    def url_of(self, database: str) -> str:
        return f"postgresql://{DB_USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c max_connections=200 "
                   + ("-c shared_buffers=128MB" if self.durable else
                      "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB"))
        for attempt in range(3):
            try:
                self._cmd([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
                           "-o", options, "-w", "-t", "60", "start"])
                self.running = True
                return
            except RuntimeError:
                if attempt == 2 or self.running:
                    raise
                self.port = free_port()         # taken by another test meanwhile: another one
                options = options.replace(options.split()[1], str(self.port), 1)

    def stop(self, mode: str = "fast") -> None:
        if not self.running:
            return
        self._cmd([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"])
        self.running = False

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_of(name)

    def wait_ready(self, timeout: float = 30.0) -> None:
        import psycopg

        t_end = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > t_end:
                    raise
                time.sleep(0.1)

    def close(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
