"""Apps of their own, with settings a test chooses (limits, production mode, ...)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

from graph.core.settings import Settings
from graph.http.app import create_app

JWT_SECRET = "test-secret-" + "x" * 40


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
