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

from graph.api.object_types import enum_of_field
from models.declarations import DECLARATIONS
from models.list_arguments import (
    LIST_OPERATORS,
    OPERATORS,
    IdFilter,
    RelationFilter,
    listed,
    order_fields,
    where_fields,
)
from models.type_map import ScalarKind

HERE = "graph.api.list_inputs"


# What an operator's field says, when its name does not.
OPERATOR_DESCRIPTIONS = {
    "like": "An SQL pattern (`%`: any text, `_`: one character), at most 100 characters.",
    "ilike": "`like`, ignoring case.",
    "startsWith": "A plain prefix (no pattern characters).",
    "isNull": "true: the value is null; false: it is not.",
}


def _comparison(name: str, value: Any, operators: tuple[str, ...], subject: str) -> type[Any]:
    """An input with one optional field per operator (`in`/`nin` take lists, `isNull` a
    boolean), for values of type `value`."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__module__": HERE}
    for operator in operators:
        attribute = f"op_{operator}"
        given = (
            bool if operator == "isNull" else list[value] if operator in LIST_OPERATORS else value
        )
        annotations[attribute] = given | None
        namespace[attribute] = strawberry.field(
            name=operator, default=None, description=OPERATOR_DESCRIPTIONS.get(operator)
        )
    namespace["__annotations__"] = annotations
    description = f"Conditions on {subject}; all given ones must hold."
    return strawberry.input(type(name, (), namespace), description=description)


SCALAR_COMPARISONS: tuple[tuple[ScalarKind, str, Any, str], ...] = (
    ("text", "StringComparison", str, "a text value"),
    ("uuid", "IDComparison", strawberry.ID, "an ID"),
    ("int", "IntComparison", int, "a whole number"),
    ("decimal", "DecimalComparison", Decimal, "a decimal"),
    ("date", "DateComparison", datetime.date, "a date"),
    ("datetime", "DateTimeComparison", datetime.datetime, "an instant (with its UTC offset)"),
    ("bool", "BooleanComparison", bool, "a boolean"),
)
COMPARISONS: dict[ScalarKind, type[Any]] = {
    kind: _comparison(name, value, OPERATORS[kind], subject)
    for kind, name, value, subject in SCALAR_COMPARISONS
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
    definition = getattr(members, "__strawberry_definition__", None)
    name = definition.name if definition is not None else members.__name__
    return _comparison(f"{name}Comparison", members, OPERATORS["enum"], f"a value of {name}")


@cache
def _where(type_name: str) -> type[Any]:
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__module__": HERE}
    for name, declared in where_fields(DECLARATIONS[type_name]).items():
        if isinstance(declared, RelationFilter):
            given: Any = where_type(declared.relation.target)
        elif isinstance(declared, IdFilter):
            given = COMPARISONS["uuid"]
        elif declared.kind == "enum":
            given = _enum_comparison(enum_of_field(type_name, name))
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
