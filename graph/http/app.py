"""The ASGI application: `/graphql` (HTTP and websockets), `/healthz`, `/readyz`."""

import asyncio
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from graph.core.settings import Settings, get_settings
from graph.http.collector import tune_collector
from graph.http.fast_path import FastPath
from graph.http.operations import install
from graph.http.view import GraphQLView
from graph.integrations.reminders import ReminderWorker
from graph.integrations.webhooks import WebhookWorker
from graph.realtime.broker import Broker
from graph.realtime.compliance_clock import ComplianceClock
from graph.realtime.retention import Retention
from graph.sql.database import create_engine, listen_dsn, read_routing
from graph.sql.migrate import current_revision, head_revision


def close_websockets_on_exit_signal(broker: Broker) -> None:
    """On SIGTERM/SIGINT, close websockets with 1001 (going away), and only then hand the
    signal to the server's own handler, whose shutdown would close them with 1012."""
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)

        def handler(number: int, frame: FrameType | None, previous: Any = previous) -> None:
            async def close_then_exit() -> None:
                try:
                    await broker.close_websockets(1001)
                finally:
                    if callable(previous):
                        previous(number, frame)

            loop.call_soon_threadsafe(lambda: loop.create_task(close_then_exit()))

        signal.signal(signum, handler)


def create_served_app() -> Starlette:
    """The app `fisioflow serve` runs: `create_app`, then the process's garbage collector
    tuned for serving (graph/http/collector.py); apps made in a test's process leave it be."""
    app = create_app()
    tune_collector()
    return app


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set (`fisioflow serve` starts a local database)")
    engine = create_engine(
        settings.database_url,
        pool_size=settings.pool_size,
        statement_timeout_ms=settings.statement_timeout_ms,
        pooler=settings.pooler,
    )
    broker = Broker(
        engine,
        listen_dsn(settings.direct_url()),
        queue_size=settings.subscription_queue_size,
        stage_timing=settings.realtime_stage_timing,
    )
    retention = Retention(engine, settings.event_retention_days)
    clock = ComplianceClock(engine, settings.compliance_clock_seconds)
    routing = read_routing(engine, settings)
    view = GraphQLView(settings, engine, settings.resolved_jwt_secret(), broker, routing)
    fast_path = FastPath(settings, view.tokens, view.persisted, view.cursors, routing)
    reminders = ReminderWorker(engine, settings)
    webhooks = WebhookWorker(engine, settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await broker.start()
        retention.start()
        clock.start()
        if routing is not None:
            await routing.start()
        if view.tokens.jwks is not None:
            await view.tokens.jwks.refresh()
        close_websockets_on_exit_signal(broker)
        reminders.start()
        webhooks.start()
        try:
            yield
        finally:
            await webhooks.stop()
            await reminders.stop()
            await retention.stop()
            await clock.stop()
            if routing is not None:
                await routing.stop()
            await broker.stop()
            await fast_path.close()
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
    app.state.broker = broker
    app.state.fast_path = fast_path
    app.state.reminders = reminders
    app.state.webhooks = webhooks
    install(app, settings)  # /metrics, logs, limits, CORS, GraphiQL files
    return app
