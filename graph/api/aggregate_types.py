"""The GraphQL types of a root list's aggregate, from its type's declaration
(models/list_arguments.py): `<Type>Aggregate` (count, sum, avg, min, max and groups),
`<Type>AggregateGroup`, `<Type>GroupKey`, the figures `<Type>AggregateSums` / `Averages` /
`Minimums` / `Maximums`, and the `<Type>GroupBy` enum.

A group key shows an enum with the Strawberry enum its type's class declares and a relation as
the related object, so these types are built once every area has registered its classes
(graph/api/object_types.py): `define_aggregate_types` builds them into this module when the
schema is assembled, where `strawberry.lazy` finds them (`aggregate_type`).

Figures: `sum` and `avg` of the numeric columns, `min` and `max` of the numeric, date and time
columns, each typed as its column (`avg` a Float); null over no rows. A sum beyond GraphQL's
Int is an `OUT_OF_RANGE` error on that field, never a wrong number.
"""

import datetime
import enum
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from typing import Annotated, Any

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from graph.api.builders import row_builder
from graph.api.context import Info
from graph.api.object_types import enum_of_field, object_type
from graph.core.errors import OUT_OF_RANGE, ApiError
from graph.sql.aggregates import (
    DEFAULT_GROUPS,
    AggregateResult,
    Figures,
    Function,
    aggregate_root,
    check_groups,
    functions_of,
)
from models.declarations import DECLARATIONS
from models.list_arguments import (
    AggregateField,
    BucketKey,
    ColumnKey,
    GroupKey,
    aggregate_fields,
    group_keys,
)
from models.type_map import ScalarKind

HERE = "graph.api.aggregate_types"
INT_RANGE = range(-(2**31), 2**31)  # GraphQL's Int

VALUE_TYPES: dict[ScalarKind, Any] = {
    "int": int,
    "decimal": Decimal,
    "date": datetime.date,
    "datetime": datetime.datetime,
}

FIGURES: dict[Function, tuple[str, str]] = {  # type name suffix, description
    "sum": ("AggregateSums", "Sums of the numeric fields."),
    "avg": ("AggregateAverages", "Averages of the numeric fields."),
    "min": ("AggregateMinimums", "The smallest values."),
    "max": ("AggregateMaximums", "The largest values."),
}


def aggregate_type(type_name: str) -> Any:
    """`<Type>Aggregate`, named lazily (see the module docstring)."""
    return Annotated[f"{type_name}Aggregate", strawberry.lazy(HERE)]


@cache
def group_by_type(type_name: str) -> type[enum.Enum]:
    """The `<Type>GroupBy` enum: each group key's name (`STATUS`, `STARTS_AT_MONTH`)."""
    names = {name: name for name in group_keys(DECLARATIONS[type_name])}
    members = enum.Enum(f"{type_name}GroupBy", names)  # type: ignore[misc]  # made from data
    members.__module__ = HERE
    return strawberry.enum(
        members,
        description=f"What {type_name} aggregates may be grouped by (times: clinic calendar).",
    )


def groups_asked(info: Info) -> int:
    """The most groups any `groups(first:)` under the current field asks for (0: none), each
    `first` checked (BAD_USER_INPUT on `groups.first`)."""
    asked = [
        check_groups(_int(field.arguments.get("first", DEFAULT_GROUPS))) for field in _groups(info)
    ]
    return max(asked, default=0)


def _int(value: Any) -> Any:
    # Strawberry gives a literal argument as its text (validation made sure it is an Int).
    return int(value) if isinstance(value, str) else value


def _groups(info: Info) -> list[SelectedField]:
    found: list[SelectedField] = []
    pending: list[Selection] = [s for field in info.selected_fields for s in field.selections]
    while pending:
        selection = pending.pop()
        if isinstance(selection, SelectedField):
            if selection.name == "groups":
                found.append(selection)
        elif isinstance(selection, FragmentSpread | InlineFragment):
            pending.extend(selection.selections)
    return found


def aggregate_object(type_name: str, result: AggregateResult) -> Any:
    """The `<Type>Aggregate` of a result."""
    return globals()[f"{type_name}Aggregate"](data=result)


# -- building the types --------------------------------------------------------------------


def define_aggregate_types() -> None:
    """Build every aggregate type into this module: once, when the schema is assembled
    (graph/schema.py), after every area has registered its types."""
    for type_name, declared in DECLARATIONS.items():
        if aggregate_root(declared):
            for made in _types(type_name):
                globals()[made.__name__] = made


def _types(type_name: str) -> list[type[Any]]:
    figures = _figure_types(type_name)
    key = _key_type(type_name)
    group = _strawberry_type(
        f"{type_name}AggregateGroup",
        {"key": _resolver(lambda data: key(data=data.key), key), **_figure_fields(figures)},
        "One group: its key, and the figures of its rows.",
    )
    aggregate = _strawberry_type(
        f"{type_name}Aggregate",
        {
            **_figure_fields(figures, total=True),
            "groups": _groups_field(group),
        },
        f"Figures of the {type_name} rows the caller may read that `where` keeps.",
    )
    return [*figures.values(), key, group, aggregate]


def _strawberry_type(name: str, fields: Mapping[str, Any], description: str) -> type[Any]:
    """A type whose fields read `data` (an AggregateResult, a Group, Figures or a key)."""
    namespace: dict[str, Any] = {
        "__module__": HERE,
        "__annotations__": {"data": strawberry.Private[Any]},  # type: ignore[misc]
    }
    for attribute, field in fields.items():
        field.graphql_name = attribute
        namespace[f"field_{attribute}"] = field
    return strawberry.type(type(name, (), namespace), description=description)


def _resolver(read: Callable[[Any], Any], returns: Any, description: str | None = None) -> Any:
    def resolve(root: Any) -> Any:
        return read(root.data)

    resolve.__annotations__ = {"root": Any, "return": returns}
    return strawberry.field(resolver=resolve, description=description)


def _figure_types(type_name: str) -> dict[Function, type[Any]]:
    fields = aggregate_fields(DECLARATIONS[type_name])
    made: dict[Function, type[Any]] = {}
    for function, (suffix, description) in FIGURES.items():
        summarized = {name: f for name, f in fields.items() if function in functions_of(f)}
        if summarized:
            made[function] = _strawberry_type(
                f"{type_name}{suffix}",
                {name: _figure(function, name, f) for name, f in summarized.items()},
                description + " Null over no rows.",
            )
    return made


def _figure(function: Function, name: str, field: AggregateField) -> Any:
    python_type = float if function == "avg" else VALUE_TYPES[field.kind]

    def read(figures: Figures) -> Any:
        value = figures.values[(function, name)]
        if (
            function == "sum"
            and python_type is int
            and value is not None
            and value not in INT_RANGE
        ):
            raise ApiError(OUT_OF_RANGE, f"The sum of {name} is beyond Int's range; narrow `where`")
        return value

    return _resolver(read, python_type | None)


def _figure_fields(figures: Mapping[Function, type[Any]], *, total: bool = False) -> dict[str, Any]:
    def of(data: Any) -> Figures:
        figures_of: Figures = data.total if total else data.figures
        return figures_of

    fields: dict[str, Any] = {
        "count": _resolver(lambda data: of(data).count, int, "How many rows.")
    }
    for function, made in figures.items():
        fields[function] = _resolver(_figures_of(made, of), made)
    return fields


def _figures_of(made: type[Any], of: Callable[[Any], Figures]) -> Callable[[Any], Any]:
    return lambda data: made(data=of(data))


def _groups_field(group: type[Any]) -> Any:
    def resolve(root: Any, first: int = DEFAULT_GROUPS) -> Any:
        result: AggregateResult = root.data
        return [group(data=g) for g in result.groups[: check_groups(first)]]

    resolve.__annotations__ = {"root": Any, "first": int, "return": list[group]}  # type: ignore[valid-type]
    return strawberry.field(
        resolver=resolve,
        description="The groups of `groupBy` (none without it), in the order of their keys"
        " (groupBy order, ascending, nulls last): the first `first` (at most 1000).",
    )


def _key_type(type_name: str) -> type[Any]:
    fields = {
        key.field: _key_field(type_name, key)
        for key in group_keys(DECLARATIONS[type_name]).values()
    }
    return _strawberry_type(
        f"{type_name}GroupKey",
        fields,
        "A group's key: the values of its `groupBy` keys, null for the others.",
    )


def _key_field(type_name: str, key: GroupKey) -> Any:
    name = key.field
    if isinstance(key, BucketKey):
        return _resolver(lambda data: data.get(name), datetime.date | None, _BUCKETS[key.bucket])
    if isinstance(key, ColumnKey):
        if key.kind == "bool":
            return _resolver(lambda data: data.get(name), bool | None)
        members = enum_of_field(type_name, name)
        return _resolver(lambda data: _member(members, data.get(name)), members | None)
    target = key.relation.target
    cls = object_type(target)
    if cls is None:
        raise LookupError(f"{target} is not a registered type")
    build = row_builder(cls)
    table = DECLARATIONS[target].table

    async def resolve(root: Any, info: Info) -> Any:
        related = root.data.get(name)
        if related is None:
            return None
        row = await info.context.loaders.by_id(table).load(related)
        return None if row is None else build(row)

    resolve.__annotations__ = {"root": Any, "info": Info, "return": cls | None}
    return strawberry.field(
        resolver=resolve, description="Null when not grouped by it or not visible to the caller."
    )


_BUCKETS = {
    "day": "The day, on the clinic calendar.",
    "week": "The Monday of the week (ISO), on the clinic calendar.",
    "month": "The first day of the month, on the clinic calendar.",
    "year": "The first day of the year, on the clinic calendar.",
}


def _member(members: type[enum.Enum], value: Any) -> enum.Enum | None:
    try:
        return None if value is None else members(value)
    except ValueError:  # a value the enum does not know (a lenient column) reads as null
        return None
