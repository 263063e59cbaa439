"""What the type declarations (models/declarations.py) give the SQL layer: the `SortKey` of
each type's lists, its filters as SQLAlchemy conditions (the compiler renders the same
declarations as its SQL: graph/sql/compiler/registry.py), the values computed from a row,
and the tables a type's rows point at.

A filter's input is converted here for both paths (`filter_value`), so the resolvers and the
compiler accept and refuse exactly the same values with the same errors.
"""

import datetime
import enum
import operator
import uuid
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Table, and_, extract, func, literal, not_

from graph.core.calendar import clinic_today
from graph.core.errors import bad_input
from graph.core.ids import parse_uuid_id
from graph.core.validators import aware
from graph.sql.child_list import ChildList
from graph.sql.pagination import SortKey
from models.declarations import DECLARATIONS
from models.type_map import (
    AllOf,
    AnyOf,
    Children,
    Coalesce,
    Col,
    Compare,
    Condition,
    Const,
    DateOf,
    Expression,
    Filter,
    Flag,
    Input,
    IsNull,
    MinutesBetween,
    Now,
    ResolverFilter,
    Today,
    TypeMap,
)

OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def declaration(type_name: str) -> TypeMap:
    return DECLARATIONS[type_name]


@cache
def sort_key(type_name: str) -> SortKey:
    """The keyset order of every list of the type."""
    declared = DECLARATIONS[type_name]
    if not declared.sort:
        raise LookupError(f"{type_name} has no lists")
    table = declared.table
    return SortKey(
        tuple(
            table.c[part]
            if isinstance(part, str)
            else condition(part.condition, table).label(part.name)
            for part in declared.sort
        )
    )


# -- expressions and conditions as SQLAlchemy --------------------------------------------------


def expression(value: Expression, table: Table, given: Any = None) -> Any:
    """`value` on the rows of `table`; `Input()` is `given` (a bound parameter)."""
    if isinstance(value, Col):
        return table.c[value.name]
    if isinstance(value, Const):
        return literal(value.value)
    if isinstance(value, Coalesce):
        return func.coalesce(
            expression(value.first, table, given), expression(value.second, table, given)
        )
    if isinstance(value, DateOf):
        return func.date(expression(value.value, table, given))
    if isinstance(value, MinutesBetween):
        seconds = extract("epoch", expression(value.end, table) - expression(value.start, table))
        return func.floor(seconds / 60).cast(Integer)
    if isinstance(value, Today):
        return literal(clinic_today())
    if isinstance(value, Now):
        return func.now()
    if isinstance(value, Input):
        return literal(given)
    raise TypeError(value)


def condition(value: Condition, table: Table, given: Any = None) -> ColumnElement[bool]:
    """`value` as a SQLAlchemy condition on the rows of `table`; `Input()` is `given`."""
    if isinstance(value, Compare):
        left = expression(value.left, table, given)
        right = given if isinstance(value.right, Input) else expression(value.right, table, given)
        result: ColumnElement[bool] = OPERATORS[value.op](left, right)
        return result
    if isinstance(value, IsNull):
        subject = expression(value.value, table, given)
        test: ColumnElement[bool] = subject.is_not(None) if value.negated else subject.is_(None)
        return test
    if isinstance(value, AnyOf):
        within: ColumnElement[bool] = expression(value.value, table).in_(given)
        return within
    if isinstance(value, AllOf):
        return and_(*(condition(part, table, given) for part in value.parts))
    raise TypeError(value)


# -- values computed from a row, in Python -------------------------------------------------


