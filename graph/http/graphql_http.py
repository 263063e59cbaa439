"""GraphQL over HTTP, as the specification (graphql.github.io/graphql-over-http) asks.

- Media types: `application/graphql-response+json` when the client accepts it (preferred
  at equal quality), else `application/json` (also for `*/*` or no `Accept`, as the
  graphql-http audits expect). Both carry `charset=utf-8`.
- Status codes: a malformed request (unparsable JSON, a parameter of the wrong type, no
  query, an unsupported content type) is 400 (415 for the content type) with a GraphQL-shaped
  JSON body. A *request error* (parse, validation, limits, variables, unknown persisted query)
  has no `data` entry; it is 400 under `application/graphql-response+json` and 200 under
  `application/json`. Executed operations are 200, field errors and all.
- GET runs queries only: a mutation over GET is 405 with `Allow: POST`.
- Batches (a JSON array of requests) run in order, at most `FISIOFLOW_MAX_BATCH_OPERATIONS` of
  them, each in a transaction of its own (a mutation's root fields each in their own,
  graph/extensions/units.py): a failing operation never undoes a sibling's writes.
- Bodies larger than `FISIOFLOW_MAX_BODY_BYTES` are refused with 413 before they are read
  whole (`BodyLimitMiddleware`).

GraphiQL is served from this server's own files (`graph/http/static/graphiql`, no CDN) on a GET
that asks for HTML, unless switched off (production default).
"""

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, overload

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from graph.api.context import Context
from graph.core.errors import (
    BAD_USER_INPUT,
    INTERNAL,
    NOT_FOUND,
    PERSISTED_QUERY_NOT_FOUND,
    QUERY_TOO_COMPLEX,
    VALIDATION_FAILED,
    ApiError,
)
from graph.http.view import GraphQLView, withheld
from graph.observability.metrics import metrics_of, record_refusal
from graph.security.persisted import PersistedQueries, with_document_id

log = logging.getLogger("fisioflow.errors")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
STATIC_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
GRAPHIQL_PAGE = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
GRAPHIQL_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
        " img-src 'self' data:; font-src 'self' data:; connect-src 'self';"
        " frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# Errors that end a request before execution: the response has no `data` entry.
REQUEST_ERROR_CODES = frozenset({QUERY_TOO_COMPLEX, PERSISTED_QUERY_NOT_FOUND, VALIDATION_FAILED})
STATUS_CODES = {404: NOT_FOUND, 413: QUERY_TOO_COMPLEX}


