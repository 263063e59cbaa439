"""A root list's aggregate (`appointmentsAggregate`, ...): the count, and the sum, average,
minimum and maximum of each declared column (models/list_arguments.py `aggregate_fields`), of
the rows a `where` keeps — in total and per group of `groupBy` keys — in one statement, read in
the caller's RLS transaction like every read, so it counts only rows the caller may read.

Groups: `GROUP BY GROUPING SETS ((), (keys))`, one scan for the total and the groups; the
groups come in the order of their keys (groupBy order, ascending, nulls last), at most
`first` of them. Keys: an enum or boolean column's value, a to-one relation's foreign key (the
API shows the related row), or the first day of a date or time column's day, week (ISO, from
Monday), month or year on the clinic calendar (graph/core/calendar.py).
"""

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Float,
    RowMapping,
    Select,
    Table,
    cast,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy import Integer as SqlInteger

from graph.core.calendar import TIME_ZONE_NAME
from graph.core.errors import bad_input
from graph.sql.session import RequestDb
from graph.sql.where import NOTHING, Where, check_where, where_condition
from models.declarations import DECLARATIONS
from models.list_arguments import (
    AggregateField,
    BucketKey,
    ColumnKey,
    GroupKey,
    RelationKey,
    aggregate_fields,
    group_keys,
    listed,
)
from models.type_map import TypeMap

DEFAULT_GROUPS = 100
MAX_GROUPS = 1_000

Function = Literal["sum", "avg", "min", "max"]
FUNCTIONS: tuple[Function, ...] = ("sum", "avg", "min", "max")


def aggregate_root(declared: TypeMap) -> str | None:
    """The Query field of the type's aggregate, beside its root list (`paymentsAggregate`);
    None without a root list. Of an audited type (`vitalSignsAggregate`), the statement also
    returns the ids of the rows it summarized, each logged as read (`AggregateResult.read`);
    prontuários have no root list, so no aggregate."""
    if not listed(declared) or declared.root_list is None:
        return None
    return f"{declared.root_list}Aggregate"


def functions_of(field: AggregateField) -> tuple[Function, ...]:
    """What summarizes a column: sum and avg for numbers, min and max for all."""
    return FUNCTIONS if field.summable else ("min", "max")


@dataclass(frozen=True)
class AggregateQuery:
    """What an aggregate was asked for, checked: its rows, its keys, how many groups."""

    type_name: str
    where: Where = NOTHING
    group_by: tuple[GroupKey, ...] = ()
    groups: int = 0  # at most this many groups are read (0: none asked for)

    @classmethod
    def of(
        cls,
        type_name: str,
        where: Mapping[str, Any] | None,
        group_by: Sequence[Any] | None,
        groups: int,
    ) -> "AggregateQuery":
        """The checked arguments (BAD_USER_INPUT on `where...` / `groupBy...` for bad ones)."""
        return cls(
            type_name, check_where(type_name, where), check_group_by(type_name, group_by), groups
        )


def check_group_by(
    type_name: str, given: Sequence[Any] | None, field: str = "groupBy"
) -> tuple[GroupKey, ...]:
    """The group keys of `<Type>GroupBy` values (enum members or their names), each once."""
    keys = group_keys(DECLARATIONS[type_name])
    checked: list[GroupKey] = []
    for i, value in enumerate(given or ()):
        name = value.value if isinstance(value, enum.Enum) else value
        key = keys.get(name) if isinstance(name, str) else None
        if key is None:
            raise bad_input(f"{field}.{i}", f"{type_name} cannot be grouped by {name}")
        if key in checked:
            raise bad_input(f"{field}.{i}", f"{name} is given twice")
        checked.append(key)
    return tuple(checked)


def check_groups(first: Any, field: str = "groups.first") -> int:
    """How many groups `groups(first:)` asks for: 0 to `MAX_GROUPS`."""
    if first is None:
        return DEFAULT_GROUPS
    if not isinstance(first, int) or isinstance(first, bool) or not 0 <= first <= MAX_GROUPS:
        raise bad_input(field, f"first must be between 0 and {MAX_GROUPS}")
    return first


@dataclass(frozen=True)
class Figures:
    """The count and the summaries of a set of rows; `values[("sum", "amount")]` (None over
    no rows, or where every value is null)."""

    count: int
    values: Mapping[tuple[Function, str], Any]


