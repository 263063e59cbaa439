"""Questions about a parsed GraphQL document that several layers ask."""

from typing import Any

from graphql import OperationDefinitionNode


def operations(document: Any) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def selected_operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    candidates = operations(document)
    if name is None:
        return candidates[0] if len(candidates) == 1 else None
    return next((op for op in candidates if op.name and op.name.value == name), None)
