"""Anonymous callers (and callers with a bad token) may only log in or introspect."""

from collections.abc import Iterator

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.language import DocumentNode, FragmentDefinitionNode
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from graph.core.errors import UNAUTHENTICATED

PUBLIC_ROOT_FIELDS = frozenset({"login", "__schema", "__type", "__typename"})


def _root_fields(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[str]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _root_fields(fragment.selection_set, fragments)


def needs_identity(document: DocumentNode, operation_name: str | None) -> bool:
    operation = get_operation_ast(document, operation_name)
    if not isinstance(operation, OperationDefinitionNode):
        return False
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return any(
        name not in PUBLIC_ROOT_FIELDS for name in _root_fields(operation.selection_set, fragments)
    )


class RequireIdentity(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        document = execution.graphql_document
        if (
            document is not None
            and context.identity is None
            and needs_identity(document, execution.operation_name)
        ):
            error = context.auth_error
            message = str(error) if error else "Authentication required"
            execution.result = ExecutionResult(
                data=None,
                errors=[GraphQLError(message, extensions={"code": UNAUTHENTICATED})],
            )
        yield
