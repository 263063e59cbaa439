"""Debian's PgBouncer in transaction mode in front of the test PostgreSQL, on a free port, with
a server pool smaller than the clients that use it: each transaction gets whichever of the
few server connections is free, as in production behind a transaction-mode pooler."""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

# PgBouncer refuses to run as root; as root it runs as the embedded PostgreSQL's user.
SYSTEM_USER = "embedded_postgres" if os.geteuid() == 0 else None
# Server connections per (database, user): fewer than the tests' concurrent clients.
POOL_SIZE = 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PgBouncer:
    port: int
    folder: Path

    def url_for(self, database_url: str) -> str:
        """`database_url` (a database on the test server) reached through PgBouncer."""
        url = make_url(database_url)
        query = {key: value for key, value in url.query.items() if key != "host"}
        return url.set(host="127.0.0.1", port=self.port, query=query).render_as_string(
            hide_password=False
        )

    def show(self, what: str) -> str:
        """The log, for a failure's message."""
        return (self.folder / "pgbouncer.log").read_text(errors="replace")[-4000:] + what


def _server_target(server_url: str) -> tuple[str, dict[str, Any]]:
    """PgBouncer's connection string of the server (host or socket folder, port), and the
    login it must pass through (user and password, for the auth file)."""
    url = make_url(server_url)
    host = url.query.get("host") or url.host or "127.0.0.1"
    if isinstance(host, tuple):
        host = host[0]
    target = f"host={host} port={url.port or 5432}"
    if url.password:
        target += f" password={url.password}"
    return target, {"user": url.username or "postgres", "password": url.password or ""}


@contextmanager
def pgbouncer(server_url: str, pool_size: int = POOL_SIZE) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of the server at `server_url` (any database on
    it), `pool_size` server connections per database and user."""
    binary = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if binary is None:
        raise RuntimeError("pgbouncer is not installed (apt-get install pgbouncer; .ci/run does)")
    folder = Path(tempfile.mkdtemp(prefix="fisioflow-pgbouncer-"))
    target, login = _server_target(server_url)
    port = free_port()
    (folder / "users.txt").write_text(f'"{login["user"]}" "{login["password"]}"\n')
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = {target}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
logfile = {folder / "pgbouncer.log"}
pidfile = {folder / "pgbouncer.pid"}
"""
    )
    if SYSTEM_USER is not None:
        entry = pwd.getpwnam(SYSTEM_USER)
        for path in (folder, *folder.iterdir()):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    process = subprocess.Popen(
        [binary, str(folder / "pgbouncer.ini")],
        user=SYSTEM_USER,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bouncer = PgBouncer(port, folder)
    try:
        _wait_for(port, process, bouncer)
        yield bouncer
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for(port: int, process: subprocess.Popen[bytes], bouncer: PgBouncer) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError(bouncer.show(f"pgbouncer exited with {process.returncode}"))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(bouncer.show("pgbouncer did not listen"))
