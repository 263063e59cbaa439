"""The fast path: a repeat of a compiled operation (a read, or a compiled mutation such as
`scheduleAppointment`), answered from the HTTP request to PostgreSQL's JSON with no GraphQL
execution machinery in between.

A document reaches `compiled_execution.validated` only after the normal path parsed it,
validated it, checked its limits and compiled it. A later POST of the same document is
answered here: the token is verified, the variables coerced against the operation's
definitions and the cost limit re-checked with them. Then one round trip: `gql_execute`
(migrations 0007, 0008) checks the caller's identity against the login's row (active, same
clinic, role, physiotherapist and patient), sets it and runs the plan's statement, prepared
once per connection, as fisioflow_app under row-level security, in an implicit transaction
of its own (a write commits with it). PostgreSQL builds the response body; it is sent
wrapped in `{"data": ...}`.

Whenever anything differs from that happy path (no token, an unknown document, invalid
variables or input, a cost over the limit, a database refusal such as a taken slot or an
inactive login), the transaction rolls back, this answers None, and the request takes the
normal path, which produces exactly the answer and errors the API documents.

Except when the database timed out or cannot be reached: sending the request on to the
normal path would run the statement again (double load exactly when the database is
overloaded) or try a dead database twice. The fast path answers those itself, as the
resolvers would (`failure_body`): `TIMEOUT` or `SERVICE_UNAVAILABLE` at each root field's
path, status 200 with a `data` entry (the operation was executed: GraphQL over HTTP).
"""

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast

import asyncpg
import orjson
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, is_non_null_type
from graphql.language.location import get_location
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.core.errors import ApiError, unavailable_or_timeout
from graph.core.identity import Identity
from graph.core.lru import LruCache
from graph.core.settings import Settings
from graph.extensions.compiled_queries import (
    ValidatedOperation,
    coerce_variables,
    plan_for,
    validated,
)
from graph.http.graphql_http import JSON, negotiate
from graph.observability.logging import current_request
from graph.observability.metrics import metrics_in
from graph.security.auth import TokenVerifier, bearer_token
from graph.security.input_limits import check_operation
from graph.security.limits import query_cost
from graph.security.persisted import PersistedQueries, with_document_id
from graph.sql.compiler import MISSING, Plan
from graph.sql.database import listen_dsn

log = logging.getLogger("fisioflow.fast_path")

REQUEST_KEYS = frozenset({"query", "variables", "operationName", "extensions", "documentId"})
JSON_MEDIA_TYPE = JSON.encode()


# One round trip: the identity checked against the login's row, its settings and the prepared
# statement (migrations 0007 and 0008).
EXECUTE_SQL = "select gql_execute($1, $2, $3, $4, $5, $6, $7, $8)"
# Compiled statements a connection keeps prepared; the least recently used one goes beyond.
PREPARED_PER_CONNECTION = 200