@dataclass(frozen=True)
class Group:
    """One group: its key values by key field (an enum's stored value, a boolean, a date, a
    related row's id; None for null) and its figures."""

    key: Mapping[str, Any]
    figures: Figures


@dataclass(frozen=True)
class AggregateResult:
    total: Figures
    groups: tuple[Group, ...]
    read: tuple[Any, ...] = ()  # of an audited type: the ids of every row summarized


def key_expression(key: GroupKey, table: Table) -> ColumnElement[Any]:
    """A group key's value on the rows of `table`."""
    if isinstance(key, ColumnKey):
        return table.c[key.column]
    if isinstance(key, RelationKey):
        return table.c[key.relation.foreign_key]
    return bucket_expression(key, table)


def bucket_expression(key: BucketKey, table: Table) -> ColumnElement[Any]:
    """The first day of the key's bucket: a time on the clinic's wall calendar, a date as it
    is (a timestamp without zone, so the session's zone plays no part)."""
    column = table.c[key.column]
    if key.kind == "datetime":
        local: ColumnElement[Any] = func.timezone(literal_column(f"'{TIME_ZONE_NAME}'"), column)
    else:
        local = cast(column, DateTime(timezone=False))
    # Literals, not parameters: the key's expression is written twice (select, group by),
    # and PostgreSQL matches them only if they are the same text.
    return cast(func.date_trunc(literal_column(f"'{key.bucket}'"), local), Date)


def _summary(function: Function, field: AggregateField, table: Table) -> ColumnElement[Any]:
    column = table.c[field.column]
    if function == "avg":
        return cast(func.avg(column), Float)
    summarized: ColumnElement[Any] = getattr(func, function)(column)
    return summarized


def label(function: Function, field: str) -> str:
    return f"{function}_{field}"


def aggregate_statement(query: AggregateQuery) -> Select[Any]:
    """One statement: the total row (`_total` 1) first, then at most `query.groups` groups in
    key order (none when no keys or no groups are asked for)."""
    declared = DECLARATIONS[query.type_name]
    table = declared.table
    figures: list[ColumnElement[Any]] = [func.count().label("count")]
    if declared.audited:
        figures.append(func.array_agg(table.c.id).label("_read"))
    for name, field in aggregate_fields(declared).items():
        figures.extend(
            _summary(function, field, table).label(label(function, name))
            for function in functions_of(field)
        )
    conditions = [] if query.where == NOTHING else [where_condition(query.where, table)]
    if not query.group_by or query.groups == 0:
        total = literal_column("1", SqlInteger).label("_total")
        return select(total, *figures).select_from(table).where(*conditions)
    keys = [key_expression(key, table).label(f"key_{key.field}") for key in query.group_by]
    is_total = func.grouping(keys[0].element)  # 1 on the total row: all keys roll up together
    order = [key.element.asc().nulls_last() for key in keys]
    number = func.row_number().over(partition_by=is_total, order_by=order)
    grouped = (
        select(is_total.label("_total"), *keys, *figures, number.label("_n"))
        .select_from(table)
        .where(*conditions)
        .group_by(func.grouping_sets(tuple_(), tuple_(*(key.element for key in keys))))
        .subquery("grouped")
    )
    return (
        select(grouped)
        .where((grouped.c._total == 1) | (grouped.c._n <= query.groups))
        .order_by(grouped.c._total.desc(), grouped.c._n)
    )


async def read_aggregate(db: RequestDb, query: AggregateQuery) -> AggregateResult:
    """The aggregate, read in the caller's transaction."""
    rows = await db.fetch(aggregate_statement(query))
    names = [
        (function, name)
        for name, field in aggregate_fields(DECLARATIONS[query.type_name]).items()
        for function in functions_of(field)
    ]

    def figures(row: RowMapping) -> Figures:
        return Figures(row["count"], {part: row[label(*part)] for part in names})

    total, *grouped = rows
    groups = tuple(
        Group({key.field: row[f"key_{key.field}"] for key in query.group_by}, figures(row))
        for row in grouped
    )
    read = tuple(total["_read"] or ()) if "_read" in total else ()
    return AggregateResult(figures(total), groups, read)
