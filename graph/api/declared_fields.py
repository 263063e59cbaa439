"""A Strawberry type's value fields written once, in its declaration (models/declarations.py).

`declared_fields` (a class decorator, under `@strawberry.type`) adds to the class the
annotation of each declared field it does not write itself: a column's `Scalar` (its Python
type from the column's kind, optional when the column is nullable), the `GlobalId`, a
`ForeignId` or `RecordId` (an optional ID) and a `Computed` value. So a new column of the
table becomes a field of the type with nothing written but the column (and its migration).

The class still writes what the declaration cannot say: an enum (its Strawberry enum lives
with the resolvers, above models/), a field with a description, the private ids and the
fields with resolvers — and any field that resolver code reads with its type (mypy sees only
what is written). Annotations follow the declaration's order, which is its table's column
order (models/type_map.py), written ones in their declared place; the class's other
annotations come after them. The SDL's field order is that order.
"""

import datetime
import inspect
import uuid
from decimal import Decimal
from typing import Any, TypeVar

import strawberry
from strawberry.scalars import JSON
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case, to_snake_case

from graph.api.builders import DeclarationMismatch
from models.declarations import DECLARATIONS
from models.type_map import (
    Computed,
    FieldMap,
    ForeignId,
    GlobalId,
    MinutesBetween,
    RecordId,
    Scalar,
    ScalarKind,
    TypeMap,
    column_kind,
)

T = TypeVar("T")

PYTHON_TYPES: dict[ScalarKind, Any] = {
    "text": str,
    "int": int,
    "bool": bool,
    "uuid": uuid.UUID,
    "date": datetime.date,
    "datetime": datetime.datetime,
    "decimal": Decimal,
    "json": JSON,
    "text_list": list[str],
}


class UnwrittenEnum(DeclarationMismatch):
    """A declared enum field the type does not write (its enum class is the type's to name)."""


def declared_fields(cls: type[T]) -> type[T]:
    """Add the annotations of the declared value fields `cls` does not write (see above)."""
    declared = DECLARATIONS.get(cls.__name__)
    if declared is None:
        raise DeclarationMismatch(f"{cls.__name__} has no declaration")
    written: dict[str, Any] = inspect.get_annotations(cls)
    by_graphql_name = {_graphql_name(cls, attribute): attribute for attribute in written}
    annotations: dict[str, Any] = {}
    for name, field_map in declared.fields.items():
        attribute = by_graphql_name.get(name)
        if attribute is not None:
            annotations[attribute] = written.pop(attribute)
            continue
        python_type = _python_type(declared, name, field_map)
        if python_type is not None:
            annotations[to_snake_case(name)] = python_type
    cls.__annotations__ = annotations | written
    return cls


def _graphql_name(cls: type[Any], attribute: str) -> str:
    given = cls.__dict__.get(attribute)
    if isinstance(given, StrawberryField) and given.graphql_name:
        return given.graphql_name
    return to_camel_case(attribute)


def _python_type(declared: TypeMap, name: str, field_map: FieldMap) -> Any:
    """The annotation of a declared value field; None for a relation or a resolver's field."""
    if isinstance(field_map, Scalar):
        if field_map.kind == "enum":
            raise UnwrittenEnum(f"{declared.name}.{name}: write the enum field in the type")
        python_type = PYTHON_TYPES[column_kind(declared.table.c[field_map.name].type)]
        nullable = declared.table.c[field_map.name].nullable and field_map.kind != "text_list"
        return python_type | None if nullable else python_type
    if isinstance(field_map, GlobalId):
        return strawberry.ID
    if isinstance(field_map, ForeignId | RecordId):
        return strawberry.ID | None
    if isinstance(field_map, Computed):
        return int if isinstance(field_map.value, MinutesBetween) else bool
    return None
