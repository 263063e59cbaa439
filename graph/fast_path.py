"""The fast path: a repeat of a compiled operation (a read, or a compiled mutation such as
`scheduleAppointment`), answered from the HTTP request to PostgreSQL's JSON with no GraphQL
execution machinery in between.

A document reaches `compiled_execution.validated` only after the normal path parsed it,
validated it, checked its limits and compiled it. A later POST of the same document is
answered here: the token is verified, the variables coerced against the operation's
definitions, the cost limit re-checked with them, and the plan's one statement runs in the
caller's RLS transaction — three round trips in all (`BEGIN` with the identity settings and
the active-login check in one message; the statement; `COMMIT`), as few as asyncpg allows.
The response body is the JSON PostgreSQL built, wrapped in `{"data": ...}`.

Whenever anything differs from that happy path (no token, an unknown document, invalid
variables or input, a cost over the limit, a database refusal such as a taken slot), it rolls
back, answers None, and the request takes the normal path, which produces exactly the answer
and errors the API documents.
"""

import asyncio
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import orjson
from graphql import OperationDefinitionNode
from starlette.requests import Request

from graph.auth import Identity, TokenVerifier, bearer_token
from graph.compiled_execution import (
    ValidatedOperation,
    coerce_variables,
    plan_for,
    validated,
)
from graph.compiler import MISSING
from graph.database import listen_dsn
from graph.errors import ApiError
from graph.limits import query_cost
from graph.logging import current_request
from graph.lru import LruCache
from graph.metrics import metrics_of
from graph.settings import Settings

JSON = "application/json"
REQUEST_KEYS = frozenset({"query", "variables", "operationName"})


def begin_script(identity: Identity, statement_timeout_ms: int | None) -> str:
    """`BEGIN`, the identity settings and the active-login check, as one simple-query message.

    Values are inlined (the simple protocol takes no parameters); each is a UUID, a role name
    or a number that came out of a verified token or the settings, never client text.
    """
    settings = {
        "role": "fisioflow_app",
        "app.user_id": str(identity.user_id),
        "app.clinic_id": str(identity.clinic_id),
        "app.role": identity.role.value,
        "app.physiotherapist_id": str(identity.physiotherapist_id or ""),
        "app.patient_id": str(identity.patient_id or ""),
    }
    if statement_timeout_ms is not None:
        settings["statement_timeout"] = str(int(statement_timeout_ms))
    calls = ", ".join(f"set_config('{name}', '{value}', true)" for name, value in settings.items())
    # Two statements: the check runs once the settings are in force.
    return f"BEGIN; SELECT {calls}; SELECT app_require_active_login('{identity.user_id}'::uuid);"


def _cost_key(variables: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """What of the variables a query's cost depends on: numbers (page sizes), list lengths."""
    return tuple(
        sorted(
            (name, len(value) if isinstance(value, list) else value)
            for name, value in variables.items()
            if isinstance(value, int | list)
        )
    )


class FastPath:
    def __init__(self, settings: Settings, tokens: TokenVerifier) -> None:
        self.settings = settings
        self.tokens = tokens
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._costs: LruCache[int] = LruCache()
        # Told of each statement sent (SQLAlchemy's events do not see these): metrics, tests.
        self.statement_listeners: list[Callable[[str], None]] = []

    async def answer(self, request: Request) -> bytes | None:
        """The response body, or None: then the request takes the normal path."""
        if not self.settings.compile_queries or request.method != "POST":
            return None
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != JSON:
            return None
        started = time.perf_counter()
        try:
            body = orjson.loads(await request.body())
            token = bearer_token(request.headers.get("authorization"))
        except (orjson.JSONDecodeError, ApiError):
            return None
        if token is None or not isinstance(body, dict) or set(body) - REQUEST_KEYS:
            return None
        query, operation_name = body.get("query"), body.get("operationName")
        if not isinstance(query, str) or not isinstance(operation_name, str | None):
            return None
        known, ready = validated.get((query, operation_name))
        if not known or ready is None:
            return None
        try:
            identity, _ = self.tokens.verify(token)
        except ApiError:
            return None
        variables = coerce_variables(ready.graphql_schema, ready.operation, body.get("variables"))
        if variables is None or self._too_costly(ready, query, operation_name, variables):
            return None
        plan = plan_for(ready, query, operation_name, variables)
        if plan is None:
            return None
        try:
            parameters = plan.parameters(variables, identity)
        except Exception:  # an argument the resolvers refuse: they say why
            return None
        text = await self._run(identity, plan.sql, parameters)
        if text is None or MISSING in text:
            return None
        self._record(request, ready.operation, time.perf_counter() - started)
        return b'{"data":' + text.encode() + b"}"

    def _too_costly(
        self,
        ready: ValidatedOperation,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any],
    ) -> bool:
        key = (query, operation_name, _cost_key(variables))
        known, cost = self._costs.get(key)
        if not known or cost is None:
            cost = query_cost(ready.graphql_schema, ready.document, ready.operation, variables)
            self._costs.put(key, cost)
        return cost > self.settings.max_cost

    async def _connections(self) -> asyncpg.Pool:
        """Its own asyncpg pool: SQLAlchemy's adds a greenlet switch per call here. No reset
        on release: every setting is transaction-local and every transaction ends here."""
        async with self._pool_lock:
            if self._pool is None:
                assert self.settings.database_url is not None

                async def no_reset(connection: asyncpg.Connection) -> None:
                    return None

                self._pool = await asyncpg.create_pool(
                    listen_dsn(self.settings.database_url),
                    min_size=1,
                    max_size=self.settings.pool_size,
                    reset=no_reset,
                    server_settings={"application_name": "fisioflow-fast", "jit": "off"},
                )
            return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _run(self, identity: Identity, sql: str, parameters: list[Any]) -> str | None:
        try:
            pool = await self._connections()
            async with pool.acquire() as raw:
                try:
                    script = begin_script(identity, self.settings.statement_timeout_ms)
                    await raw.execute(script)
                    self._sent(script)
                    text = await raw.fetchval(sql, *parameters)
                    self._sent(sql)
                    await raw.execute("COMMIT")
                except BaseException:
                    if not raw.is_closed() and raw.is_in_transaction():
                        await raw.execute("ROLLBACK")
                    raise
        except Exception:  # unreachable database, inactive login, timeout: the normal path
            return None  # meets the same and answers it as the API documents
        return str(text)

    def _sent(self, statement: str) -> None:
        """Counts as the normal path counts: the identity settings, then each query."""
        info = current_request.get()
        if info is not None:
            info.statements += 1
        for listener in self.statement_listeners:
            listener(statement)

    def _record(self, request: Request, operation: OperationDefinitionNode, seconds: float) -> None:
        metrics = metrics_of(request)
        if metrics is not None:
            name = operation.name.value if operation.name else "anonymous"
            metrics.record_operation(name, operation.operation.value, "OK", seconds)