class FastConnection(asyncpg.Connection):
    """A pool connection that remembers which compiled statements its session has prepared
    (PostgreSQL keeps prepared statements per session), least recently used first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepared: OrderedDict[str, None] = OrderedDict()


def prepare_script(connection: FastConnection, plan: Plan) -> str:
    """`PREPARE` as fisioflow_app (so PostgreSQL plans it under that role's row-level security,
    as it will run), after `DEALLOCATE` of the statements it displaces, if any."""
    script = ""
    while len(connection.prepared) >= PREPARED_PER_CONNECTION:
        oldest, _ = connection.prepared.popitem(last=False)
        script += f"DEALLOCATE {oldest}; "
    return script + f"SET ROLE fisioflow_app; PREPARE {plan.name}(text[]) AS {plan.sql}; RESET ROLE"


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
    def __init__(
        self, settings: Settings, tokens: TokenVerifier, persisted: PersistedQueries
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.persisted = persisted
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._costs: LruCache[int] = LruCache()
        # Told of each statement sent (SQLAlchemy's events do not see these): metrics, tests.
        self.statement_listeners: list[Callable[[str], None]] = []

    async def answer(self, body: bytes, authorization: str | None, scope: Scope) -> bytes | None:
        """The response body for a POSTed JSON request, or None: then it takes the normal path."""
        started = time.perf_counter()
        try:
            request = orjson.loads(body)
            token = bearer_token(authorization)
        except (orjson.JSONDecodeError, ApiError):
            return None
        if token is None or not isinstance(request, dict) or set(request) - REQUEST_KEYS:
            return None
        document, operation_name = self._document(request), request.get("operationName")
        if document is None or not isinstance(operation_name, str | None):
            return None
        query, persisted = document
        known, ready = validated.get((query, operation_name))
        if not known or ready is None:
            return None
        try:
            identity, _ = await self.tokens.verify(token)
        except ApiError:
            return None
        raw_variables = request.get("variables")
        variables = coerce_variables(ready.graphql_schema, ready.operation, raw_variables)
        if variables is None or self._too_costly(ready, query, operation_name, variables):
            return None
        try:
            check_operation(ready.graphql_schema, ready.document, ready.operation, variables)
        except ApiError:  # hostile input: the normal path refuses it, naming the field
            return None
        plan = plan_for(ready, query, operation_name, variables)
        if plan is None:
            return None
        try:
            arguments = plan.arguments(variables, identity)
        except Exception:  # an argument the resolvers refuse: they say why
            return None
        try:
            text = await self._run(identity, plan, arguments)
        except ApiError as failure:  # a timeout or an outage: not for the normal path again
            outcome = str(failure.extensions["code"])
            self._record(scope, ready.operation, time.perf_counter() - started, persisted, outcome)
            return failure_body(ready, failure)
        if text is None or MISSING in text:
            return None
        self._record(scope, ready.operation, time.perf_counter() - started, persisted)
        return b'{"data":' + text.encode() + b"}"

    def _document(self, request: dict[str, Any]) -> tuple[str, str | None] | None:
        """The query text, sent or persisted (APQ or `documentId`), as the persisted-query rules
        (graph/security/persisted.py, the allow-list included) admit it, with the persisted-query
        outcome to count ("hit" or "sent"; None without one); None when only the normal path
        can tell (no text, an unknown hash, one to register, a refusal, other extensions)."""
        query, extensions = request.get("query"), request.get("extensions")
        document_id = request.get("documentId")
        if not isinstance(query, str | None) or not isinstance(extensions, dict | None):
            return None
        if not isinstance(document_id, str | None):
            return None
        extensions = with_document_id(extensions, document_id)
        if extensions and set(extensions) != {"persistedQuery"}:
            return None
        if not extensions and not self.persisted.only_allowed:
            return None if query is None else (query, None)
        try:
            resolved = self.persisted.resolve(query, extensions)
        except GraphQLError:
            return None
        if resolved.register_as or resolved.query is None:
            return None
        outcome = ("hit" if query is None else "sent") if extensions else None
        return resolved.query, outcome

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
        on release: every request sets the identity it runs under, transaction-local, in the
        one statement it sends."""
        async with self._pool_lock:
            if self._pool is None:
                assert self.settings.database_url is not None

                async def no_reset(connection: asyncpg.Connection) -> None:
                    return None

                server_settings = {"application_name": "fisioflow-fast", "jit": "off"}
                if self.settings.statement_timeout_ms is not None:
                    server_settings["statement_timeout"] = str(self.settings.statement_timeout_ms)
                self._pool = await asyncpg.create_pool(
                    listen_dsn(self.settings.database_url),
                    min_size=1,
                    max_size=self.settings.pool_size,
                    reset=no_reset,
                    connection_class=FastConnection,
                    server_settings=server_settings,
                )
            return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _run(self, identity: Identity, plan: Plan, arguments: list[str | None]) -> str | None:
        """The plan's JSON text; None for a refusal the normal path words better; TIMEOUT or
        SERVICE_UNAVAILABLE (raised) when the statement must not be sent again."""
        try:
            pool = await self._connections()
            async with pool.acquire() as acquired:
                # The pool hands out a proxy that forwards attributes to the FastConnection.
                connection = cast(FastConnection, acquired)
                await self._prepare(connection, plan)
                self._sent(plan.sql)
                try:
                    text = await connection.fetchval(
                        EXECUTE_SQL,
                        identity.user_id,
                        identity.clinic_id,
                        identity.role.value,
                        identity.physiotherapist_id,
                        identity.patient_id,
                        identity.external_subject,
                        plan.name,
                        arguments,
                    )
                except asyncpg.InvalidSQLStatementNameError:
                    connection.prepared.pop(plan.name, None)  # prepared again next time
                    raise
        except Exception as error:
            failure = unavailable_or_timeout(error)
            if failure is not None:
                raise failure from None
            return None  # an inactive login, a taken slot, ...: the normal path words them
        return str(text)

    async def _prepare(self, connection: FastConnection, plan: Plan) -> None:
        if plan.name in connection.prepared:
            connection.prepared.move_to_end(plan.name)
            return
        script = prepare_script(connection, plan)
        # Already there: prepared by a request cut short before it could note it.
        with contextlib.suppress(asyncpg.DuplicatePreparedStatementError):
            await connection.execute(script)
        connection.prepared[plan.name] = None
        self._sent(script)

    def _sent(self, statement: str) -> None:
        """Counts each statement sent, as the normal path counts its own."""
        info = current_request.get()
        if info is not None:
            info.statements += 1
        for listener in self.statement_listeners:
            listener(statement)

    def _record(
        self,
        scope: Scope,
        operation: OperationDefinitionNode,
        seconds: float,
        persisted: str | None,
        outcome: str = "OK",
    ) -> None:
        metrics = metrics_in(scope)
        if metrics is None:
            return
        name = operation.name.value if operation.name else "anonymous"
        metrics.record_operation(name, operation.operation.value, outcome, seconds)
        if persisted is not None:
            metrics.persisted_queries.labels(persisted).inc()


