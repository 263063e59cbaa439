"""What a list of a type can be ordered, filtered, grouped and aggregated by — derived from its
declaration (models/type_map.py), never written per type.

- `order_fields`: the `<Type>OrderBy` enum: `<FIELD>_ASC` / `<FIELD>_DESC` for each shown
  column whose values order (text, numbers, dates, times, enums, booleans).
- `where_fields`: the `<Type>Where` input: a comparison for each shown column (and the global
  and foreign IDs), and a nested `Where` for each to-one relation to a type that has one.
  Audited types (clinical records) filter by their ids, dates and enums only: searching their
  text would read clinical content no audit row records.
- `aggregate_fields`: the columns `sum`/`avg` (numbers) and `min`/`max` (numbers, dates and
  times) summarize.
- `group_keys`: the `<Type>GroupBy` enum: enum and boolean columns, to-one relations, and for
  each date or time column its day, week, month and year on the clinic calendar.

Names are GraphQL's: fields camelCase, enum values UPPER_SNAKE of the field.
"""

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, TypeVar

from models.declarations import DECLARATIONS
from models.type_map import ForeignId, GlobalId, Scalar, ScalarKind, ToOne, TypeMap

ORDERABLE: frozenset[ScalarKind] = frozenset(
    {"text", "int", "bool", "date", "datetime", "decimal", "enum"}
)
CLINICAL_TEXT: frozenset[ScalarKind] = frozenset({"text"})  # of an audited type
NUMERIC: frozenset[ScalarKind] = frozenset({"int", "decimal"})
EXTREMAL: frozenset[ScalarKind] = NUMERIC | {"date", "datetime"}
GROUPABLE: frozenset[ScalarKind] = frozenset({"enum", "bool"})

# The comparisons a `where` offers on a column, by its kind (`uuid`: IDs).
ORDERED_OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "isNull")
OPERATORS: dict[ScalarKind, tuple[str, ...]] = {
    "text": ("eq", "neq", "in", "nin", "like", "ilike", "startsWith", "isNull"),
    "uuid": ("eq", "neq", "in", "nin", "isNull"),
    "int": ORDERED_OPERATORS,
    "decimal": ORDERED_OPERATORS,
    "date": ORDERED_OPERATORS,
    "datetime": ORDERED_OPERATORS,
    "bool": ("eq", "isNull"),
    "enum": ("eq", "neq", "in", "nin"),
}
LIST_OPERATORS = frozenset({"in", "nin"})
PATTERN_OPERATORS = frozenset({"like", "ilike", "startsWith"})
COMPARABLE: frozenset[ScalarKind] = frozenset(OPERATORS)

Bucket = Literal["day", "week", "month", "year"]
BUCKETS: tuple[Bucket, ...] = ("day", "week", "month", "year")


def upper_snake(field: str) -> str:
    """`startsAt` → `STARTS_AT`: a field's name in an enum value."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", field).upper()


@dataclass(frozen=True)
class OrderField:
    """A column a list may be ordered by."""

    field: str
    column: str
    kind: ScalarKind


@dataclass(frozen=True)
class ColumnFilter:
    """A column compared with a value of its kind."""

    column: str
    kind: ScalarKind


@dataclass(frozen=True)
class IdFilter:
    """A uuid column compared with global IDs of `type_name`."""

    column: str
    type_name: str


@dataclass(frozen=True)
class RelationFilter:
    """A to-one relation: its row exists (and is visible) and matches a nested Where."""

    relation: ToOne


WhereField = ColumnFilter | IdFilter | RelationFilter


@dataclass(frozen=True)
class AggregateField:
    column: str
    kind: ScalarKind
    summable: bool  # sum and avg; min and max always


@dataclass(frozen=True)
class ColumnKey:
    """Groups by an enum or boolean column's value."""

    field: str
    column: str
    kind: ScalarKind


@dataclass(frozen=True)
class RelationKey:
    """Groups by a to-one relation; the key shows the related object."""

    field: str
    relation: ToOne


@dataclass(frozen=True)
class BucketKey:
    """Groups by the day / week (from Monday) / month / year of a date or time column, on the
    clinic calendar; the key is the bucket's first date."""

    field: str
    column: str
    kind: ScalarKind
    bucket: Bucket


