"""The ASGI application: `/graphql`, `/healthz`, `/readyz`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from graph.database import create_engine
from graph.migrate import current_revision, head_revision
from graph.settings import Settings, get_settings
from graph.view import GraphQLView


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set (`fisioflow serve` starts a local database)")
    engine = create_engine(settings.database_url, pool_size=settings.pool_size)
    view = GraphQLView(settings, engine, settings.resolved_jwt_secret())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await engine.dispose()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("select 1"))
            revision = await current_revision(engine)
        except Exception:  # any failure to reach the database means "not ready"
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        if revision != head_revision():
            return JSONResponse(
                {"status": "migrations pending", "revision": revision}, status_code=503
            )
        return JSONResponse({"status": "ok", "revision": revision})

    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
    app.state.engine = engine
    return app
