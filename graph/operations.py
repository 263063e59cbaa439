"""What makes the app safe to expose and observable, installed on the app `create_app` built:

- `/metrics` (graph/metrics.py) and the statement counter on the request engine;
- request ids, the JSON access line (graph/logging.py), and a body size limit (graph/http.py);
- the fast path for repeats of compiled operations (graph/fast_path.py);
- CORS for `FISIOFLOW_ALLOWED_ORIGINS` (the browser origins also allowed on websockets);
- GraphiQL's own files under `/graphiql/` when GraphiQL is on;
- the login rate limiter (graph/ratelimit.py).
"""

from sqlalchemy import event
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from graph.fast_path import FastPathMiddleware
from graph.http import STATIC_DIR, BodyLimitMiddleware
from graph.logging import RequestContextMiddleware
from graph.metrics import Metrics, statement_counter
from graph.ratelimit import LoginRateLimiter
from graph.settings import Settings


def install(app: Starlette, settings: Settings) -> None:
    engine = app.state.engine
    metrics = Metrics(engine, app.state)
    app.state.metrics = metrics
    app.state.login_limiter = LoginRateLimiter(settings)
    event.listen(engine.sync_engine, "before_cursor_execute", statement_counter)

    app.router.routes.append(Route("/metrics", metrics.endpoint, methods=["GET"]))
    if settings.enabled("graphiql"):
        app.router.routes.append(Mount("/graphiql", StaticFiles(directory=STATIC_DIR)))

    # Added innermost first: the request context wraps everything, CORS answers preflights
    # before the body limit, the body limit guards the fast path and the routes.
    app.add_middleware(FastPathMiddleware, fast_path=app.state.fast_path)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Accept", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware, on_finish=metrics.finish_request)
