"""Serve compilable read operations with the one statement graph/sql/compiler builds.

A schema extension supplies the execution result before Strawberry's own execution starts;
when the compiler declines an operation, Strawberry resolves it as usual. Plans are cached
per document, operation and variable shape (graph/sql/compiler `shape_of`). The result's data
is PostgreSQL's JSON text, passed through to the response body unparsed (`passed_through`).
"""

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, cast

import orjson
from graphql import DocumentNode, ExecutionResult, GraphQLSchema, OperationDefinitionNode
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast
from strawberry import Schema
from strawberry.extensions import SchemaExtension
from strawberry.types.arguments import convert_argument

from graph.api.context import Context
from graph.core.errors import ApiError
from graph.core.lru import LruCache
from graph.sql.compiler import (
    MISSING,
    Plan,
    Refused,
    Registry,
    Unsupported,
    compile_operation,
    shape_of,
)

log = logging.getLogger("fisioflow.compiler")


@dataclass(frozen=True)
class ValidatedOperation:
    """A document that passed parsing, validation and the limits and was compiled (against
    `registry`)."""

    schema: Schema
    registry: Registry
    document: DocumentNode
    operation: OperationDefinitionNode

    @property
    def graphql_schema(self) -> GraphQLSchema:
        return self.schema._schema

    def convert_input(self, value: Any, input_type: type) -> Any:
        """A coerced input object as the resolver receives it (its Strawberry input class)."""
        schema = self.schema
        return convert_argument(
            value, input_type, schema.schema_converter.scalar_registry, schema.config
        )


# Plans (None: the compiler declined) by (query, operation name, variable shape), and the
# compiled documents by (query, operation name) for graph/http/fast_path.py.
plans: LruCache[Plan | None] = LruCache()
validated: LruCache[ValidatedOperation] = LruCache()


def coerce_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, raw: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The variables as the operation declares them; None if invalid (the resolvers say so)."""
    coerced = get_variable_values(schema, operation.variable_definitions or (), raw or {})
    return None if isinstance(coerced, list) else coerced.coerced


def plan_for(
    ready: ValidatedOperation, query: str, operation_name: str | None, variables: dict[str, Any]
) -> Plan | None:
    key = (query, operation_name, shape_of(variables))
    known, plan = plans.get(key)
    if not known:
        try:
            plan = compile_operation(
                ready.registry,
                ready.document,
                operation_name,
                variables,
                ready.convert_input,
                ready.graphql_schema,
            )
        except Refused:  # this value's refusal, not the shape's: compiled for the next one
            return None
        except Unsupported:
            plan = None
        plans.put(key, plan)
        if plan is not None:
            validated.put((query, operation_name), ready)
    return plan


async def run_compiled(
    context: Context,
    schema: Schema,
    registry: Registry,
    document: DocumentNode,
    query: str,
    operation_name: str | None,
    raw_variables: dict[str, Any] | None,
) -> str | None:
    """The response data as PostgreSQL's JSON text, or None when the resolvers must run the
    operation (including when the variables are invalid: they report that, and when a
    non-null relation is missing)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    variables = coerce_variables(schema._schema, operation, raw_variables)
    if variables is None:
        return None
    plan = plan_for(
        ValidatedOperation(schema, registry, document, operation), query, operation_name, variables
    )
    if plan is None or plan.mutation is not None:
        # A compiled mutation runs only on the fast path, in a transaction of its own: here
        # the resolvers write, in the request's transaction.
        return None
    try:
        arguments = plan.arguments(variables, context.cursors)
        text = await context.db.fetch_text(plan.sql, [arguments] if arguments else [])
        return None if MISSING in text else text
    except (Unsupported, ApiError):
        # A refusal (inactive login, statement timeout, ...) meets the resolvers too, and they
        # report it with the field's path, as for any other operation.
        return None
    except Exception:
        # The resolvers meet the same fault and report it as the API does (masked INTERNAL).
        log.exception("compiled query failed; falling back to the resolvers")
        return None


def passed_through(text: str) -> dict[str, Any]:
    """PostgreSQL's JSON text as the result's data, not parsed: orjson writes a `Fragment` into
    the response body as it is (graph/http/results.py), the bytes the fast path sends too.
    (Typed as the dict it stands for: nothing between here and the encoder reads `data`.)"""
    return cast(dict[str, Any], orjson.Fragment(text))


class CompiledQueries(SchemaExtension):
    """Pass it as `CompiledQueries.using(registry)`: what the compiler compiles against."""

    registry: Registry

    @classmethod
    def using(cls, registry: Registry) -> Callable[[], "CompiledQueries"]:
        def extension() -> CompiledQueries:
            made = cls()
            made.registry = registry
            return made

        return extension

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context: Context = execution.context
        if (
            execution.result is None
            and execution.graphql_document is not None
            and execution.query is not None
            and context.identity is not None
            and context.settings.compile_queries
            and not context.is_websocket
        ):
            assert isinstance(execution.schema, Schema)
            text = await run_compiled(
                context,
                execution.schema,
                self.registry,
                execution.graphql_document,
                execution.query,
                # As the client sent it (None when it named none), as the fast path sees it.
                execution._provided_operation_name,
                execution.variables,
            )
            if text is not None:
                execution.result = ExecutionResult(data=passed_through(text))
        yield
