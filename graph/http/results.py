"""What an executed (or refused) operation's result says over HTTP.

- A *request error* (parse, validation, limits, variables, unknown persisted query) has no
  `data` entry; it is 400 under `application/graphql-response+json` and 200 under
  `application/json`. Executed operations are 200, field errors and all.
- The body is encoded by orjson. A compiled query's data is PostgreSQL's JSON text as an
  `orjson.Fragment` (graph/extensions/compiled_queries.py): it goes into the body as is.
"""

import logging
from typing import Any

import orjson
from graphql import GraphQLError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from graph.core.errors import (
    BAD_USER_INPUT,
    INTERNAL,
    PERSISTED_QUERY_NOT_FOUND,
    QUERY_TOO_COMPLEX,
    VALIDATION_FAILED,
    ApiError,
)
from graph.http.media import GRAPHQL_RESPONSE_JSON

log = logging.getLogger("fisioflow.errors")

# Errors that end a request before execution: the response has no `data` entry.
REQUEST_ERROR_CODES = frozenset({QUERY_TOO_COMPLEX, PERSISTED_QUERY_NOT_FOUND, VALIDATION_FAILED})


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


def status_of(result: ExecutionResult, media_type: str) -> int:
    return 400 if media_type == GRAPHQL_RESPONSE_JSON and is_request_error(result) else 200


def request_error(message: str, code: str, field: str | None = None) -> PreExecutionError:
    extensions: dict[str, Any] = {"code": code}
    if field is not None:
        extensions["field"] = field
    return PreExecutionError(data=None, errors=[GraphQLError(message, extensions=extensions)])


def withheld(error: ApiError) -> ExecutionResult:
    """The response of an operation whose end failed: its error, and no data."""
    return ExecutionResult(
        data=None, errors=[GraphQLError(str(error), extensions=dict(error.extensions))]
    )


def ensure_codes(result: ExecutionResult) -> None:
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


def response_body(result: ExecutionResult) -> dict[str, Any]:
    """`data` (none for a request error), `errors` with codes, `extensions` if any."""
    ensure_codes(result)
    body: dict[str, Any] = {} if is_request_error(result) else {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        body["extensions"] = result.extensions
    return body


def encode(results: ExecutionResult | list[ExecutionResult]) -> bytes:
    if isinstance(results, list):
        return orjson.dumps([response_body(result) for result in results])
    return orjson.dumps(response_body(results))
