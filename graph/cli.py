"""The `fisioflow` command: serve, db, create-clinic, seed, token, export-schema."""

import asyncio
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Annotated

import typer
import uvicorn
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

from graph import migrate
from graph.auth import issue_token
from graph.credentials import login_by_email
from graph.database import create_engine, embedded_postgres
from graph.logging import logging_config
from graph.production import preflight
from graph.session import RequestDb
from graph.settings import get_settings

app = typer.Typer(help="FisioFlow Graph: the GraphQL API of a physiotherapy clinic.")
db_app = typer.Typer(help="Database migrations (Alembic).")
app.add_typer(db_app, name="db")
console = Console()


@contextmanager
def database_url() -> Iterator[str]:
    """`DATABASE_URL`, or the private PostgreSQL under the data folder (started, then stopped)."""
    settings = get_settings()
    if settings.database_url:
        yield settings.database_url
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
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve /graphql (GraphiQL in a browser), /healthz, /readyz and /metrics."""
    from graph.seed import seed_demo

    if problems := preflight(get_settings()):
        for problem in problems:
            console.print(f"[red]{problem}[/]")
        raise typer.Exit(2)
    with database_url() as url:
        migrate.upgrade(url)
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
        with suppress(KeyboardInterrupt, SystemExit):
            uvicorn.run(
                "graph.app:create_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                timeout_graceful_shutdown=10,
                log_config=logging_config(get_settings().log_level),  # JSON lines
                access_log=False,  # uvicorn's has the query string; graph/logging.py writes ours
            )
    console.print("stopped")


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    with database_url() as url:
        migrate.upgrade(url, revision)
        console.print(f"upgraded to {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()] = "-1") -> None:
    """Revert migrations down to REVISION (`base` = empty database)."""
    with database_url() as url:
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

    with database_url() as url:
        console.print(asyncio.run(current(url)) or "(empty: no migration applied)")


@app.command("create-clinic")
def create_clinic(
    name: Annotated[str, typer.Option(help="The clinic's name.")],
    admin_email: Annotated[str, typer.Option(help="The first admin's e-mail (login).")],
    admin_password: Annotated[str, typer.Option(help="The first admin's password.")],
) -> None:
    """Create a clinic and its first admin; print the clinic's id."""
    from graph import seed

    with database_url() as url:
        migrate.upgrade(url)
        try:
            clinic_id = asyncio.run(seed.create_clinic(url, name, admin_email, admin_password))
        except (ValueError, PermissionError) as error:
            console.print(f"[red]{error}[/]")
            raise typer.Exit(2) from None
        print(clinic_id)


@app.command()
def seed(
    clinics: Annotated[int, typer.Option(help="How many clinics.")] = 1,
    patients: Annotated[int, typer.Option(help="How many patients in all.")] = 100,
) -> None:
    """Fill every table with a deterministic, realistic data set."""
    from graph.seed import seed_volume

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
            console.print(f"[red]{error}[/]")
            raise typer.Exit(2) from None
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
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
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
        console.print(f"[red]no user with e-mail {email}[/]")
        raise typer.Exit(1)
    print(result)


@app.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL SDL (what schema.graphql holds)."""
    from graph.schema import sdl

    print(sdl(), end="")
