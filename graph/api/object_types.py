"""The Strawberry object types read from rows, by GraphQL name: each area's types module
registers its classes, so that other areas build them (resolvers/objects.py) and the generated
list arguments and aggregates read their enums (graph/api/list_inputs.py,
graph/api/aggregate_types.py) without importing the area."""

import enum
from typing import Any, TypeVar

from strawberry.types.base import get_object_definition
from strawberry.utils.str_converters import to_camel_case

from graph.api.builders import enum_of

T = TypeVar("T")

_CLASSES: dict[str, type[Any]] = {}


def register(cls: type[T]) -> type[T]:
    """Make `cls` known by its name (a class decorator)."""
    _CLASSES[cls.__name__] = cls
    return cls


def object_type(type_name: str) -> type[Any] | None:
    """The registered class of `type_name`, if any."""
    return _CLASSES.get(type_name)


def enum_of_field(type_name: str, field: str) -> type[enum.Enum]:
    """The Strawberry enum the registered class of `type_name` declares for `field`."""
    cls = object_type(type_name)
    definition = get_object_definition(cls, strict=True) if cls else None
    for declared in definition.fields if definition else ():
        if (declared.graphql_name or to_camel_case(declared.python_name)) == field:
            members = enum_of(declared.type)
            if members is not None:
                return members
    raise LookupError(f"{type_name}.{field}: no enum field")
