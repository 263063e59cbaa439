"""The vocabulary of the type declarations (models/declarations.py): how a GraphQL type maps
onto its table — its columns, global ID, relations, the keyset sort of its lists, its root
list, its filters and the values computed from a row.

A declaration is data. graph/sql/declared.py renders it for the resolvers (SortKeys,
SQLAlchemy conditions, the node loaders), graph/api/builders.py builds Strawberry objects
from rows with it, and the query compiler (graph/sql/compiler) turns it into SQL. Field
names are the GraphQL (camelCase) names.

Conditions and expressions (`Compare`, `IsNull`, `AllOf`, `Col`, `Today`, ...) are a small
tree rather than SQL text, so the same declaration renders as SQLAlchemy (resolvers), as the
compiler's SQL and, for values computed from a row (`Computed`), as Python.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sqlalchemy import (
    ARRAY,
    Boolean,
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    Table,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

# -- expressions and conditions -----------------------------------------------------------


@dataclass(frozen=True)
class Col:
    """A column of the row."""

    name: str


@dataclass(frozen=True)
class Const:
    """A constant (SQL: a literal)."""

    value: str


@dataclass(frozen=True)
class Coalesce:
    first: "Expression"
    second: "Expression"


@dataclass(frozen=True)
class DateOf:
    """The date part of a timestamp (SQL `date(...)`)."""

    value: "Expression"


@dataclass(frozen=True)
class MinutesBetween:
    """Whole minutes from `start` to `end`, rounded down."""

    start: "Expression"
    end: "Expression"


@dataclass(frozen=True)
class Today:
    """The date on the clinic's wall calendar now (graph/core/calendar.py)."""


@dataclass(frozen=True)
class Now:
    """The current time."""


@dataclass(frozen=True)
class Input:
    """The value a filter was given."""


Expression = Col | Const | Coalesce | DateOf | MinutesBetween | Today | Now | Input

Operator = Literal["=", "<", "<=", ">", ">="]


@dataclass(frozen=True)
class Compare:
    left: Expression
    op: Operator
    right: Expression


@dataclass(frozen=True)
class IsNull:
    value: Expression
    negated: bool = False


@dataclass(frozen=True)
class AnyOf:
    """`value` is one of the filter's list of values."""

    value: Expression


@dataclass(frozen=True)
class AllOf:
    parts: tuple["Condition", ...]


Condition = Compare | IsNull | AnyOf | AllOf


# -- fields ----------------------------------------------------------------------------------

ScalarKind = Literal[
    "text", "int", "bool", "uuid", "date", "datetime", "decimal", "enum", "json", "text_list"
]


@dataclass(frozen=True)
class Scalar:
    """A column, shown as is (enums: upper-cased; timestamps: ISO 8601 in UTC; text lists: a
    list, empty for null). Its kind is the column's type (`TypeMap` fills it in); only an
    enum says so. `lenient`: an enum value the type does not know reads as null."""

    name: str
    kind: ScalarKind | None = None
    lenient: bool = False


@dataclass(frozen=True)
class GlobalId:
    """The Relay global ID of the row: base64url("TypeName:<id>"); `kind` is its id's."""

    type_name: str
    kind: Literal["uuid", "int"] = "uuid"


@dataclass(frozen=True)
class ForeignId:
    """The global ID of the `type_name` row that `column` holds the id of (null for null)."""

    column: str
    type_name: str


@dataclass(frozen=True)
class RecordId:
    """The global ID of the row `column` names in the table `table_column` names (the audit
    log's records), typed as the table's declared type (`types` overrides that); the bare id
    for a table without one."""

    column: str
    table_column: str
    types: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Computed:
    """A value computed from the row: a condition (a boolean) or an expression."""

    value: "Condition | Expression"


@dataclass(frozen=True)
class ToOne:
    """The row another table's `foreign_key` points at (null when not visible)."""

    target: str
    foreign_key: str
    nullable: bool = True


@dataclass(frozen=True)
class Children:
    """Rows of `target` whose `parent_key` is this row's id, in the target's declared sort;
    a Relay connection, or a plain list when `connection` is false."""

    target: str
    parent_key: str
    connection: bool = True


@dataclass(frozen=True)
class ResolverOnly:
    """A field only a resolver answers (a join through another table, a figure computed by
    a query of its own, ...); `why` says what it needs."""

    why: str


FieldMap = Scalar | GlobalId | ForeignId | RecordId | Computed | ToOne | Children | ResolverOnly


# -- lists -----------------------------------------------------------------------------------

InputKind = Literal["enum", "enums", "datetime", "date", "id", "text", "bool"]


@dataclass(frozen=True)
class Filter:
    """A filter field with a value: `condition` holds, `Input()` standing for the value, which
    arrives as `kind` (`id`: the global ID of an `id_type`; `text`: trimmed). `compiled`: false
    when only the resolvers apply it (the compiler then leaves the operation to them)."""

    condition: Condition
    kind: InputKind
    id_type: str | None = None
    compiled: bool = True


@dataclass(frozen=True)
class Flag:
    """A boolean filter field: true keeps the rows where `condition` holds, false the others."""

    condition: Condition
    compiled: bool = True


