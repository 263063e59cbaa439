"""The input limits of graph/security/input_limits.py on every operation, before it runs."""

from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLError, GraphQLSchema
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from graph.core.errors import ApiError
from graph.security.input_limits import check_operation


class InputLimits(SchemaExtension):
    """`check_operation` before execution: a refusal answers the whole operation, as an
    invalid variable does, and nothing runs."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if execution.result is None and document is not None:
            execution.result = _refusal(execution.schema._schema, document, execution)
        yield


def _refusal(
    schema: GraphQLSchema, document: DocumentNode, execution: Any
) -> ExecutionResult | None:
    operation = get_operation_ast(document, execution.operation_name)
    if operation is None:
        return None
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), execution.variables or {}
    )
    if isinstance(coerced, list):  # invalid variables: execution reports them
        return None
    try:
        check_operation(schema, document, operation, coerced.coerced)
    except ApiError as refusal:
        error = GraphQLError(str(refusal), original_error=refusal, extensions=refusal.extensions)
        return ExecutionResult(data=None, errors=[error])
    return None
