"""GraphQL over HTTP's media types (graphql.github.io/graphql-over-http) and its JSON errors.

`application/graphql-response+json` when the client accepts it (preferred at equal quality),
else `application/json` (also for `*/*` or no `Accept`, as the graphql-http audits expect).
Both carry `charset=utf-8` and `Vary: Accept`. A refusal before any GraphQL runs is a
GraphQL-shaped JSON body.

Free of the schema, so the fast path and the body limit can answer without loading it.
"""

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
_RANKS = {GRAPHQL_RESPONSE_JSON: 2, JSON: 1, "application/*": 0, "*/*": 0}


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def negotiate(accept: str | None) -> str:
    """The response media type for an `Accept` header (see the module's docstring)."""
    best: tuple[float, int] = (0.0, -1)
    chosen = JSON
    for part in (accept or "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality, rank = _quality(params), _RANKS.get(media.lower(), -1)
        if rank >= 0 and quality > 0 and (quality, rank) > best:
            best = (quality, rank)
            chosen = GRAPHQL_RESPONSE_JSON if rank == 2 else JSON
    return chosen


def media_headers(media_type: str) -> dict[str, str]:
    return {"content-type": f"{media_type}; charset=utf-8", "vary": "Accept"}


def error_body(message: str, code: str, field: str | None = None) -> dict[str, Any]:
    extensions: dict[str, Any] = {"code": code}
    if field is not None:
        extensions["field"] = field
    return {"errors": [{"message": message, "extensions": extensions}]}


def json_response(
    body: bytes, status: int, media_type: str, headers: Mapping[str, str] | None = None
) -> Response:
    """`body` (encoded JSON) as `media_type`, with `Vary: Accept`."""
    response = Response(body, status_code=status, headers=dict(headers or {}))
    response.headers.update(media_headers(media_type))
    return response


def error_response(
    status: int,
    media_type: str,
    message: str,
    code: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return json_response(
        orjson.dumps(error_body(message, code, field)), status, media_type, headers
    )
