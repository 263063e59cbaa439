"""The `fisioflow` command: serve, db, create-clinic, link-login, seed, token, export-schema.

What a command answers (a token, an id, a revision, the SDL) is the only thing it writes to
stdout, so `TOKEN=$(fisioflow token ...)` holds one line; messages, tables and progress go to
stderr. A failure the user can fix (a bad argument or setting, a taken port, an unreachable
database) is one line on stderr and exit code 2 (usage) or 1, never a traceback.
"""

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn

import asyncpg
import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from graph.core.settings import get_settings
from graph.observability.logging import logging_config
from graph.security.auth import issue_token
from graph.security.credentials import login_by_email
from graph.security.production import preflight
from graph.sql import backup, migrate
from graph.sql.database import create_engine, embedded_postgres
from graph.sql.session import RequestDb
from seed import admin
from seed.demo import seed_demo
from seed.volume import seed_volume

app = typer.Typer(
    help="FisioFlow Graph: the GraphQL API of a physiotherapy clinic.",
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations (Alembic), backups and restores.")
app.add_typer(db_app, name="db")
console = Console(stderr=True)

# Longest lifetime of a development token from `fisioflow token` (a year).
MAX_TOKEN_TTL_SECONDS = 366 * 86_400


def main() -> None:
    """The `fisioflow` entry point: a failure the user can fix is one line, not a traceback."""
    try:
        outcome = app(standalone_mode=False)  # click's errors reach us instead of a usage box
    except typer.TyperException as error:  # a bad argument (exit code 2), or another refusal
        context = getattr(error, "ctx", None)
        hint = f" (see {context.command_path} --help)" if context is not None else ""
        fail(f"{error.format_message()}{hint}", code=error.exit_code)
    except typer.Abort:
        fail("aborted")
    except ValidationError as error:
        problems = "; ".join(
            f"{_variable(str(problem['loc'][0]))}: {problem['msg']}" for problem in error.errors()
        )
        fail(f"invalid setting: {problems}", code=2)
    except (DBAPIError, asyncpg.PostgresError) as error:
        fail(f"the database refused: {_first_line(error)}")
    except OSError as error:  # the commands' I/O is the database: its address does not answer
        fail(f"cannot reach the database: {_first_line(error)}")
    raise SystemExit(outcome if isinstance(outcome, int) else 0)


def _variable(field: str) -> str:
    return "DATABASE_URL" if field == "database_url" else f"FISIOFLOW_{field.upper()}"


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, then exit."""
    print(f"fisioflow: {message}", file=sys.stderr)
    raise SystemExit(code)


@contextmanager
def database_url(direct: bool = False) -> Iterator[str]:
    """`DATABASE_URL`, or the private PostgreSQL under the data folder (started, then stopped).
    `direct`: `FISIOFLOW_DIRECT_DATABASE_URL` when set, for work that needs a server session of
    its own rather than a transaction-mode pooler (migrations, backups)."""
    settings = get_settings()
    if settings.database_url:
        yield settings.direct_url() if direct else settings.database_url
        return
    pgdata = (settings.data_dir / "pgdata").resolve()
    console.print(f"[dim]DATABASE_URL is unset: local PostgreSQL with its data in {pgdata}[/]")
    with embedded_postgres(settings.data_dir) as url:
        yield url


def _print_logins(logins: list[tuple[str, str, str]]) -> None:
    table = Table(title="Demo logins")
    for column in ("e-mail", "role", "password"):
        table.add_column(column)
    for row in logins:
        table.add_row(*row)
    console.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
) -> None:
    """Serve /graphql (GraphiQL in a browser), /healthz, /readyz and /metrics."""
    if problems := preflight(get_settings()):
        fail("; ".join(problems), code=2)
    # Before a database is started: a taken port is a clear message and exit code 1.
    if taken := port_taken(host, port):
        fail(f"cannot listen on {host}:{port}: {taken}")
    exit_code = 0
    with database_url() as url:
        migrate.upgrade(get_settings().direct_database_url or url)
        if not get_settings().database_url:
            logins = asyncio.run(seed_demo(url))
            _print_logins([(login.email, login.role, login.password) for login in logins])
        os.environ["DATABASE_URL"] = url
        get_settings.cache_clear()
        get_settings().resolved_jwt_secret()
        console.print(f"GraphiQL: [bold]http://{host}:{port}/graphql[/]")
        # uvicorn re-raises SIGTERM/SIGINT once it has shut down; turning them into exceptions
        # lets the `with` above stop the private PostgreSQL instead of dying with it running.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        try:
            uvicorn.run(
                "graph.http.app:create_served_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                timeout_graceful_shutdown=10,
                # Websocket messages are capped like HTTP bodies: a larger one closes the socket
                # with 1009 (message too big), whichever websocket implementation uvicorn runs.
                ws_max_size=get_settings().max_body_bytes,
                ws_per_message_deflate=get_settings().ws_per_message_deflate,
                log_config=logging_config(get_settings().log_level),  # JSON lines
                # uvicorn's has the query string; graph/observability/logging.py writes ours
                access_log=False,
            )
        except KeyboardInterrupt:
            pass
        except SystemExit as stop:  # ours on a signal (0), or uvicorn's failure to start
            exit_code = stop.code if isinstance(stop.code, int) else 1
    if exit_code:
        fail(f"the server stopped with exit code {exit_code} (see its log above)", exit_code)
    console.print("stopped")


def port_taken(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (bound as uvicorn binds it); None when it can."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        return error.strerror or str(error)
    return None


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    with database_url(direct=True) as url:
        migrate.upgrade(url, revision)
        console.print(f"upgraded to {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()] = "-1") -> None:
    """Revert migrations down to REVISION (`base` = empty database)."""
    with database_url(direct=True) as url:
        migrate.downgrade(url, revision)
        console.print(f"downgraded to {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision."""

    async def current(url: str) -> str | None:
        engine = create_engine(url, pool_size=1)
        try:
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    with database_url(direct=True) as url:
        revision = asyncio.run(current(url))
    if revision is None:
        console.print("(empty: no migration applied)")
    else:
        print(revision)


@db_app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="Where to write it (pg_dump's custom format).")],
) -> None:
    """Write the whole database to FILE: tables, rows, functions, RLS policies, owners, grants."""
    with database_url(direct=True) as url:
        _backup_step(lambda: backup.backup(url, file, get_settings().pg_bin))
    console.print(f"backed up to {file}")


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A file `fisioflow db backup` wrote.")],
) -> None:
    """Restore FILE into the database, which must be empty (a new one), in one transaction."""
    with database_url(direct=True) as url:
        _backup_step(lambda: backup.restore(url, file, get_settings().pg_bin))
    console.print(f"restored {file}")


