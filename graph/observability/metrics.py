"""Prometheus metrics at `/metrics` (text format), one registry per app.

- `fisioflow_graphql_operations_total{operation,type,outcome}`: operations by name and
  outcome (`OK` or the first error's code);
- `fisioflow_graphql_operation_duration_seconds{operation,type}`: latency histogram;
- `fisioflow_http_requests_total{route,method,status}` and
  `fisioflow_http_request_duration_seconds{route}`;
- `fisioflow_sql_statements_per_request`: statements one GraphQL HTTP request sent;
- `fisioflow_db_pool_connections{state}`: the request pool (size, in use, idle, overflow);
- `fisioflow_websocket_subscriptions_active`, `fisioflow_websocket_connections_active`;
- `fisioflow_login_rate_limited_total`, `fisioflow_persisted_queries_total{result}`.

Operation names are chosen by clients, so the label takes at most `MAX_OPERATION_NAMES`
distinct names per process (then `other`), and only names of documents that parsed.
Each worker process has its own registry: scrape every worker (or run one per container).
"""

import asyncio
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from graph.core.errors import BAD_USER_INPUT, INTERNAL
from graph.observability.logging import RequestInfo, current_request

MAX_OPERATION_NAMES = 200
ROUTES = ("/graphql", "/healthz", "/readyz", "/metrics")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
STATEMENT_BUCKETS = (0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100)


class _PoolCollector(Collector):
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool: Any = self.engine.sync_engine.pool
        family = GaugeMetricFamily(
            "fisioflow_db_pool_connections",
            "Connections of the request pool, by state",
            labels=["state"],
        )
        for state, read in (
            ("size", pool.size),
            ("checked_out", pool.checkedout),
            ("idle", pool.checkedin),
            ("overflow", pool.overflow),
        ):
            try:
                family.add_metric([state], float(read()))
            except (AttributeError, TypeError):  # a pool class without that number
                continue
        yield family


class _RealtimeCollector(Collector):
    def __init__(self, state: Any) -> None:
        self.state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        broker = getattr(self.state, "broker", None)
        subscriptions = getattr(broker, "subscriber_count", 0) if broker else 0
        websockets = len(getattr(broker, "websockets", ())) if broker else 0
        yield GaugeMetricFamily(
            "fisioflow_websocket_subscriptions_active",
            "Subscriptions open on this process's websockets",
            value=float(subscriptions() if callable(subscriptions) else subscriptions),
        )
        yield GaugeMetricFamily(
            "fisioflow_websocket_connections_active",
            "Websocket connections open on this process",
            value=float(websockets),
        )


class Metrics:
    def __init__(self, engine: AsyncEngine, app_state: Any) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.operations = Counter(
            "fisioflow_graphql_operations",
            "GraphQL operations by name, type and outcome (OK or the first error's code)",
            ["operation", "type", "outcome"],
            registry=registry,
        )
        self.operation_seconds = Histogram(
            "fisioflow_graphql_operation_duration_seconds",
            "GraphQL operation latency",
            ["operation", "type"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.http_requests = Counter(
            "fisioflow_http_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=registry,
        )
        self.http_seconds = Histogram(
            "fisioflow_http_request_duration_seconds",
            "HTTP request latency",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.sql_statements = Histogram(
            "fisioflow_sql_statements_per_request",
            "SQL statements sent by one GraphQL HTTP request",
            buckets=STATEMENT_BUCKETS,
            registry=registry,
        )
        self.login_rate_limited = Counter(
            "fisioflow_login_rate_limited",
            "Login attempts refused by the rate limit",
            registry=registry,
        )
        self.persisted_queries = Counter(
            "fisioflow_persisted_queries",
            "Persisted-query lookups by result",
            ["result"],
            registry=registry,
        )
        registry.register(_PoolCollector(engine))
        registry.register(_RealtimeCollector(app_state))
        self._names: set[str] = set()

    def operation_label(self, name: str) -> str:
        if name in self._names:
            return name
        if len(self._names) >= MAX_OPERATION_NAMES:
            return "other"
        self._names.add(name)
        return name

    def record_operation(self, name: str, kind: str, outcome: str, seconds: float) -> None:
        label = self.operation_label(name)
        self.operations.labels(label, kind, outcome).inc()
        self.operation_seconds.labels(label, kind).observe(seconds)
        info = current_request.get()
        if info is not None:
            info.operations.append((label, kind, outcome))

    def finish_request(self, scope: Scope, info: RequestInfo, status: int, seconds: float) -> None:
        """Called by the request middleware once the response is sent."""
        path = info.path
        route = (
            path if path in ROUTES else "/graphiql" if path.startswith("/graphiql/") else "other"
        )
        if scope["type"] == "http":
            self.http_requests.labels(route, info.method, str(status)).inc()
            self.http_seconds.labels(route).observe(seconds)
            if route == "/graphql" and info.operations:
                self.sql_statements.observe(info.statements)

    async def endpoint(self, request: Request) -> Response:
        return Response(
            generate_latest(self.registry),
            media_type="text/plain; version=0.0.4; charset=utf-8",
        )


def metrics_of(request: Any) -> Metrics | None:
    """The app's metrics, from a Starlette request or websocket (None outside an app)."""
    return metrics_in(getattr(request, "scope", {}))


def metrics_in(scope: Scope) -> Metrics | None:
    """The app's metrics, from an ASGI scope (None outside an app)."""
    metrics = getattr(getattr(scope.get("app"), "state", None), "metrics", None)
    return metrics if isinstance(metrics, Metrics) else None


def error_code(error: BaseException) -> str:
    if isinstance(error, GraphQLError):
        return str((error.extensions or {}).get("code") or BAD_USER_INPUT)
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        return "CANCELLED"
    return INTERNAL


def record_refusal(request: Any, error: GraphQLError) -> None:
    """An operation refused before it reached the schema (e.g. persisted-query miss)."""
    metrics = metrics_of(request)
    if metrics is not None:
        metrics.record_operation("unknown", "unknown", error_code(error), 0.0)
        metrics.persisted_queries.labels(error_code(error).lower()).inc()


def statement_counter(*args: Any) -> None:
    """A `before_cursor_execute` listener: counts the statements of the current request."""
    info = current_request.get()
    if info is not None:
        info.statements += 1
