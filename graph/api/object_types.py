"""The Strawberry object types read from rows, by GraphQL name: each area's types module
registers its classes, so that other areas build them (resolvers/objects.py) and the generated
list arguments read their enums (graph/api/list_inputs.py) without importing the area."""

from typing import Any, TypeVar

T = TypeVar("T")

_CLASSES: dict[str, type[Any]] = {}


def register(cls: type[T]) -> type[T]:
    """Make `cls` known by its name (a class decorator)."""
    _CLASSES[cls.__name__] = cls
    return cls


def object_type(type_name: str) -> type[Any] | None:
    """The registered class of `type_name`, if any."""
    return _CLASSES.get(type_name)
