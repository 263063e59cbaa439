"""The GraphQL endpoint, `/graphql`: GraphQL over HTTP (graphql.github.io/graphql-over-http)
in one pass, and subscriptions over websockets (Strawberry's protocol handlers; over
graphql-transport-ws, graph/http/fanout.py's, which runs each subscription in its fan-out group).

HTTP, `GraphQLView.answer`: the media type (graph/http/media.py); GraphiQL for a browser
(graph/http/static.py); the request(s) read, or taken as the fast path handed them on
(graph/http/request.py); the caller's token; each operation's document by the persisted-query
rules, looked up once; `schema.execute`; the transaction's end; the JSON body
(graph/http/results.py).

- GET runs queries only: a mutation over GET is 405 with `Allow: POST`.
- Batches run in order, each operation in a transaction of its own (a mutation's root fields
  each in their own, graph/extensions/units.py): a failing operation never undoes a
  sibling's writes.
- The request's last transaction commits if the response has no error; if reads of clinical
  records could not be audited, the response shows no data.
"""

from contextlib import suppress
from datetime import timedelta
from functools import partial
from typing import cast

import orjson
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from graph.api.context import Context
from graph.core.cursors import CursorCodec
from graph.core.errors import BAD_USER_INPUT, NOT_FOUND, ApiError
from graph.core.identity import Identity
from graph.core.settings import Settings
from graph.http.fanout import FanOut, FanOutHandler
from graph.http.media import error_response, json_response, negotiate
from graph.http.request import GraphQLRequest, HttpError, handed_on, read_http
from graph.http.results import encode, is_request_error, request_error, status_of, withheld
from graph.http.static import asks_for_graphiql, graphiql_page
from graph.http.ws_frames import TextFrameWebSocketAdapter
from graph.observability.metrics import metrics_of, record_refusal
from graph.realtime.broker import Broker
from graph.realtime.stages import StageClock
from graph.schema import schema
from graph.security.auth import TokenVerifier, bearer_token
from graph.security.credentials import login_by_external_subject
from graph.security.jwks import JwksKeys
from graph.security.persisted import PersistedQueries
from graph.sql.replicas import ReadRouting, format_lsn

# What each method may run: subscriptions need a websocket.
ALLOWED_OPERATIONS = {
    "GET": frozenset({OperationType.QUERY}),
    "POST": frozenset({OperationType.QUERY, OperationType.MUTATION}),
}


