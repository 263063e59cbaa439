"""What a GraphQL request over HTTP asks for, read once at the edge.

- GET: the query-string parameters (`variables` and `extensions` as JSON); POST: a JSON
  body (`application/json`, else 415), one request or a batch (a JSON array of at most
  `FISIOFLOW_MAX_BATCH_OPERATIONS`).
- A malformed request (unparsable JSON, a parameter of the wrong type, no query) is an
  `HttpError`: 400 with a GraphQL-shaped JSON body.
- The document of each operation is resolved by the persisted-query rules
  (graph/security/persisted.py) once per request: `GraphQLRequest.document` remembers the
  outcome, and the fast path hands the request it read on to the view
  (`hand_on` / `handed_on`), so a fast-path miss does not look it up again.

Free of the schema, so the fast path can read requests without loading it.
"""

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from strawberry.http.parse_content_type import parse_content_type

from graph.core.errors import BAD_USER_INPUT, QUERY_TOO_COMPLEX
from graph.http.media import JSON
from graph.security.persisted import PersistedQueries, Resolved, with_document_id

# Where the fast path leaves the request it read, in the ASGI scope's state.
HANDED_ON = "fisioflow.graphql_request"
_PARAMETERS: tuple[tuple[str, type, str], ...] = (
    ("query", str, "a string"),
    ("operationName", str, "a string"),
    ("variables", dict, "an object"),
    ("extensions", dict, "an object"),
    ("documentId", str, "a string"),
)


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


@dataclass
class GraphQLRequest:
    """One operation of a request, as the client sent it (`documentId` folded into
    `extensions` as the APQ extension it stands for)."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    _document: Resolved | GraphQLError | None = field(default=None, repr=False)

    @property
    def persisted(self) -> bool:
        return bool((self.extensions or {}).get("persistedQuery"))

    def document(self, persisted: PersistedQueries) -> Resolved:
        """The document to run, by the persisted-query rules, looked up on the first call
        only; raises the GraphQLError (a miss, a refusal) the client can act on."""
        if self._document is None:
            try:
                self._document = persisted.resolve(self.query, self.extensions)
            except GraphQLError as refusal:
                self._document = refusal
        if isinstance(self._document, GraphQLError):
            raise self._document
        return self._document


def parse_json(raw: str | bytes, name: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HttpError(400, f"The {name} is not valid JSON", field=name) from None


def read_request(data: Any) -> GraphQLRequest:
    """One operation from a decoded JSON object (or query string); HttpError if malformed."""
    if not isinstance(data, dict):
        raise HttpError(400, "A GraphQL request is a JSON object")
    for name, kind, expected in _PARAMETERS:
        value = data.get(name)
        if value is not None and not isinstance(value, kind):
            raise HttpError(400, f"`{name}` must be {expected} or null", field=name)
    query = data.get("query")
    extensions = with_document_id(data.get("extensions"), data.get("documentId"))
    if query is None and not (extensions or {}).get("persistedQuery"):
        raise HttpError(400, "The request has no `query`", field="query")
    return GraphQLRequest(query, data.get("variables"), data.get("operationName"), extensions)


def read_batch(data: list[Any], limit: int) -> list[GraphQLRequest]:
    if not data:
        raise HttpError(400, "The batch is empty")
    if len(data) > limit:
        raise HttpError(
            400,
            f"A batch may hold at most {limit} operations; this one has {len(data)}",
            code=QUERY_TOO_COMPLEX,
        )
    return [read_request(item) for item in data]


async def read_http(request: Request, batch_limit: int) -> GraphQLRequest | list[GraphQLRequest]:
    """The request's operation(s), from its query string (GET) or JSON body (POST)."""
    data: Any
    if request.method == "GET":
        data = dict(request.query_params)
        for name in ("variables", "extensions"):
            if data.get(name):
                data[name] = parse_json(data[name], name)
    else:
        content_type, _ = parse_content_type(request.headers.get("content-type", ""))
        if content_type.lower() != JSON:
            raise HttpError(415, "Send the request as application/json")
        body = await request.body()
        if not body.strip():
            raise HttpError(400, "The request body is empty", field="query")
        data = parse_json(body, "body")
    return read_batch(data, batch_limit) if isinstance(data, list) else read_request(data)


def hand_on(state: MutableMapping[str, Any], request: GraphQLRequest) -> None:
    """Leave the request read at the edge (and its document, once looked up) for the view."""
    state[HANDED_ON] = request


def handed_on(request: Request) -> GraphQLRequest | None:
    handed = request.scope.get("state", {}).get(HANDED_ON)
    return handed if isinstance(handed, GraphQLRequest) else None