def _backup_step(step: Callable[[], None]) -> None:
    try:
        step()
    except backup.Refused as refusal:
        fail(str(refusal), code=2)
    except backup.BackupError as error:
        fail(str(error))


@app.command("create-clinic")
def create_clinic(
    name: Annotated[str, typer.Option(help="The clinic's name.")],
    admin_email: Annotated[str, typer.Option(help="The first admin's e-mail (login).")],
    admin_password: Annotated[str, typer.Option(help="The first admin's password.")],
) -> None:
    """Create a clinic and its first admin; print the clinic's id."""
    with database_url() as url:
        migrate.upgrade(url)
        try:
            clinic_id = asyncio.run(admin.create_clinic(url, name, admin_email, admin_password))
        except (ValueError, PermissionError) as error:
            fail(str(error), code=2)
    print(clinic_id)


@app.command("link-login")
def link_login(
    email: Annotated[str, typer.Option(help="The login's e-mail.")],
    subject: Annotated[
        str,
        typer.Option(help="The `sub` of the identity provider's tokens for this user."),
    ] = "",
    unlink: Annotated[bool, typer.Option(help="Remove the login's link instead.")] = False,
) -> None:
    """Let an identity provider's user (FISIOFLOW_JWKS_URL) act as an existing login: its
    tokens with this `sub` are then that login, with the login's clinic and role."""
    if not unlink and not subject:
        fail("give --subject, or --unlink", code=2)
    with database_url() as url:
        migrate.upgrade(url)
        try:
            linked = asyncio.run(admin.link_login(url, email, None if unlink else subject))
        except (ValueError, PermissionError) as error:
            fail(str(error), code=2)
    if not linked:
        fail(f"no user with e-mail {email}")


@app.command()
def seed(
    clinics: Annotated[int, typer.Option(help="How many clinics.", min=1)] = 1,
    patients: Annotated[int, typer.Option(help="How many patients in all.", min=1)] = 100,
) -> None:
    """Fill every table with a deterministic, realistic data set."""
    if patients < clinics:
        fail(f"--patients ({patients}) must be at least --clinics ({clinics})", code=2)
    with database_url() as url, _progress() as progress:
        migrate.upgrade(url)
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int) -> None:
            if stage not in tasks:
                # "done" counts patients seeded; the other stages count rows copied per table.
                total = patients if stage == "done" else None
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done)

        try:
            summary = asyncio.run(seed_volume(url, clinics, patients, report))
        except PermissionError as error:
            fail(str(error), code=2)
    console.print(f"seeded {summary.total_rows:,} rows in {summary.seconds:.1f} s")
    for table, count in summary.rows.items():
        console.print(f"  {table}: {count:,}")


@contextmanager
def _progress() -> Iterator[Progress]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        yield progress


@app.command()
def token(
    email: Annotated[str, typer.Option(help="The user's e-mail.")],
    ttl: Annotated[
        int, typer.Option(help="Lifetime in seconds.", min=1, max=MAX_TOKEN_TTL_SECONDS)
    ] = 3600,
) -> None:
    """Print a JWT for an existing user (development)."""

    async def make(url: str) -> str | None:
        engine = create_engine(url, pool_size=1)
        db = RequestDb(engine, None)
        try:
            stored = await login_by_email(db, email)
        finally:
            await db.finish(commit=False)
            await engine.dispose()
        if stored is None:
            return None
        return issue_token(stored.identity, get_settings().resolved_jwt_secret(), ttl)[0]

    with database_url() as url:
        result = asyncio.run(make(url))
    if result is None:
        fail(f"no user with the e-mail {email!r}")
    print(result)


@app.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL SDL (what schema.graphql holds)."""
    # Only this command loads the whole schema (every resolver area); the others start fast.
    from graph.schema import sdl

    print(sdl(), end="")
