"""The fast path: a repeat of a compiled operation (a read, or a compiled mutation such as
`scheduleAppointment`), answered from the HTTP request to PostgreSQL's JSON with no GraphQL
execution machinery in between.

A document reaches `compiled_execution.validated` only after the normal path parsed it,
validated it, checked its limits and compiled it. A later POST of the same document is
answered here: the token is verified, the variables coerced against the operation's
definitions and the cost limit re-checked with them. Then one round trip: `gql_execute`
(migrations 0007, 0008, 0016) checks the caller's identity against the login's row (active,
same clinic, role, physiotherapist, patient and token version), sets it and runs the plan's
statement, prepared once per connection, as fisioflow_app under row-level security, in an
implicit transaction of its own (a write commits with it). PostgreSQL builds the response
body; it is sent wrapped in `{"data": ...}`.

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
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast

import asyncpg
import orjson
from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    is_non_null_type,
)
from graphql.language.location import get_location
from starlette.datastructures import Headers
from starlette.types import Scope

from graph.core.cursors import CursorCodec
from graph.core.errors import SERVICE_UNAVAILABLE, ApiError, unavailable_or_timeout
from graph.core.identity import Identity
from graph.core.lru import LruCache
from graph.core.settings import Settings
from graph.extensions.compiled_queries import (
    ValidatedOperation,
    coerce_variables,
    plan_for,
    validated,
)
from graph.extensions.replica_reads import replica_for
from graph.http.request import GraphQLRequest
from graph.observability.logging import current_request
from graph.observability.metrics import metrics_in
from graph.security.auth import TokenVerifier, bearer_token
from graph.security.input_limits import check_operation
from graph.security.limits import query_cost
from graph.security.persisted import PersistedQueries
from graph.sql.compiler import MISSING, Plan
from graph.sql.database import listen_dsn
from graph.sql.pooling import asyncpg_options, server_settings
from graph.sql.replicas import ReadRouting

# One round trip: the identity checked against the login's row, its settings and the prepared
# statement (migrations 0007, 0008 and 0016).
EXECUTE_SQL = "select gql_execute($1, $2, $3, $4, $5, $6, $7, $8, $9)"
# The same, with the statement's text instead of a prepared statement's name (migration 0025):
# behind a pooler in transaction mode.
EXECUTE_STATEMENT_SQL = "select gql_execute_statement($1, $2, $3, $4, $5, $6, $7, $8, $9)"
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


def identity_arguments(identity: Identity) -> tuple[object, ...]:
    """The caller, as `gql_execute` and `gql_execute_statement` take it."""
    return (
        identity.user_id,
        identity.clinic_id,
        identity.role.value,
        identity.physiotherapist_id,
        identity.patient_id,
        identity.external_subject,
        identity.token_version,
    )


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
        self,
        settings: Settings,
        tokens: TokenVerifier,
        persisted: PersistedQueries,
        cursors: CursorCodec,
        routing: ReadRouting | None = None,
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.persisted = persisted
        self.cursors = cursors
        self.routing = routing
        # A pool per database: the primary, and each replica a query may read from.
        self._pools: dict[str, asyncpg.Pool] = {}
        self._pool_lock = asyncio.Lock()
        self._costs: LruCache[int] = LruCache()
        # What each connection runs under: set at startup on a direct connection, in each
        # transaction behind a transaction-mode pooler.
        self._session_settings = {"jit": "off"}
        if settings.statement_timeout_ms is not None:
            self._session_settings["statement_timeout"] = str(settings.statement_timeout_ms)
        self._begin_script = "BEGIN; " + " ".join(
            f"SET LOCAL {name} = {value};" for name, value in self._session_settings.items()
        )
        # Told of each statement sent (SQLAlchemy's events do not see these): metrics, tests.
        self.statement_listeners: list[Callable[[str], None]] = []

    async def answer(
        self, request: GraphQLRequest, authorization: str | None, scope: Scope
    ) -> bytes | None:
        """The response body for a POSTed JSON request, or None: then it takes the normal path."""
        started = time.perf_counter()
        admitted = await self._admit(request, authorization)
        if admitted is None:
            return None
        ready, identity, plan, arguments = admitted
        persisted = ("hit" if request.query is None else "sent") if request.persisted else None
        replica = None
        if self.routing is not None:
            if ready.operation.operation is not OperationType.QUERY:
                return None  # the normal path remembers the login's write (X-FisioFlow-LSN)
            replica = replica_for(self.routing, identity.user_id, Headers(scope=scope))
        try:
            if replica is not None:
                try:
                    text = await self._run(replica.url, identity, plan, arguments)
                except ApiError as failure:
                    if failure.extensions["code"] != SERVICE_UNAVAILABLE:
                        raise
                    assert self.routing is not None
                    self.routing.skip(replica)
                    replica = None
            if replica is None:
                text = await self._run(self._primary_url, identity, plan, arguments)
        except ApiError as failure:  # a timeout or an outage: not for the normal path again
            outcome = str(failure.extensions["code"])
            self._record(scope, ready.operation, time.perf_counter() - started, persisted, outcome)
            return failure_body(ready, failure)
        if text is None or MISSING in text:
            return None
        self._record(scope, ready.operation, time.perf_counter() - started, persisted)
        return b'{"data":' + text.encode() + b"}"

    async def _admit(
        self, request: GraphQLRequest, authorization: str | None
    ) -> tuple[ValidatedOperation, Identity, Plan, list[str | None]] | None:
        """What the one statement needs, when the request may take the fast path: a compiled
        document, a valid token, valid variables within the limits and arguments the plan
        accepts; else None."""
        try:
            token = bearer_token(authorization)
        except ApiError:
            return None
        query = self._document(request) if token is not None else None
        known, ready = validated.get((query, request.operation_name))
        if token is None or query is None or not known or ready is None:
            return None
        try:
            identity, _ = await self.tokens.verify(token)
        except ApiError:
            return None
        if identity.password_change_required:  # the normal path refuses it, saying why
            return None
        variables = self._variables(ready, query, request)
        if variables is None:
            return None
        plan = plan_for(ready, query, request.operation_name, variables)
        if plan is None:
            return None
        try:
            arguments = plan.arguments(variables, self.cursors, identity)
        except Exception:  # an argument the resolvers refuse: they say why
            return None
        return ready, identity, plan, arguments

    def _document(self, request: GraphQLRequest) -> str | None:
        """The query text, sent or persisted (APQ or `documentId`), as the persisted-query rules
        (graph/security/persisted.py, the allow-list included) admit it; None when only the
        normal path can tell (no text, an unknown hash, one to register, a refusal, other
        extensions). The lookup's outcome stays with the request, for the normal path."""
        if request.extensions and set(request.extensions) != {"persistedQuery"}:
            return None
        try:
            resolved = request.document(self.persisted)
        except GraphQLError:
            return None
        return None if resolved.register_as else resolved.query

    def _variables(
        self, ready: ValidatedOperation, query: str, request: GraphQLRequest
    ) -> dict[str, Any] | None:
        """The coerced variables, if valid, within the cost limit and the input limits."""
        variables = coerce_variables(ready.graphql_schema, ready.operation, request.variables)
        if variables is None or self._too_costly(ready, query, request.operation_name, variables):
            return None
        try:
            check_operation(ready.graphql_schema, ready.document, ready.operation, variables)
        except ApiError:  # hostile input: the normal path refuses it, naming the field
            return None
        return variables

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

    @property
    def _primary_url(self) -> str:
        assert self.settings.database_url is not None
        return self.settings.database_url

    async def _connections(self, url: str) -> asyncpg.Pool:
        """Its own asyncpg pool of the database at `url`: SQLAlchemy's adds a greenlet switch
        per call here. No reset on release: every request sets the identity it runs under,
        transaction-local, in the one statement it sends."""
        async with self._pool_lock:
            if url not in self._pools:

                async def no_reset(connection: asyncpg.Connection) -> None:
                    return None

                self._pools[url] = await asyncpg.create_pool(
                    listen_dsn(url),
                    min_size=1,
                    max_size=self.settings.pool_size,
                    reset=no_reset,
                    connection_class=FastConnection,
                    server_settings=server_settings(
                        self.settings.pooler, "fisioflow-fast", **self._session_settings
                    ),
                    **asyncpg_options(self.settings.pooler),
                )
            return self._pools[url]

    async def close(self) -> None:
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            await pool.close()

    async def _run(
        self, url: str, identity: Identity, plan: Plan, arguments: list[str | None]
    ) -> str | None:
        """The plan's JSON text from the database at `url`; None for a refusal the normal path
        words better; TIMEOUT or SERVICE_UNAVAILABLE (raised) when the statement must not be
        sent again."""
        try:
            pool = await self._connections(url)
            async with pool.acquire() as acquired:
                # The pool hands out a proxy that forwards attributes to the FastConnection.
                connection = cast(FastConnection, acquired)
                if self.settings.pooler == "transaction":
                    text = await self._execute_unprepared(connection, identity, plan, arguments)
                else:
                    text = await self._execute_prepared(connection, identity, plan, arguments)
        except Exception as error:
            failure = unavailable_or_timeout(error)
            if failure is not None:
                raise failure from None
            return None  # an inactive login, a taken slot, ...: the normal path words them
        return str(text)

    async def _execute_prepared(
        self,
        connection: FastConnection,
        identity: Identity,
        plan: Plan,
        arguments: list[str | None],
    ) -> object:
        """`gql_execute`: the statement prepared once per connection, one round trip."""
        await self._prepare(connection, plan)
        self._sent(plan.sql)
        try:
            return await connection.fetchval(
                EXECUTE_SQL, *identity_arguments(identity), plan.name, arguments
            )
        except asyncpg.InvalidSQLStatementNameError:
            connection.prepared.pop(plan.name, None)  # prepared again next time
            raise

    async def _execute_unprepared(
        self,
        connection: FastConnection,
        identity: Identity,
        plan: Plan,
        arguments: list[str | None],
    ) -> object:
        """Behind a transaction-mode pooler: `gql_execute_statement` with the statement's text,
        in a transaction that first sets, transaction-local, what a direct connection sets at
        startup (graph/sql/pooling.py). Three round trips, no state left on the session."""
        await connection.execute(self._begin_script)
        try:
            self._sent(plan.sql)
            text = await connection.fetchval(
                EXECUTE_STATEMENT_SQL, *identity_arguments(identity), plan.sql, arguments
            )
        except BaseException:
            if not connection.is_closed():
                with contextlib.suppress(Exception):
                    await connection.execute("ROLLBACK")
            raise
        await connection.execute("COMMIT")
        return text

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