def failure_body(ready: ValidatedOperation, failure: ApiError) -> bytes:
    """The response to an operation whose one statement failed as a whole, as the resolvers
    answer it: each root field null with the error at its path (and `locations`), up to the
    first non-null root field, whose error makes `data` null and ends the execution. Root
    selections other than plain fields (a fragment, a directive) get one error without a
    path and `data` null."""
    error: dict[str, Any] = {"message": str(failure), "extensions": failure.extensions}
    operation = ready.operation
    root = ready.graphql_schema.get_root_type(operation.operation)
    selections = operation.selection_set.selections
    if root is None or not all(
        isinstance(field, FieldNode) and not field.directives for field in selections
    ):
        return orjson.dumps({"errors": [error], "data": None})
    data: dict[str, Any] | None = {}
    errors = []
    for field in cast(tuple[FieldNode, ...], selections):
        key = field.alias.value if field.alias else field.name.value
        if field.name.value == "__typename":
            if data is not None:
                data[key] = root.name
            continue
        located = {**error, "path": [key]}
        if field.loc is not None:
            where = get_location(field.loc.source, field.loc.start)
            located["locations"] = [{"line": where.line, "column": where.column}]
        errors.append(located)
        definition = root.fields.get(field.name.value)
        if definition is None or is_non_null_type(definition.type):
            return orjson.dumps({"data": None, "errors": errors})  # execution stops there
        if data is not None:
            data[key] = None
    return orjson.dumps({"data": data, "errors": errors})


class FastPathMiddleware:
    """Hands `POST /graphql` JSON requests with a bearer token to the fast path, ahead of the
    router and the GraphQL view; whatever it declines goes on to them with its body intact.
    Installed inside the request context, CORS and the body limit (graph/http/operations.py)."""

    def __init__(self, app: ASGIApp, fast_path: FastPath, path: str = "/graphql") -> None:
        self.app = app
        self.fast_path = fast_path
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != self.path
            or not self.fast_path.settings.compile_queries
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        authorization = headers.get(b"authorization")
        if content_type != JSON_MEDIA_TYPE or authorization is None:
            await self.app(scope, receive, send)
            return
        body, more_body = b"", True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            body += message.get("body", b"")
            more_body = message.get("more_body", False)
        try:
            answer = await self.fast_path.answer(body, authorization.decode("latin-1"), scope)
        except Exception:  # a fault of its own: the normal path answers, as the API documents
            log.exception("the fast path failed; the normal path answers")
            answer = None
        if answer is None:
            await self.app(scope, _replay(body, receive), send)
            return
        media_type = negotiate(headers.get(b"accept", b"").decode("latin-1"))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", f"{media_type}; charset=utf-8".encode()),
                    (b"content-length", str(len(answer)).encode()),
                    (b"vary", b"Accept"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then whatever comes next."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