class GraphQLView(GraphQL[Context, None]):
    websocket_adapter_class = TextFrameWebSocketAdapter
    graphql_transport_ws_handler_class = FanOutHandler

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        jwt_secret: str,
        broker: Broker | None,
        routing: ReadRouting | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide=None,  # GraphiQL is served from our own files (graph/http/static.py)
            allowed_origins=settings.allowed_origins,
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            connection_init_wait_timeout=timedelta(seconds=10),
        )
        self.settings = settings
        self.engine = engine
        self.jwt_secret = jwt_secret
        self.cursors = CursorCodec.from_secret(settings.resolved_cursor_secret())
        self.tokens = TokenVerifier(
            jwt_secret,
            JwksKeys(settings.jwks_url) if settings.jwks_url else None,
            settings.jwt_audience,
            external_logins=partial(login_by_external_subject, engine),
        )
        self.broker = broker
        self.routing = routing
        self.fanout = FanOut(self.schema, StageClock(False) if broker is None else broker.stages)
        self.persisted = PersistedQueries.from_settings(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.serve_websocket(WebSocket(scope, receive=receive, send=send))
            return
        response = await self.answer(Request(scope, receive=receive))
        await response(scope, receive, send)

    # -- HTTP --------------------------------------------------------------------------

    async def answer(self, request: Request) -> Response:
        """The response to a GET or POST of `/graphql` (see the module docstring)."""
        media_type = negotiate(request.headers.get("accept"))
        try:
            if request.method not in ALLOWED_OPERATIONS:  # HEAD, which Starlette routes with GET
                raise HttpError(405, "GraphQL only supports GET and POST requests.")
            if asks_for_graphiql(request.method, request.query_params, request.headers):
                if not self.settings.enabled("graphiql"):
                    raise HttpError(404, "Not Found", code=NOT_FOUND)
                return graphiql_page()
            operations = handed_on(request) or await read_http(
                request, self.settings.max_batch_operations
            )
            context = await self.get_context(request, None)
            if isinstance(operations, list):
                results = await self._run_batch(request, context, operations)
                return _with_position(json_response(encode(results), 200, media_type), context)
            result = await self._run_one(request, context, operations)
        except HttpError as error:
            return error_response(
                error.status_code,
                media_type,
                error.reason,
                error.code,
                error.field,
                error.headers,
            )
        status = status_of(result, media_type)  # before encode() gives every error a code
        return _with_position(json_response(encode(result), status, media_type), context)

    async def _run_one(
        self, request: Request, context: Context, operation: GraphQLRequest
    ) -> ExecutionResult:
        """The operation, then the end of the request's transaction (commit if no error; a
        mutation's root fields committed each on its own)."""
        try:
            result = await self._execute(request, context, operation, batch=False)
        except BaseException:
            with suppress(ApiError):
                await context.db.finish(commit=False)
            raise
        try:
            await context.db.finish(commit=not result.errors)
        except ApiError as error:
            return withheld(error)
        return result

    async def _run_batch(
        self, request: Request, context: Context, operations: list[GraphQLRequest]
    ) -> list[ExecutionResult]:
        """The operations in order, each its own transaction, over the request's connection."""
        results: list[ExecutionResult] = []
        try:
            for operation in operations:
                result = await self._execute(request, context, operation, batch=True)
                try:
                    await context.db.end_transaction(commit=not result.errors)
                except ApiError as error:
                    result = withheld(error)
                results.append(result)
        except BaseException:
            with suppress(ApiError):
                await context.db.finish(commit=False)
            raise
        try:
            await context.db.finish(commit=not any(result.errors for result in results))
        except ApiError as error:
            return [withheld(error) for _ in results]
        return results

    async def _execute(
        self, request: Request, context: Context, operation: GraphQLRequest, *, batch: bool
    ) -> ExecutionResult:
        try:
            document = operation.document(self.persisted)
        except GraphQLError as error:
            record_refusal(request, error)
            return PreExecutionError(data=None, errors=[error])
        metrics = metrics_of(request)
        if metrics is not None and operation.persisted:
            metrics.persisted_queries.labels("hit" if operation.query is None else "sent").inc()
        try:
            result = await self.schema.execute(
                document.query,
                variable_values=operation.variables,
                context_value=context,
                operation_name=operation.operation_name,
                allowed_operation_types=ALLOWED_OPERATIONS[request.method],
                operation_extensions=operation.extensions,
            )
        except (CannotGetOperationTypeError, InvalidOperationTypeError, MissingQueryError) as error:
            refusal = _refusal(error, request.method, batch=batch)
            if isinstance(refusal, HttpError):
                raise refusal from None
            return refusal
        if document.register_as and document.query and not is_request_error(result):
            self.persisted.register(document.register_as, document.query)
        return result

    # -- both --------------------------------------------------------------------------

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        identity: Identity | None = None
        auth_error: ApiError | None = None
        try:
            # A websocket authenticates in its connection_init payload (on_ws_connect).
            token = (
                None
                if isinstance(request, WebSocket)
                else bearer_token(request.headers.get("authorization"))
            )
            if token is not None:
                identity = (await self.tokens.verify(token))[0]
        except ApiError as error:
            auth_error = error
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            engine=self.engine,
            jwt_secret=self.jwt_secret,
            cursors=self.cursors,
            identity=identity,
            auth_error=auth_error,
            broker=self.broker,
            routing=self.routing,
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    # -- websockets --------------------------------------------------------------------

    async def serve_websocket(self, websocket: WebSocket) -> None:
        context = await self.get_context(websocket, websocket)
        if self.broker is not None:
            self.broker.websockets.add(websocket)
        try:
            await self.run(websocket, context=context)
        finally:
            if self.broker is not None:
                self.broker.websockets.discard(websocket)
            context.stop_expiry_watch()

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        """A cross-origin handshake: the same rule as CORS on HTTP (Settings.origin_allowed)."""
        return self.settings.origin_allowed(origin)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the websocket from `connection_init`: no valid token, a login that may
        no longer act (deactivated, anonymized), a token the login's version left behind or one
        only good for changing the password, no connection (4403). The login is checked by
        the same identity round trip that opens every HTTP request's transaction."""
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        if not header and params.get("token"):
            header = f"Bearer {params['token']}"
        try:
            token = bearer_token(str(header) if header else None)
            if token is None:
                raise ConnectionRejectionError({"message": "Authentication required"})
            identity, expires_at = await self.tokens.verify(token)
        except ApiError as error:
            raise ConnectionRejectionError({"message": str(error)}) from None
        if identity.password_change_required:
            raise ConnectionRejectionError({"message": "Change the password first"})
        context.authenticate(identity, expires_at)
        try:
            await context.db.begin()
        except ApiError as error:
            raise ConnectionRejectionError({"message": str(error)}) from None
        finally:
            await context.db.finish(commit=False)
        context.start_expiry_watch()
        return cast(UnsetType, UNSET)


def _with_position(response: Response, context: Context) -> Response:
    """A mutation's response carries the primary's WAL position after it (`X-FisioFlow-LSN`,
    graph/extensions/replica_reads.py): sent back as `X-FisioFlow-Min-LSN`, any server
    process reads what it wrote."""
    if context.wrote_at is not None:
        response.headers["X-FisioFlow-LSN"] = format_lsn(context.wrote_at)
    return response


def _refusal(error: Exception, method: str, *, batch: bool) -> HttpError | PreExecutionError:
    """An operation of a type this method does not run, or no operation to run."""
    if isinstance(error, InvalidOperationTypeError):
        if error.operation_type is OperationType.MUTATION and method == "GET" and not batch:
            return HttpError(
                405,
                "Only queries may be sent with GET; send mutations with POST",
                headers={"Allow": "POST"},
            )
        if error.operation_type is OperationType.SUBSCRIPTION:
            return request_error(
                "Subscriptions are served over a websocket on this path (graphql-transport-ws)",
                BAD_USER_INPUT,
                "query",
            )
        return request_error(error.as_http_error_reason(method), BAD_USER_INPUT, "query")
    if isinstance(error, CannotGetOperationTypeError):
        return request_error(error.as_http_error_reason(), BAD_USER_INPUT, "operationName")
    return request_error("The request has no `query`", BAD_USER_INPUT, "query")
