"""Serve compilable read operations with the one statement graph/compiler.py builds.

A schema extension supplies the execution result before Strawberry's own execution starts;
when the compiler declines an operation, Strawberry resolves it as usual. Plans are cached
per document, operation and variable shape (graph/compiler.shape_of).
"""

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLSchema
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from graph.compiler import Plan, Unsupported, compile_operation, decode_result, shape_of
from graph.context import Context
from graph.errors import ApiError

log = logging.getLogger("fisioflow.compiler")

PLAN_CACHE_SIZE = 2048


class PlanCache:
    """Compiled plans (or None for operations the compiler declined), least recently used out."""

    def __init__(self, size: int = PLAN_CACHE_SIZE) -> None:
        self._size = size
        self._plans: OrderedDict[Hashable, Plan | None] = OrderedDict()

    def get(self, key: Hashable) -> tuple[bool, Plan | None]:
        if key not in self._plans:
            return False, None
        self._plans.move_to_end(key)
        return True, self._plans[key]

    def put(self, key: Hashable, plan: Plan | None) -> None:
        self._plans[key] = plan
        if len(self._plans) > self._size:
            self._plans.popitem(last=False)


plans = PlanCache()


async def run_compiled(
    context: Context,
    schema: GraphQLSchema,
    document: DocumentNode,
    query: str,
    operation_name: str | None,
    raw_variables: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """The response data, or None when the resolvers must run the operation (including when
    the variables are invalid: they report that)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    coerced = get_variable_values(schema, operation.variable_definitions or (), raw_variables or {})
    if isinstance(coerced, list):
        return None
    variables = coerced.coerced
    key = (query, operation_name, shape_of(variables))
    known, plan = plans.get(key)
    if not known:
        try:
            plan = compile_operation(document, operation_name, variables)
        except Unsupported:
            plan = None
        plans.put(key, plan)
    if plan is None:
        return None
    try:
        text = await context.db.fetch_text(plan.sql, plan.parameters(variables))
        return decode_result(text)
    except (Unsupported, ApiError):
        # A refusal (inactive login, statement timeout, ...) meets the resolvers too, and they
        # report it with the field's path, as for any other operation.
        return None
    except Exception:
        # The resolvers meet the same fault and report it as the API does (masked INTERNAL).
        log.exception("compiled query failed; falling back to the resolvers")
        return None


class CompiledQueries(SchemaExtension):
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
            data = await run_compiled(
                context,
                execution.schema._schema,
                execution.graphql_document,
                execution.query,
                execution.operation_name,
                execution.variables,
            )
            if data is not None:
                execution.result = ExecutionResult(data=data)
        yield
