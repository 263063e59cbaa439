"""The document limits of graph/security/limits.py on every operation: tokens (a parser
option), depth and aliases (validation rules), cost (when execution starts, with the
variables), and the production switches (introspection, suggestions)."""

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension

from graph.core.documents import operations, selected_operation
from graph.core.errors import BAD_USER_INPUT, VALIDATION_FAILED
from graph.core.settings import Settings
from graph.security.limits import (
    is_parser_limit,
    query_cost,
    too_complex,
    validation_rules,
    without_suggestions,
)

_defaults: Settings | None = None


def request_settings(context: Any) -> Settings:
    """The settings of the request's app; defaults when the schema runs without one."""
    global _defaults
    settings = getattr(context, "settings", None)
    if isinstance(settings, Settings):
        return settings
    if _defaults is None:
        _defaults = Settings()
    return _defaults


class RequestLimits(SchemaExtension):
    """Tokens, depth, aliases and cost limits; introspection and suggestions switches."""

    def on_operation(self) -> Iterator[None]:
        execution = self.execution_context
        settings = request_settings(execution.context)
        # graphql-core's `max_tokens` counts comments too: one bound on what the parser reads.
        execution.parse_options["max_tokens"] = settings.max_tokens
        execution.validation_rules = execution.validation_rules + validation_rules(
            settings.max_depth, settings.max_aliases, settings.enabled("introspection")
        )
        try:
            yield
        except GraphQLSyntaxError as syntax_error:
            # ParserCache parses in its `on_parse` hook, so a syntax error leaves the operation
            # as an exception (Strawberry answers it as the request's only error): give it a code.
            if is_parser_limit(syntax_error):
                raise too_complex(
                    f"The document is too large (the limit is {settings.max_tokens} tokens)"
                ) from None
            if not (syntax_error.extensions or {}).get("code"):
                syntax_error.extensions = {
                    **(syntax_error.extensions or {}),
                    "code": VALIDATION_FAILED,
                }
            raise
        result = execution.result
        if result is None or not result.errors:
            return
        errors: list[GraphQLError] = []
        for error in result.errors:
            shown = error
            if is_parser_limit(shown):
                shown = too_complex(
                    f"The document is too large (the limit is {settings.max_tokens} tokens)"
                )
            if not settings.enabled("suggestions"):
                shown = without_suggestions(shown)
            errors.append(shown)
        result.errors = errors

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        # Strawberry runs the first operation when a document has several and the request
        # names none; the GraphQL spec asks for a request error.
        provided = getattr(execution, "_provided_operation_name", execution.operation_name)
        if document is not None and provided is None and len(operations(document)) > 1:
            raise GraphQLError(
                "Must provide operationName: the document holds several operations",
                extensions={"code": BAD_USER_INPUT, "field": "operationName"},
            )
        operation = selected_operation(document, execution.operation_name) if document else None
        if operation is not None:
            settings = request_settings(execution.context)
            cost = query_cost(
                execution.schema._schema, document, operation, execution.variables or {}
            )
            if cost > settings.max_cost:
                raise too_complex(
                    f"The query could return about {cost} objects; the limit is"
                    f" {settings.max_cost}. Ask for smaller pages (`first`) or fewer nested lists."
                )
        yield
