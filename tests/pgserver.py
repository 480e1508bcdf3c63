"""A real PostgreSQL server for the tests and the benchmarks, started and stopped by PID.

``REALNET_TEST_POSTGRES_URL`` points at a server someone else runs instead. Otherwise
the PostgreSQL 15 binaries start a throw-away cluster on a free loopback port
(as the ``postgres`` user when running as root, since initdb refuses root).
Host connections need a password (scram), so wrong-password paths can be tested.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "realnet-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_bin(name: str) -> str:
    candidate = BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found


class PostgresServer:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="rnpg", dir="/tmp"))
        self.data = self.directory / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stdout}{done.stderr}")

    def start(self) -> PostgresServer:
        if self._as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(find_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
        self.boot()
        import psycopg

        with psycopg.connect(host=str(self.directory), port=self.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f"ALTER USER postgres PASSWORD '{PASSWORD}'")
        return self

    def boot(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} "
                   "-c fsync=off -c full_page_writes=off "
                   "-c max_connections=200")
        self._run(find_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "log"),
                  "-w", "-t", "60", "start", "-o", options)

    def halt(self) -> None:
        self._run(find_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def restart(self) -> None:
        self.halt()
        self.boot()

    @property
    def pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def url(self, database: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        try:
            self.halt()
        except (RuntimeError, subprocess.TimeoutExpired):
            with contextlib.suppress(OSError, ValueError):
                os.kill(self.pid, 9)
        shutil.rmtree(self.directory, ignore_errors=True)