GroupKey = ColumnKey | RelationKey | BucketKey


Derived = TypeVar("Derived")


def per_declaration(
    derive: Callable[[TypeMap], Mapping[str, Derived]],
) -> Callable[[TypeMap], Mapping[str, Derived]]:
    """`derive`, computed once per declaration (every request checks its arguments against
    these; a declaration is not hashable, so it is remembered by identity, and kept alive)."""
    known: dict[int, tuple[TypeMap, Mapping[str, Derived]]] = {}

    @functools.wraps(derive)
    def once(declared: TypeMap) -> Mapping[str, Derived]:
        found = known.get(id(declared))
        if found is None:
            found = known[id(declared)] = (declared, MappingProxyType(dict(derive(declared))))
        return found[1]

    return once


def _scalars(declared: TypeMap) -> dict[str, Scalar]:
    return {name: f for name, f in declared.fields.items() if isinstance(f, Scalar)}


def _kind(field: Scalar) -> ScalarKind:
    assert field.kind is not None, "TypeMap fills in every scalar's kind"
    return field.kind


def _usable(declared: TypeMap, kinds: frozenset[ScalarKind]) -> frozenset[ScalarKind]:
    """`kinds`, without text for an audited type (its text is clinical content)."""
    return kinds - CLINICAL_TEXT if declared.audited else kinds


@per_declaration
def order_fields(declared: TypeMap) -> Mapping[str, OrderField]:
    """By enum value prefix (`STARTS_AT`): the columns a list may be ordered by."""
    if not listed(declared):
        return {}
    orderable = _usable(declared, ORDERABLE)
    return {
        upper_snake(name): OrderField(name, f.name, _kind(f))
        for name, f in _scalars(declared).items()
        if _kind(f) in orderable
    }


def listed(declared: TypeMap) -> bool:
    """Whether the type has lists, and so an OrderBy, a Where and (unaudited) aggregates."""
    return bool(declared.sort)


# The types a to-one relation may be filtered or grouped through: listed and not audited.
RELATABLE = frozenset(d.name for d in DECLARATIONS.values() if listed(d) and not d.audited)


@per_declaration
def where_fields(declared: TypeMap) -> Mapping[str, WhereField]:
    """By GraphQL field name: what the type's `Where` input compares; to-one relations reach
    the `RELATABLE` types."""
    comparable = _usable(declared, COMPARABLE)
    fields: dict[str, WhereField] = {}
    for name, f in declared.fields.items():
        if isinstance(f, GlobalId) and f.kind == "uuid":
            fields[name] = IdFilter("id", f.type_name)
        elif isinstance(f, ForeignId):
            fields[name] = IdFilter(f.column, f.type_name)
        elif isinstance(f, Scalar) and _kind(f) in comparable:
            fields[name] = ColumnFilter(f.name, _kind(f))
        elif isinstance(f, ToOne) and f.target in RELATABLE:
            fields[name] = RelationFilter(f)
    return fields


@per_declaration
def aggregate_fields(declared: TypeMap) -> Mapping[str, AggregateField]:
    """By GraphQL field name: the columns `min`/`max` (and, numeric, `sum`/`avg`) summarize."""
    return {
        name: AggregateField(f.name, _kind(f), _kind(f) in NUMERIC)
        for name, f in _scalars(declared).items()
        if _kind(f) in EXTREMAL
    }


@per_declaration
def group_keys(declared: TypeMap) -> Mapping[str, GroupKey]:
    """By enum value (`STATUS`, `PHYSIOTHERAPIST`, `STARTS_AT_MONTH`): what a list's aggregate
    may group by (relation keys show `RELATABLE` types)."""
    keys: dict[str, GroupKey] = {}
    for name, f in declared.fields.items():
        if isinstance(f, Scalar) and _kind(f) in GROUPABLE:
            keys[upper_snake(name)] = ColumnKey(name, f.name, _kind(f))
        elif isinstance(f, Scalar) and _kind(f) in ("date", "datetime"):
            for bucket in BUCKETS:
                field = name + bucket.capitalize()
                keys[upper_snake(field)] = BucketKey(field, f.name, _kind(f), bucket)
        elif isinstance(f, ToOne) and f.target in RELATABLE:
            keys[upper_snake(name)] = RelationKey(name, f)
    return keys
