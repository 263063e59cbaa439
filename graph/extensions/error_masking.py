"""Errors as the client sees them: every one with a code (graph/core/errors.py); anything
unexpected that escaped a resolver is logged and reaches the client only as `INTERNAL`,
without message, SQL, driver name or stack trace."""

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from graph.core.errors import BAD_USER_INPUT, INTERNAL, VALIDATION_FAILED, ApiError

log = logging.getLogger("fisioflow.errors")


def _is_variable_error(error: GraphQLError) -> bool:
    return error.message.startswith("Variable '$")


def _is_about_the_document(error: GraphQLError) -> bool:
    """Parse, validation and input-coercion errors: safe to show, the client must fix them."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return True
    return error.path is None and isinstance(original, ValueError | TypeError)


class MaskInternalErrors(SchemaExtension):
    """Give every error a code; replace unexpected ones by a bare INTERNAL error."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        result.errors = [present(error) for error in result.errors]


def present(error: GraphQLError) -> GraphQLError:
    """The error as the client may see it (a subscription's fan-out group masks each result
    of its stream with this too, graph/http/fanout.py)."""
    original = error.original_error
    if isinstance(original, ApiError):
        return error
    if _is_about_the_document(error):
        code = BAD_USER_INPUT if _is_variable_error(error) else VALIDATION_FAILED
        if not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": code}
        return error
    log.error("unexpected error at %s", error.path, exc_info=original)
    return GraphQLError(
        "Internal server error",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": INTERNAL},
    )
