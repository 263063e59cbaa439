"""What makes the app safe to expose and observable, installed on the app `create_app` built:

- `/metrics` (graph/observability/metrics.py), behind `FISIOFLOW_METRICS_TOKEN` or closed in
  production, and the statement counter on the request engine;
- request ids, the JSON access line (graph/observability/logging.py), and a body size limit
  (graph/http/body_limit.py);
- the fast path for repeats of compiled operations (graph/http/fast_path_middleware.py);
- CORS for the origins `Settings.origin_allowed` accepts (the websocket handshake asks it too);
- `Cache-Control: no-store` on every answer but GraphiQL's own files;
- GraphiQL's own files under `/graphiql/` when GraphiQL is on (graph/http/static.py);
- the login rate limiter (graph/security/ratelimit.py).
"""

import hmac
from collections.abc import Awaitable, Callable

from sqlalchemy import event
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.core.settings import Settings
from graph.http.body_limit import BodyLimitMiddleware
from graph.http.fast_path_middleware import FastPathMiddleware
from graph.http.static import GRAPHIQL_FILES, graphiql_files
from graph.observability.logging import RequestContextMiddleware
from graph.observability.metrics import Metrics, statement_counter
from graph.security.ratelimit import LoginRateLimiter


def install(app: Starlette, settings: Settings) -> None:
    engine = app.state.engine
    metrics = Metrics(engine, app.state)
    app.state.metrics = metrics
    app.state.login_limiter = LoginRateLimiter(settings)
    event.listen(engine.sync_engine, "before_cursor_execute", statement_counter)

    app.router.routes.append(Route("/metrics", guarded_metrics(metrics, settings), methods=["GET"]))
    if settings.enabled("graphiql"):
        app.router.routes.append(graphiql_files())

    # Added innermost first: no-store and the request context wrap everything, CORS answers
    # preflights before the body limit, the body limit guards the fast path and the routes.
    app.add_middleware(FastPathMiddleware, fast_path=app.state.fast_path)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(OriginCors, settings=settings)
    app.add_middleware(RequestContextMiddleware, on_finish=metrics.finish_request)
    app.add_middleware(NoStoreMiddleware)


class OriginCors(CORSMiddleware):
    """CORS for the browser origins `Settings.origin_allowed` accepts: preflights from them are
    answered here, ahead of the routes (which take only GET and POST)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        super().__init__(
            app,
            allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Accept", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
        self.settings = settings

    def is_allowed_origin(self, origin: str) -> bool:
        return self.settings.origin_allowed(origin)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every HTTP answer but GraphiQL's static files: answers
    carry patients' data, which no browser, proxy or CDN cache may keep. Installed outermost,
    so fast-path answers, refusals (413, CORS) and errors carry it too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(f"{GRAPHIQL_FILES}/"):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                MutableHeaders(scope=message).setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_no_store)


def guarded_metrics(
    metrics: Metrics, settings: Settings
) -> Callable[[Request], Awaitable[Response]]:
    """`/metrics`, readable with `Authorization: Bearer <FISIOFLOW_METRICS_TOKEN>` when a token is
    set; without one, open in development and closed in production unless
    FISIOFLOW_METRICS_PUBLIC opens it (operation names, traffic and pool figures are for the
    operator, not for anyone who finds the address)."""
    token = settings.metrics_token
    public = settings.enabled("metrics_public")

    async def endpoint(request: Request) -> Response:
        if token:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), token.encode()
            ):
                return PlainTextResponse(
                    "metrics need Authorization: Bearer <FISIOFLOW_METRICS_TOKEN>\n",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        elif not public:
            return PlainTextResponse(
                "metrics are closed: set FISIOFLOW_METRICS_TOKEN (or FISIOFLOW_METRICS_PUBLIC)\n",
                status_code=403,
            )
        return await metrics.endpoint(request)

    return endpoint
