"""The GraphQL arguments every list gets from its type's declaration (models/list_arguments.py):
`<Type>OrderBy` enums, `<Type>Where` inputs, and the comparison inputs they use.

`<Type>Where` inputs name each other (`AppointmentWhere.patient: PatientWhere`) and themselves
(`and`, `or`, `not`), and an enum column's comparison needs the Strawberry enum its type's
class declares (enums live with the resolvers, registered by graph/api/object_types.py). So
a list names `Annotated["PatientWhere", strawberry.lazy("graph.api.list_inputs")]`, and
`define_where_inputs` builds them all into this module when the schema is assembled, once every
type is registered.
"""

import datetime
import enum
from decimal import Decimal
from functools import cache
from typing import Annotated, Any

import strawberry
from strawberry.types.base import get_object_definition
from strawberry.utils.str_converters import to_camel_case

from graph.api.builders import enum_of
from graph.api.object_types import object_type
from models.declarations import DECLARATIONS
from models.list_arguments import (
    IdFilter,
    RelationFilter,
    listed,
    order_fields,
    where_fields,
)
from models.type_map import ScalarKind

HERE = "graph.api.list_inputs"


@strawberry.input(description="Conditions on a text field; all given ones must hold.")
class StringComparison:
    eq: str | None = None
    neq: str | None = None
    in_: list[str] | None = strawberry.field(name="in", default=None)
    nin: list[str] | None = None
    like: str | None = strawberry.field(
        default=None, description="An SQL pattern (`%`: any text, `_`: one character)."
    )
    ilike: str | None = strawberry.field(default=None, description="`like`, ignoring case.")
    starts_with: str | None = None
    is_null: bool | None = None


@strawberry.input(description="Conditions on an ID; all given ones must hold.")
class IDComparison:
    eq: strawberry.ID | None = None
    neq: strawberry.ID | None = None
    in_: list[strawberry.ID] | None = strawberry.field(name="in", default=None)
    nin: list[strawberry.ID] | None = None
    is_null: bool | None = None


@strawberry.input(description="Conditions on a whole number; all given ones must hold.")
class IntComparison:
    eq: int | None = None
    neq: int | None = None
    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None
    in_: list[int] | None = strawberry.field(name="in", default=None)
    nin: list[int] | None = None
    is_null: bool | None = None


@strawberry.input(description="Conditions on a decimal; all given ones must hold.")
class DecimalComparison:
    eq: Decimal | None = None
    neq: Decimal | None = None
    gt: Decimal | None = None
    gte: Decimal | None = None
    lt: Decimal | None = None
    lte: Decimal | None = None
    in_: list[Decimal] | None = strawberry.field(name="in", default=None)
    nin: list[Decimal] | None = None
    is_null: bool | None = None


@strawberry.input(description="Conditions on a date; all given ones must hold.")
class DateComparison:
    eq: datetime.date | None = None
    neq: datetime.date | None = None
    gt: datetime.date | None = None
    gte: datetime.date | None = None
    lt: datetime.date | None = None
    lte: datetime.date | None = None
    in_: list[datetime.date] | None = strawberry.field(name="in", default=None)
    nin: list[datetime.date] | None = None
    is_null: bool | None = None


@strawberry.input(
    description="Conditions on an instant (with its UTC offset); all given ones must hold."
)
class DateTimeComparison:
    eq: datetime.datetime | None = None
    neq: datetime.datetime | None = None
    gt: datetime.datetime | None = None
    gte: datetime.datetime | None = None
    lt: datetime.datetime | None = None
    lte: datetime.datetime | None = None
    in_: list[datetime.datetime] | None = strawberry.field(name="in", default=None)
    nin: list[datetime.datetime] | None = None
    is_null: bool | None = None


@strawberry.input(description="Conditions on a boolean; all given ones must hold.")
class BooleanComparison:
    eq: bool | None = None
    is_null: bool | None = None