class HttpError(HTTPException):
    """A refusal before any GraphQL runs, answered as a GraphQL-shaped JSON error."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str = BAD_USER_INPUT,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, message)
        self.code = code
        self.field = field
        self.headers = dict(headers or {})


def negotiate(accept: str | None) -> str:
    """The response media type for an `Accept` header (see the module's docstring)."""
    best: tuple[float, int] = (0.0, -1)
    chosen = JSON
    for part in (accept or "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        rank = {GRAPHQL_RESPONSE_JSON: 2, JSON: 1, "application/*": 0, "*/*": 0}.get(
            media.lower(), -1
        )
        if rank < 0 or quality <= 0:
            continue
        if (quality, rank) > best:
            best = (quality, rank)
            chosen = GRAPHQL_RESPONSE_JSON if rank == 2 else JSON
    return chosen


def is_request_error(result: ExecutionResult) -> bool:
    """True when the operation never ran: parse, validation, limit or variable errors."""
    if isinstance(result, PreExecutionError):
        return True
    if result.data is not None or not result.errors:
        return False
    for error in result.errors:
        code = (error.extensions or {}).get("code")
        variable_error = code == BAD_USER_INPUT and error.message.startswith("Variable '$")
        if error.path is not None or not (code in REQUEST_ERROR_CODES or variable_error):
            return False
    return True


def error_body(message: str, code: str, field: str | None = None) -> dict[str, Any]:
    extensions: dict[str, Any] = {"code": code}
    if field is not None:
        extensions["field"] = field
    return {"errors": [{"message": message, "extensions": extensions}]}


def json_response(
    body: object, status: int, media_type: str, headers: Mapping[str, str] | None = None
) -> Response:
    response = Response(orjson.dumps(body), status_code=status, headers=dict(headers or {}))
    response.headers["content-type"] = f"{media_type}; charset=utf-8"
    response.headers["vary"] = "Accept"
    return response


def _request_error(message: str, code: str, field: str | None = None) -> PreExecutionError:
    extensions: dict[str, Any] = {"code": code}
    if field is not None:
        extensions["field"] = field
    return PreExecutionError(data=None, errors=[GraphQLError(message, extensions=extensions)])


def _ensure_codes(result: ExecutionResult) -> None:
    """Every error the client sees has a code. An exception raised by an extension hook
    leaves the operation before MaskInternalErrors runs: such errors are masked here."""
    if not result.errors:
        return
    errors: list[GraphQLError] = []
    for error in result.errors:
        original = error.original_error
        if (error.extensions or {}).get("code"):
            errors.append(error)
        elif original is None or isinstance(original, GraphQLError):
            error.extensions = {**(error.extensions or {}), "code": VALIDATION_FAILED}
            errors.append(error)
        else:
            log.error("unexpected error outside the resolvers", exc_info=original)
            errors.append(GraphQLError("Internal server error", extensions={"code": INTERNAL}))
    result.errors = errors


class HttpView(GraphQLView):
    """The GraphQL view with the GraphQL-over-HTTP rules, persisted queries and GraphiQL."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.graphql_ide = "graphiql" if self.settings.enabled("graphiql") else None
        self.persisted = PersistedQueries.from_settings(self.settings)

    # -- GraphiQL ----------------------------------------------------------------------

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        params = request.query_params
        return (
            request.method == "GET"
            and not any(params.get(name) for name in ("query", "extensions", "documentId"))
            and "text/html" in request.headers.get("accept", "")
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(GRAPHIQL_PAGE, headers=GRAPHIQL_HEADERS)

    # -- the request -------------------------------------------------------------------

    @overload
    async def run(
        self, request: Request, context: Context = UNSET, root_value: None = UNSET
    ) -> Response: ...

    @overload
    async def run(
        self, request: WebSocket, context: Context = UNSET, root_value: None = UNSET
    ) -> WebSocket: ...

    async def run(
        self, request: Request | WebSocket, context: Context = UNSET, root_value: None = UNSET
    ) -> Response | WebSocket:
        if isinstance(request, WebSocket):
            return await super().run(request, context, root_value)
        try:
            return await super().run(request, context, root_value)
        except HTTPException as error:
            code = getattr(error, "code", None) or STATUS_CODES.get(
                error.status_code, BAD_USER_INPUT
            )
            return json_response(
                error_body(error.reason, code, getattr(error, "field", None)),
                error.status_code,
                negotiate(request.headers.get("accept")),
                getattr(error, "headers", None),
            )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = negotiate(request.headers.get("accept"))
        return sub_response

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data: Any
        if request.method == "GET":
            data = {}
            for name, value in request.query_params.items():
                if isinstance(value, list):
                    raise HttpError(400, f"The `{name}` parameter is given more than once")
                data[name] = value
            for name in ("variables", "extensions"):
                if data.get(name):
                    data[name] = self._json(data[name], name)
        else:
            content_type, _ = parse_content_type(request.content_type or "")
            if content_type.lower() != JSON:
                raise HttpError(415, "Send the request as application/json")
            body = await request.get_body()
            if not body.strip():
                raise HttpError(400, "The request body is empty", field="query")
            data = self._json(body, "body")
        if isinstance(data, list):
            limit = self.settings.max_batch_operations
            if not data:
                raise HttpError(400, "The batch is empty")
            if len(data) > limit:
                raise HttpError(
                    400,
                    f"A batch may hold at most {limit} operations; this one has {len(data)}",
                    code=QUERY_TOO_COMPLEX,
                )
            return [self._request_data(item) for item in data]
        return self._request_data(data)

    def _json(self, raw: str | bytes, field: str) -> Any:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise HttpError(400, f"The {field} is not valid JSON", field=field) from None

    def _request_data(self, data: Any) -> GraphQLRequestData:
        if not isinstance(data, dict):
            raise HttpError(400, "A GraphQL request is a JSON object")
        query = data.get("query")
        operation_name = data.get("operationName")
        variables = data.get("variables")
        extensions = data.get("extensions")
        document_id = data.get("documentId")
        for name, value, kind in (
            ("query", query, str),
            ("operationName", operation_name, str),
            ("variables", variables, dict),
            ("extensions", extensions, dict),
            ("documentId", document_id, str),
        ):
            if value is not None and not isinstance(value, kind):
                expected = "a string" if kind is str else "an object"
                raise HttpError(400, f"`{name}` must be {expected} or null", field=name)
        extensions = with_document_id(extensions, document_id)
        if query is None and not (extensions or {}).get("persistedQuery"):
            raise HttpError(400, "The request has no `query`", field="query")
        return GraphQLRequestData(
            query=query,
            variables=variables,
            operation_name=operation_name,
            extensions=extensions,
        )

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult]:
        batch = isinstance(request_data, list)
        if batch:
            # Strawberry gathers a batch's operations concurrently; they share the request's
            # connection, so run them one after another, in order.
            request.state.graphql_batch_lock = asyncio.Lock()
        result = await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )
        if (
            isinstance(result, ExecutionResult)
            and sub_response.media_type == GRAPHQL_RESPONSE_JSON
            and is_request_error(result)
        ):
            sub_response.status_code = 400
        return result

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        lock: asyncio.Lock | None = getattr(request.state, "graphql_batch_lock", None)
        if lock is None:
            return await self._execute_one(
                request, request_adapter, sub_response, context, request_data, batch=False
            )
        async with lock:
            result = await self._execute_one(
                request, request_adapter, sub_response, context, request_data, batch=True
            )
            # Each operation of a batch is its own transaction.
            try:
                await context.db.end_transaction(commit=not result.errors)
            except ApiError as error:
                return withheld(error)
            return result

    async def _execute_one(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        request_data: GraphQLRequestData,
        *,
        batch: bool,
    ) -> ExecutionResult:
        try:
            resolved = self.persisted.resolve(request_data.query, request_data.extensions)
        except GraphQLError as error:
            record_refusal(request, error)
            return PreExecutionError(data=None, errors=[error])
        metrics = metrics_of(request)
        if metrics is not None and (request_data.extensions or {}).get("persistedQuery"):
            metrics.persisted_queries.labels("hit" if request_data.query is None else "sent").inc()
        if resolved.query != request_data.query:
            request_data = dataclasses.replace(request_data, query=resolved.query)
        # What Strawberry's execute_single does, with the operation types this server takes
        # over HTTP: queries (GET and POST) and mutations (POST). Subscriptions need a
        # websocket; Strawberry would otherwise try them over HTTP and fail.
        method = request_adapter.method
        allowed = {OperationType.QUERY}
        if method == "POST":
            allowed.add(OperationType.MUTATION)
        try:
            result = await self.schema.execute(
                request_data.query,
                root_value=None,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except (CannotGetOperationTypeError, InvalidOperationTypeError, MissingQueryError) as error:
            refusal = self._refusal(error, method, batch=batch)
            if isinstance(refusal, HttpError):
                raise refusal from None
            return refusal
        if resolved.register_as and resolved.query and not is_request_error(result):
            self.persisted.register(resolved.register_as, resolved.query)
        return result

    def _refusal(
        self, error: Exception, method: str, *, batch: bool
    ) -> HttpError | PreExecutionError:
        if isinstance(error, InvalidOperationTypeError):
            if error.operation_type is OperationType.MUTATION and method == "GET" and not batch:
                return HttpError(
                    405,
                    "Only queries may be sent with GET; send mutations with POST",
                    headers={"Allow": "POST"},
                )
            if error.operation_type is OperationType.SUBSCRIPTION:
                return _request_error(
                    "Subscriptions are served over a websocket on this path (graphql-transport-ws)",
                    BAD_USER_INPUT,
                    "query",
                )
            return _request_error(error.as_http_error_reason(method), BAD_USER_INPUT, "query")
        if isinstance(error, CannotGetOperationTypeError):
            return _request_error(error.as_http_error_reason(), BAD_USER_INPUT, "operationName")
        return _request_error("The request has no `query`", BAD_USER_INPUT, "query")

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        _ensure_codes(result)
        response = await super().process_result(request, result)
        if is_request_error(result):
            response.pop("data", None)
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = f"{sub_response.media_type or JSON}; charset=utf-8"
        response.headers["vary"] = "Accept"
        return response


class BodyLimitMiddleware:
    """413 for a request body over `max_bytes`: by `Content-Length` before reading, and by
    counting while reading for a chunked body. The answer is a GraphQL-shaped JSON error."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
        response = json_response(
            error_body(
                f"The request body is larger than {self.max_bytes} bytes",
                QUERY_TOO_COMPLEX,
            ),
            413,
            negotiate(accept),
            {"Connection": "close"},
        )
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass
