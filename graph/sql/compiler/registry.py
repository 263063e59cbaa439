"""What the compiler compiles against: the declared types it may answer, their root lists,
their filters rendered as its SQL, and the mutations it may run — one `Registry`, built from
the declarations (models/declarations.py) when the schema is assembled and passed in.

The SQL here renders the same declarations graph/sql/declared.py renders for SQLAlchemy, and
the same `where` trees graph/sql/where.py renders for SQLAlchemy, so both paths filter, sort
and compute alike.
"""

import dataclasses
import datetime
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Table

from graph.core.calendar import TODAY_SQL
from graph.core.identity import Identity
from graph.sql.aggregates import aggregate_root
from graph.sql.declared import filter_value
from graph.sql.where import Comparison, Every, Negation, NullTest, Some, Through, Where
from models.declarations import DECLARATIONS
from models.type_map import (
    AllOf,
    AnyOf,
    Coalesce,
    Col,
    Compare,
    Condition,
    Const,
    DateOf,
    Expression,
    Filter,
    FilterField,
    Input,
    IsNull,
    MinutesBetween,
    Now,
    Today,
    TypeMap,
)


@dataclass(frozen=True)
class FilterCondition:
    """One field of a list's `filter` input as SQL: `sql` with `{t}` for the row's alias and
    `{v}` for the value, which arrives as `sql_type`. `convert` checks and converts the
    coerced input value as the resolver does, raising the resolver's error for a bad one
    (the request then goes to the resolvers, which answer it)."""

    sql: str
    sql_type: str
    convert: Callable[[Any], Any]


@dataclass(frozen=True)
class CompiledMutation:
    """A mutation the compiler runs as one `INSERT ... RETURNING` that builds the response:
    `values` is the resolver's own validation (it raises the resolver's errors), turning the
    caller and the `input` argument into the row to insert."""

    type_map: TypeMap
    input_type: type
    columns: tuple[str, ...]
    values: Callable[[Identity, Any], dict[str, Any]]


# The SQL type a filter's value is cast to, by its declared kind.
INPUT_SQL_TYPES = {
    "enum": "text",
    "enums": "text[]",
    "datetime": "timestamptz",
    "date": "date",
    "id": "uuid",
    "text": "text",
    "bool": "boolean",
}


@dataclass(frozen=True)
class Registry:
    """The compiler's input. `types`: the declared types it answers, by name; `root_lists`:
    Query's list fields; `filters`: each type's compiled filter fields (a field missing here
    sends the operation to the resolvers); `mutations`: root mutation fields it runs;
    `aggregates`: the aggregate fields of the compiled types (graph/sql/compiler/aggregates.py)."""

    types: Mapping[str, TypeMap]
    root_lists: Mapping[str, TypeMap]
    filters: Mapping[str, Mapping[str, FilterCondition]]
    mutations: Mapping[str, CompiledMutation] = field(default_factory=dict)
    aggregates: Mapping[str, TypeMap] = field(default_factory=dict)  # by Query field

    @classmethod
    def of(
        cls,
        declarations: Iterable[TypeMap],
        mutations: Mapping[str, CompiledMutation] | None = None,
    ) -> "Registry":
        """The registry of the declarations marked `compiled` (and the given mutations)."""
        types = {d.name: d for d in declarations if d.compiled}
        for declared in types.values():
            if not all(isinstance(part, str) for part in declared.sort):
                raise ValueError(f"{declared.name}: the compiler sorts by columns only")
        return cls(
            types=types,
            root_lists={d.root_list: d for d in types.values() if d.root_list},
            filters={name: _compiled_filters(d.filters) for name, d in types.items()},
            mutations=dict(mutations or {}),
            aggregates={root: d for d in types.values() if (root := aggregate_root(d)) is not None},
        )

    def sort(self, type_map: TypeMap) -> tuple[str, ...]:
        return tuple(part for part in type_map.sort if isinstance(part, str))


def _compiled_filters(filters: Mapping[str, FilterField]) -> dict[str, FilterCondition]:
    compiled = {}
    for name, declared in filters.items():
        if isinstance(declared, Filter) and declared.compiled:
            compiled[name] = FilterCondition(
                condition_sql(declared.condition, "{t}", "{v}"),
                INPUT_SQL_TYPES[declared.kind],
                _converter(declared, "filter." + name),
            )
    return compiled


def _converter(declared: Filter, field: str) -> Callable[[Any], Any]:
    return lambda value: filter_value(declared, value, field)


# -- declarations as SQL text ------------------------------------------------------------------


def expression_sql(value: Expression, t: str, v: str = "") -> str:
    """`value` on the row aliased `t`; `Input()` is `v`."""
    if isinstance(value, Col):
        return f"{t}.{value.name}"
    if isinstance(value, Const):
        return "'" + value.value.replace("'", "''") + "'"
    if isinstance(value, Coalesce):
        return (
            f"coalesce({expression_sql(value.first, t, v)}, {expression_sql(value.second, t, v)})"
        )
    if isinstance(value, DateOf):
        return f"date({expression_sql(value.value, t, v)})"
    if isinstance(value, MinutesBetween):
        end, start = expression_sql(value.end, t, v), expression_sql(value.start, t, v)
        return f"floor(extract(epoch from {end} - {start}) / 60)::int"
    if isinstance(value, Today):
        return TODAY_SQL
    if isinstance(value, Now):
        return "now()"
    if isinstance(value, Input):
        return v
    raise TypeError(value)


def condition_sql(value: Condition, t: str, v: str = "") -> str:
    """`value` on the row aliased `t`; `Input()` is `v`."""
    if isinstance(value, Compare):
        return f"{expression_sql(value.left, t, v)} {value.op} {expression_sql(value.right, t, v)}"
    if isinstance(value, IsNull):
        return f"{expression_sql(value.value, t, v)} is {'not ' if value.negated else ''}null"
    if isinstance(value, AnyOf):
        return f"{expression_sql(value.value, t, v)} = any({v})"
    if isinstance(value, AllOf):
        return "(" + " and ".join(condition_sql(part, t, v) for part in value.parts) + ")"
    raise TypeError(value)


def computed_sql(value: Condition | Expression, t: str) -> str:
    """A `Computed` field's value on the row aliased `t`."""
    if isinstance(value, Compare | IsNull | AnyOf | AllOf):
        return condition_sql(value, t)
    return expression_sql(value, t)


# -- where trees as SQL text -------------------------------------------------------------------

SQL_TYPES: dict[type, str] = {
    uuid.UUID: "uuid",
    str: "text",
    int: "bigint",
    bool: "boolean",
    Decimal: "numeric",
    datetime.date: "date",
    datetime.datetime: "timestamptz",
}

COMPARISONS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
PATTERNS = {"like": "like", "ilike": "ilike"}


def sql_type(table: Table, column: str) -> str:
    """The SQL type a value compared with (or read from) the column is cast to."""
    return SQL_TYPES[table.c[column].type.python_type]


def where_sql(
    where: Where,
    table: Table,
    t: str,
    value: Callable[[Comparison, str], str],
    alias: Callable[[], str],
) -> str:
    """The tree as a condition on the row of `table` aliased `t`, as graph/sql/where.py's
    `where_condition` renders it for SQLAlchemy. Values are never in the text: `value` gives
    the placeholder of a comparison's `comparison_value`, cast to the SQL type it is given,
    and is called in the order of `comparisons(where)`; `alias` names related rows."""
    if isinstance(where, Every):
        if not where.parts:
            return "true"
        return "(" + " and ".join(where_sql(p, table, t, value, alias) for p in where.parts) + ")"
    if isinstance(where, Some):
        return "(" + " or ".join(where_sql(p, table, t, value, alias) for p in where.parts) + ")"
    if isinstance(where, Negation):
        return f"not {where_sql(where.part, table, t, value, alias)}"
    if isinstance(where, NullTest):
        return f"({t}.{where.column} is {'' if where.is_null else 'not '}null)"
    if isinstance(where, Through):
        return _through_sql(where, t, value, alias)
    column, kind = f"{t}.{where.column}", sql_type(table, where.column)
    if where.op == "in":
        return f"({column} = any({value(where, kind + '[]')}))"
    if where.op == "nin":
        return f"not ({column} = any({value(where, kind + '[]')}))"
    if where.op in PATTERNS:
        return f"({column} {PATTERNS[where.op]} {value(where, 'text')})"
    if where.op == "startsWith":
        return f"({column} like {value(where, 'text')} escape '/')"
    return f"({column} {COMPARISONS[where.op]} {value(where, kind)})"


def _ids_only(where: Where) -> list[Comparison]:
    """The comparisons of a tree that only compares the row's id (`eq` / `in`), in the order
    of `comparisons`; empty for any other tree."""
    parts = where.parts if isinstance(where, Every) else (where,)
    kept = [
        p for p in parts if isinstance(p, Comparison) and p.column == "id" and p.op in ("eq", "in")
    ]
    return kept if parts and len(kept) == len(parts) else []


def _through_sql(
    where: Through, t: str, value: Callable[[Comparison, str], str], alias: Callable[[], str]
) -> str:
    """`exists` of the visible related row that matches; when the related row's id is
    compared (`patient: {id: {eq: $p}}`), the foreign key too, which an index can serve."""
    declared = DECLARATIONS[where.relation.target]
    foreign_key = f"{t}.{where.relation.foreign_key}"
    ids = _ids_only(where.where)
    if declared.clinic_wide and ids:
        # Every row of the clinic is visible: the foreign key names a matching row or none.
        keys = [
            f"{foreign_key} = {value(c, 'uuid')}"
            if c.op == "eq"
            else f"{foreign_key} = any({value(c, 'uuid[]')})"
            for c in ids
        ]
        return "(" + " and ".join([f"{foreign_key} is not null", *keys]) + ")"
    target = declared.table
    x = alias()
    placed: dict[int, str] = {}

    def placing(comparison: Comparison, cast: str) -> str:
        placed[id(comparison)] = value(comparison, cast)
        return placed[id(comparison)]

    inner = where_sql(where.where, target, x, placing, alias)
    found = f"exists(select 1 from {target.name} {x} where {x}.id = {foreign_key} and {inner})"
    keys = [
        f"{foreign_key} = {placed[id(c)]}"
        if c.op == "eq"
        else f"{foreign_key} = any({placed[id(c)]})"
        for c in _conjuncts(where.where)
        if c.column == "id" and c.op in ("eq", "in")
    ]
    return "(" + " and ".join([*keys, found]) + ")" if keys else found


def _conjuncts(where: Where) -> list[Comparison]:
    """The comparisons that must all hold for the tree to hold (of its top level)."""
    if isinstance(where, Comparison):
        return [where]
    if isinstance(where, Every):
        return [part for part in where.parts if isinstance(part, Comparison)]
    return []


def comparisons(where: Where) -> Iterator[Comparison]:
    """The tree's comparisons in the order `where_sql` asks for their placeholders."""
    if isinstance(where, Every | Some):
        for part in where.parts:
            yield from comparisons(part)
    elif isinstance(where, Negation):
        yield from comparisons(where.part)
    elif isinstance(where, Through):
        yield from comparisons(where.where)
    elif isinstance(where, Comparison):
        yield where


def comparison_value(comparison: Comparison) -> Any:
    """What a comparison's placeholder holds: its value; `startsWith`: the prefix as a LIKE
    pattern escaped with `/` (as SQLAlchemy's `startswith(autoescape=True)` does)."""
    if comparison.op != "startsWith":
        return comparison.value
    escaped = str(comparison.value).replace("/", "//").replace("%", "/%").replace("_", "/_")
    return escaped + "%"


def skeleton(where: Where) -> Where:
    """The tree without its values: what its SQL depends on (a plan is reused only for trees
    of the same skeleton)."""
    if isinstance(where, Every):
        return Every(tuple(skeleton(p) for p in where.parts))
    if isinstance(where, Some):
        return Some(tuple(skeleton(p) for p in where.parts))
    if isinstance(where, Negation):
        return Negation(skeleton(where.part))
    if isinstance(where, Through):
        return Through(where.relation, skeleton(where.where))
    if isinstance(where, Comparison):
        return dataclasses.replace(where, value=None)
    return where