COMPARISONS: dict[ScalarKind, type[Any]] = {
    "text": StringComparison,
    "int": IntComparison,
    "decimal": DecimalComparison,
    "date": DateComparison,
    "datetime": DateTimeComparison,
    "bool": BooleanComparison,
    "uuid": IDComparison,
}


def where_type(type_name: str) -> Any:
    """The `<Type>Where` input, named lazily (see the module docstring)."""
    return Annotated[f"{type_name}Where", strawberry.lazy(HERE)]


@cache
def order_by_type(type_name: str) -> type[enum.Enum]:
    """The `<Type>OrderBy` enum: `<FIELD>_ASC` and `<FIELD>_DESC` per orderable column."""
    values = {
        f"{prefix}{direction}": f"{prefix}{direction}"
        for prefix in order_fields(DECLARATIONS[type_name])
        for direction in ("_ASC", "_DESC")
    }
    members = enum.Enum(f"{type_name}OrderBy", values)  # type: ignore[misc]  # made from data
    members.__module__ = HERE
    return strawberry.enum(
        members,
        description=f"An order of {type_name} lists; the row id breaks ties.",
    )


@cache
def _enum_comparison(members: type[enum.Enum]) -> type[Any]:
    name = getattr(members, "__strawberry_definition__", None)
    graphql_name = name.name if name is not None else members.__name__
    namespace: dict[str, Any] = {
        "__annotations__": {
            "eq": members | None,
            "neq": members | None,
            "in_": list[members] | None,  # type: ignore[valid-type]
            "nin": list[members] | None,  # type: ignore[valid-type]
        },
        "__module__": HERE,
        "eq": None,
        "neq": None,
        "in_": strawberry.field(name="in", default=None),
        "nin": None,
    }
    cls = type(f"{graphql_name}Comparison", (), namespace)
    return strawberry.input(cls, description=f"Conditions on a value of {graphql_name}.")


def _enum_of_field(type_name: str, field: str) -> type[enum.Enum]:
    cls = object_type(type_name)
    definition = get_object_definition(cls, strict=True) if cls else None
    for declared in definition.fields if definition else ():
        if (declared.graphql_name or to_camel_case(declared.python_name)) == field:
            members = enum_of(declared.type)
            if members is not None:
                return members
    raise LookupError(f"{type_name}.{field}: no enum to compare with")


@cache
def _where(type_name: str) -> type[Any]:
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__module__": HERE}
    for name, declared in where_fields(DECLARATIONS[type_name]).items():
        if isinstance(declared, RelationFilter):
            given: Any = where_type(declared.relation.target)
        elif isinstance(declared, IdFilter):
            given = IDComparison
        elif declared.kind == "enum":
            given = _enum_comparison(_enum_of_field(type_name, name))
        else:
            given = COMPARISONS[declared.kind]
        attribute = f"field_{name}"
        annotations[attribute] = given | None
        namespace[attribute] = strawberry.field(name=name, default=None)
    itself = where_type(type_name)
    for name, given, description in (
        ("and", list[itself] | None, "All of these hold."),  # type: ignore[valid-type]
        ("or", list[itself] | None, "At least one of these holds."),  # type: ignore[valid-type]
        ("not", itself | None, "This does not hold."),
    ):
        annotations[f"field_{name}"] = given
        namespace[f"field_{name}"] = strawberry.field(
            name=name, default=None, description=description
        )
    namespace["__annotations__"] = annotations
    cls = type(f"{type_name}Where", (), namespace)
    return strawberry.input(
        cls, description=f"Which {type_name} rows a list keeps; all given fields must hold."
    )


def define_where_inputs() -> None:
    """Build every `<Type>Where` into this module, where `strawberry.lazy` finds it: once, when
    the schema is assembled (graph/schema.py), after every area has registered its types."""
    for name, declared in DECLARATIONS.items():
        if listed(declared):
            globals()[f"{name}Where"] = _where(name)