def evaluate(value: Condition | Expression, row: Mapping[Any, Any]) -> Any:
    """A `Computed` value of a row, as the compiler's SQL computes it (a comparison with a
    null is false)."""
    if isinstance(value, Col):
        return row[value.name]
    if isinstance(value, Const):
        return value.value
    if isinstance(value, Coalesce):
        first = evaluate(value.first, row)
        return first if first is not None else evaluate(value.second, row)
    if isinstance(value, DateOf):
        moment = evaluate(value.value, row)
        return None if moment is None else moment.astimezone(datetime.UTC).date()
    if isinstance(value, MinutesBetween):
        start, end = evaluate(value.start, row), evaluate(value.end, row)
        return int((end - start).total_seconds() // 60)
    if isinstance(value, Today):
        return clinic_today()
    if isinstance(value, Now):
        return datetime.datetime.now(datetime.UTC)
    if isinstance(value, Compare):
        left, right = evaluate(value.left, row), evaluate(value.right, row)
        return left is not None and right is not None and bool(OPERATORS[value.op](left, right))
    if isinstance(value, IsNull):
        return (evaluate(value.value, row) is None) != value.negated
    if isinstance(value, AllOf):
        return all(evaluate(part, row) for part in value.parts)
    raise TypeError(value)


# -- filters ------------------------------------------------------------------------------------


def filter_value(declared: Filter, value: Any, field: str) -> Any:
    """A filter's input value, checked and converted as both paths use it: BAD_USER_INPUT
    (on `field`) for one the API refuses."""
    if declared.kind == "enum":
        return value.value if isinstance(value, enum.Enum) else value
    if declared.kind == "enums":
        return [item.value if isinstance(item, enum.Enum) else item for item in value]
    if declared.kind == "datetime":
        return aware(value, field)
    if declared.kind == "id":
        assert declared.id_type is not None, "an id filter names its type"
        return parse_uuid_id(value, declared.id_type, field=field)
    if declared.kind == "text":
        if not isinstance(value, str):
            raise bad_input(field, f"{field} must be text")
        return value.strip()
    return value  # date, bool: as coerced


def is_given(value: Any) -> bool:
    """A filter field set to null or to an empty list filters nothing."""
    return value is not None and value != []


# A list's filter, validated: (GraphQL name, converted value) pairs, hashable, so it can key
# a batched nested-list loader.
Criteria = tuple[tuple[str, Any], ...]


def criteria(type_name: str, values: Mapping[str, Any], prefix: str = "filter.") -> Criteria:
    """The given filter values (GraphQL names), checked and converted (BAD_USER_INPUT on
    `prefix + name` for a refused one); `ResolverFilter` fields are the resolver's own and
    left out."""
    filters = DECLARATIONS[type_name].filters
    checked: list[tuple[str, Any]] = []
    for name, value in values.items():
        declared = filters[name]
        if isinstance(declared, ResolverFilter) or not is_given(value):
            continue
        if isinstance(declared, Filter):
            value = filter_value(declared, value, prefix + name)
        checked.append((name, tuple(value) if isinstance(value, list) else value))
    return tuple(checked)


def criteria_conditions(type_name: str, checked: Criteria) -> list[ColumnElement[bool]]:
    """Validated criteria as SQLAlchemy conditions on the type's table."""
    declared = DECLARATIONS[type_name]
    conditions: list[ColumnElement[bool]] = []
    for name, value in checked:
        field = declared.filters[name]
        if isinstance(field, Flag):
            holds = condition(field.condition, declared.table)
            conditions.append(holds if value else not_(holds))
        elif isinstance(field, Filter):
            conditions.append(condition(field.condition, declared.table, value))
    return conditions


def filter_conditions(
    type_name: str, values: Mapping[str, Any], prefix: str = "filter."
) -> list[ColumnElement[bool]]:
    """The declared filters of the type's lists as SQLAlchemy conditions, for the given
    values (GraphQL names)."""
    return criteria_conditions(type_name, criteria(type_name, values, prefix))


# -- rows by global ID ------------------------------------------------------------------------


def local_id(type_name: str, local: str) -> uuid.UUID | int | None:
    """The row id the local part of a global ID of `type_name` names, as the type's id kind
    (None: malformed, out of range, or a type without a global ID)."""
    declared = DECLARATIONS.get(type_name)
    global_id = declared.global_id if declared else None
    if global_id is None:
        return None
    try:
        if global_id.kind == "int":
            number = int(local)
            return number if 0 < number < 2**63 else None
        return uuid.UUID(local)
    except ValueError:
        return None


# -- relations ------------------------------------------------------------------------------------


def related_tables(type_name: str) -> dict[str, Table]:
    """The tables a row of the type points at (foreign key column → table), audited ones
    left out: reading those must stay each reader's own read."""
    declared = DECLARATIONS[type_name]
    return {
        relation.foreign_key: DECLARATIONS[relation.target].table
        for relation in declared.relations().values()
        if not DECLARATIONS[relation.target].audited
    }


def child_list(type_name: str, field: str) -> ChildList:
    """The declared to-many relation `field` of `type_name` for the batched loaders: the
    target's table and sort, the declared parent key, and the target's declared filters
    (the loaders' filter value is its `criteria`, or None)."""
    relation = DECLARATIONS[type_name].fields[field]
    if not isinstance(relation, Children):
        raise LookupError(f"{type_name}.{field} is not a declared to-many relation")
    target = relation.target

    def where(checked: Criteria | None) -> list[ColumnElement[bool]]:
        return criteria_conditions(target, checked or ())

    return ChildList(DECLARATIONS[target].table, relation.parent_key, sort_key(target), where)
