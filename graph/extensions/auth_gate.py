"""Anonymous callers (and callers with a bad token) may only log in or introspect; a token
issued after an admin reset the password may only change it and read the viewer."""

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

from graph.api.context import Context
from graph.core.errors import PASSWORD_CHANGE_REQUIRED, UNAUTHENTICATED

PUBLIC_ROOT_FIELDS = frozenset({"login", "__schema", "__type", "__typename"})
# What a token with `password_change_required` may ask for.
PASSWORD_CHANGE_ROOT_FIELDS = PUBLIC_ROOT_FIELDS | {"changePassword", "me"}


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


def asks_beyond(
    document: DocumentNode, operation_name: str | None, allowed: frozenset[str]
) -> bool:
    """Whether the operation selects a root field not in `allowed`."""
    operation = get_operation_ast(document, operation_name)
    if not isinstance(operation, OperationDefinitionNode):
        return False
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return any(name not in allowed for name in _root_fields(operation.selection_set, fragments))


def needs_identity(document: DocumentNode, operation_name: str | None) -> bool:
    return asks_beyond(document, operation_name, PUBLIC_ROOT_FIELDS)


def refusal(
    context: Context, document: DocumentNode, operation_name: str | None
) -> GraphQLError | None:
    """Why the caller may not run this operation at all, or None."""
    identity = context.identity
    if identity is None:
        if not needs_identity(document, operation_name):
            return None
        error = context.auth_error
        message = str(error) if error else "Authentication required"
        return GraphQLError(message, extensions={"code": UNAUTHENTICATED})
    if identity.password_change_required and asks_beyond(
        document, operation_name, PASSWORD_CHANGE_ROOT_FIELDS
    ):
        message = "Change the password first (changePassword): an admin reset it"
        return GraphQLError(message, extensions={"code": PASSWORD_CHANGE_REQUIRED})
    return None


class RequireIdentity(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        error = (
            refusal(execution.context, document, execution.operation_name)
            if document is not None
            else None
        )
        if error is not None:
            execution.result = ExecutionResult(data=None, errors=[error])
        yield