@dataclass(frozen=True)
class ResolverFilter:
    """A filter field only the resolver implements (e.g. accent-insensitive search, which
    needs the database's unaccent index expression); `why` says so."""

    why: str


FilterField = Filter | Flag | ResolverFilter


@dataclass(frozen=True)
class SortBy:
    """A sort key that is not a column: `condition`, ordered false before true."""

    name: str
    condition: Condition


SortPart = str | SortBy


@dataclass(frozen=True)
class TypeMap:
    """One GraphQL type read from rows of `table`.

    Every column of the table is a `Scalar` field under its camelCase name (`birth_date` →
    `birthDate`), its kind read from the column's type, unless
    - `fields` uses it: a `Scalar` of it (an enum, lenient, another name), the `GlobalId`
      (`id`), a `ToOne` foreign key, a `ForeignId` or a `RecordId`;
    - `hidden` lists it: a column the type does not show (`clinic_id`, internal state).
    `fields` holds the rest: global IDs, relations, computed values, resolver-only fields. A
    column's scalar takes its place among the fields right after the field of the nearest
    column before it in the table (the first place without one), so a type's field order is
    its table's.

    - `sort`: the keyset order of every list of it (a unique column last; none: no lists);
    - `root_list`: its top-level list field on Query, if any;
    - `filters`: its lists' filter fields (the `filter` input's fields, or the list's own
      arguments), by GraphQL name;
    - `compiled`: the query compiler may answer it (its lists need nothing but an identity);
    - `audited`: reading it leaves an audit row, so only the resolvers read it;
    - `clinic_wide`: every signed-in role of the clinic reads every row of it (RLS; the access
      matrix test checks it), so a relation filter on its id alone needs no visibility check.
    """

    name: str
    table: Table
    fields: Mapping[str, FieldMap]
    hidden: tuple[str, ...] = ()
    sort: tuple[SortPart, ...] = ()
    root_list: str | None = None
    filters: Mapping[str, FilterField] = field(default_factory=dict)
    compiled: bool = False
    audited: bool = False
    clinic_wide: bool = False

    def __post_init__(self) -> None:
        fields = {
            name: replace(f, kind=column_kind(self.table.c[f.name].type))
            if isinstance(f, Scalar) and f.kind is None
            else f
            for name, f in self.fields.items()
        }
        object.__setattr__(self, "fields", _with_column_scalars(self, fields))

    @property
    def global_id(self) -> GlobalId | None:
        declared = self.fields.get("id")
        return declared if isinstance(declared, GlobalId) else None

    def relations(self) -> dict[str, ToOne]:
        return {name: f for name, f in self.fields.items() if isinstance(f, ToOne)}


def _with_column_scalars(declared: TypeMap, fields: dict[str, FieldMap]) -> dict[str, FieldMap]:
    """`fields` with a `Scalar` for each column it neither uses nor hides, in column order."""
    columns = [column.name for column in declared.table.c]
    unknown = set(declared.hidden) - set(columns)
    if unknown:
        raise ValueError(f"{declared.name} hides no such columns: {sorted(unknown)}")
    used = {column: name for name, f in fields.items() for column in _columns_used(f)}
    shown = set(used) & set(declared.hidden)
    if shown:
        raise ValueError(f"{declared.name} both uses and hides {sorted(shown)}")
    ordered = list(fields.items())
    after: str | None = None  # the field of the nearest column before, if any
    for column in columns:
        if column in declared.hidden:
            continue
        if column in used:
            after = used[column] if isinstance(fields[used[column]], Scalar | GlobalId) else after
            continue
        name = camel_case(column)
        if name in fields:
            raise ValueError(f"{declared.name}.{name} is declared but not column {column}")
        at = 0 if after is None else [n for n, _ in ordered].index(after) + 1
        ordered.insert(at, (name, Scalar(column, column_kind(declared.table.c[column].type))))
        after = name
    return dict(ordered)


def _columns_used(field: FieldMap) -> tuple[str, ...]:
    if isinstance(field, Scalar):
        return (field.name,)
    if isinstance(field, GlobalId):
        return ("id",)
    if isinstance(field, ToOne):
        return (field.foreign_key,)
    if isinstance(field, ForeignId):
        return (field.column,)
    if isinstance(field, RecordId):
        return (field.column,)
    return ()


def camel_case(column: str) -> str:
    """`birth_date` → `birthDate`: a column's GraphQL (and export) name."""
    first, *rest = column.split("_")
    return first + "".join(part.capitalize() for part in rest)


# A column's kind, by its SQLAlchemy type (the first that matches).
COLUMN_KINDS: tuple[tuple[type[TypeEngine[Any]], ScalarKind], ...] = (
    (Boolean, "bool"),
    (Integer, "int"),
    (Numeric, "decimal"),
    (DateTime, "datetime"),
    (Date, "date"),
    (Uuid, "uuid"),
    (JSONB, "json"),
    (String, "text"),
)


def column_kind(column_type: TypeEngine[Any]) -> ScalarKind:
    if isinstance(column_type, ARRAY) and isinstance(column_type.item_type, String):
        return "text_list"
    for sql_type, kind in COLUMN_KINDS:
        if isinstance(column_type, sql_type):
            return kind
    raise TypeError(f"no scalar kind for a {column_type!r} column")
