"""Apps of their own, with settings a test chooses (limits, production mode, ...)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from graph.core.settings import Settings
from graph.http.app import create_app
from tests.support.pgbouncer import PgBouncer

JWT_SECRET = "test-secret-" + "x" * 40
# The ways an app may reach the database (`route_settings`).
ROUTES = ("direct", "pgbouncer")


async def close_app(application: Starlette) -> None:
    """What the app's lifespan does on shutdown (tests drive apps without one)."""
    await application.state.fast_path.close()
    await application.state.engine.dispose()


@asynccontextmanager
async def custom_app(database_url: str, **settings: Any) -> AsyncIterator[Starlette]:
    settings.setdefault("jwt_secret", JWT_SECRET)
    app = create_app(Settings(database_url=database_url, **settings))
    try:
        yield app
    finally:
        await close_app(app)


@asynccontextmanager
async def client_of(
    app: Starlette, *, address: str = "127.0.0.1"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app`; `address` is the client address the app sees."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://fisioflow.test") as client:
        yield client


@asynccontextmanager
async def app_client(database_url: str, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with custom_app(database_url, **settings) as app, client_of(app) as client:
        yield client


def route_settings(request: pytest.FixtureRequest, database_url: str) -> dict[str, Any]:
    """The settings of an app reaching the database `request.param` way: `direct`, or through
    PgBouncer in transaction mode (`pgbouncer`, LISTEN on the direct URL). A module whose
    tests must pass both ways overrides its app fixture with `routed_app`."""
    if request.param == "direct":
        return {"database_url": database_url}
    bouncer: PgBouncer = request.getfixturevalue("bouncer")
    return {
        "database_url": bouncer.url_for(database_url),
        "pooler": "transaction",
        "direct_database_url": database_url,
    }


async def routed_app(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Starlette]:
    """The app of a module whose tests run both ways, direct and behind PgBouncer:
    `app = pytest.fixture(scope="module", params=ROUTES)(routed_app)` (the `client` and
    `statements` fixtures use it)."""
    async with custom_app(**route_settings(request, database_url)) as application:
        yield application
