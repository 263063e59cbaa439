"""Strawberry objects built from rows by their type's declaration (models/declarations.py).

For each class, once: every field the constructor takes is read from the row as declared —
columns (enums by value, text lists as lists), global IDs, values `Computed` from the row —
and the private ids the relations' resolvers need: `db_id` is the row's id, `<relation>_db_id`
the foreign key the declared to-one `<relation>` follows; a private attribute named as a hidden
column holds its value. A constructor field with no declaration is an error when the builder is
made (tests/graph/api/test_declarations.py makes every one), so a type and its declaration
cannot drift apart unnoticed.
"""

import dataclasses
import enum
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import strawberry
from strawberry.types.base import StrawberryOptional, get_object_definition
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.utils.str_converters import to_camel_case

from graph.core.ids import to_global_id
from graph.sql.declared import evaluate
from models.declarations import DECLARATIONS
from models.type_map import (
    Computed,
    FieldMap,
    ForeignId,
    GlobalId,
    RecordId,
    Scalar,
    TypeMap,
)

T = TypeVar("T")
Row = Mapping[Any, Any]  # a RowMapping, or a plain dict of a row
Reader = Callable[[Row], Any]


class DeclarationMismatch(TypeError):
    """A Strawberry type and its declaration disagree."""


def from_row(cls: type[T], row: Row) -> T:
    """An instance of the Strawberry type `cls` from a row of its table."""
    return row_builder(cls)(row)


def row_builder(cls: type[T]) -> Callable[[Row], T]:
    """How rows become `cls` objects (made once per class)."""
    made: Callable[[Row], T] | None = _builders.get(cls)
    if made is None:
        made = _builders[cls] = _make_builder(cls)
    return made


_builders: dict[type[Any], Any] = {}


def _make_builder(cls: type[T]) -> Callable[[Row], T]:
    definition = get_object_definition(cls, strict=True)
    declared = DECLARATIONS.get(definition.name)
    if declared is None:
        raise DeclarationMismatch(f"{definition.name} has no declaration")
    public = {f.python_name: f for f in definition.fields}
    readers: list[tuple[str, Reader]] = []
    for attribute in dataclasses.fields(cls):  # type: ignore[arg-type]  # a Strawberry type is a dataclass
        if not attribute.init:
            continue  # a field with a resolver
        if attribute.default is not dataclasses.MISSING:
            continue  # not the row's: whoever builds it sets it (a subscription's event_seq)
        strawberry_field = public.get(attribute.name)
        if strawberry_field is None:
            readers.append((attribute.name, _private(declared, attribute.name)))
            continue
        name = strawberry_field.graphql_name or to_camel_case(attribute.name)
        field_map = declared.fields.get(name)
        if field_map is None:
            raise DeclarationMismatch(f"{declared.name}.{name} is not declared")
        readers.append((attribute.name, _reader(declared, name, field_map, strawberry_field.type)))

    def build_one(row: Row) -> T:
        return cls(**{attribute: read(row) for attribute, read in readers})

    return build_one


def _private(declared: TypeMap, attribute: str) -> Reader:
    """`db_id`: the row's id; `<relation>_db_id`: the foreign key of the declared relation;
    a hidden column's name: its value (for a field a resolver shows in its own way)."""
    if attribute == "db_id":
        return _column("id")
    if attribute in declared.hidden:
        return _column(attribute)
    relation = declared.relations().get(to_camel_case(attribute.removesuffix("_db_id")))
    if not attribute.endswith("_db_id") or relation is None:
        raise DeclarationMismatch(f"{declared.name}: no declaration gives {attribute}")
    return _column(relation.foreign_key)


def _reader(declared: TypeMap, name: str, field_map: FieldMap, field_type: Any) -> Reader:
    if isinstance(field_map, Scalar):
        return _scalar(declared, name, field_map, field_type)
    if isinstance(field_map, GlobalId):
        type_name = field_map.type_name
        return lambda row: strawberry.ID(to_global_id(type_name, row["id"]))
    if isinstance(field_map, ForeignId):
        return _foreign_id(field_map.column, field_map.type_name)
    if isinstance(field_map, RecordId):
        return _record_id(field_map)
    if isinstance(field_map, Computed):
        value = field_map.value
        return lambda row: evaluate(value, row)
    raise DeclarationMismatch(f"{declared.name}.{name} is a relation: it needs a resolver")


def _column(column: str) -> Reader:
    return lambda row: row[column]


def _scalar(declared: TypeMap, name: str, scalar: Scalar, field_type: Any) -> Reader:
    column = scalar.name
    if scalar.kind == "text_list":
        return lambda row: list(row[column] or ())
    if scalar.kind != "enum":
        return _column(column)
    enum_type = enum_of(field_type)
    if enum_type is None:
        raise DeclarationMismatch(f"{declared.name}.{name} is declared an enum")
    optional = isinstance(field_type, StrawberryOptional)
    known = {member.value for member in enum_type}

    def read(row: Row) -> Any:
        value = row[column]
        if value is None and optional:
            return None
        if scalar.lenient and value not in known:
            return None
        return enum_type(value)

    return read


def enum_of(field_type: Any) -> type[enum.Enum] | None:
    if isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    if isinstance(field_type, StrawberryEnumDefinition) and issubclass(
        field_type.wrapped_cls, enum.Enum
    ):
        return field_type.wrapped_cls
    return None


def _foreign_id(column: str, type_name: str) -> Reader:
    def read(row: Row) -> strawberry.ID | None:
        value = row[column]
        return None if value is None else strawberry.ID(to_global_id(type_name, value))

    return read


def _record_id(declared: RecordId) -> Reader:
    types = {d.table.name: d.name for d in DECLARATIONS.values()} | dict(declared.types)

    def read(row: Row) -> strawberry.ID | None:
        value = row[declared.column]
        if value is None:
            return None
        type_name = types.get(row[declared.table_column])
        return strawberry.ID(to_global_id(type_name, value) if type_name else str(value))

    return read


def input_values(given: object | None) -> dict[str, Any]:
    """A Strawberry input object's fields by GraphQL name (`from_` is `from`), e.g. a list's
    `filter` for graph/sql/declared.py's `criteria`; nothing for no input."""
    if given is None:
        return {}
    definition = get_object_definition(type(given), strict=True)
    return {
        f.graphql_name or to_camel_case(f.python_name): getattr(given, f.python_name)
        for f in definition.fields
    }
