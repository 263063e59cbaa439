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


class RequireIdentity(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        document = execution.graphql_document
        identity = context.identity
        if document is None:
            pass
        elif identity is None and needs_identity(document, execution.operation_name):
            error = context.auth_error
            message = str(error) if error else "Authentication required"
            execution.result = ExecutionResult(
                data=None,
                errors=[GraphQLError(message, extensions={"code": UNAUTHENTICATED})],
            )
        elif (
            identity is not None
            and identity.password_change_required
            and asks_beyond(document, execution.operation_name, PASSWORD_CHANGE_ROOT_FIELDS)
        ):
            message = "Change the password first (changePassword): an admin reset it"
            execution.result = ExecutionResult(
                data=None,
                errors=[GraphQLError(message, extensions={"code": PASSWORD_CHANGE_REQUIRED})],
            )
        yield
