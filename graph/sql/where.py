"""A list's `where` argument: checked once into a `Where` tree (hashable, so it can key a batched
loader), which both paths render — as SQLAlchemy here, as the compiler's SQL in
graph/sql/compiler — so they keep and refuse exactly the same rows and values.

What a type's `Where` may compare is derived from its declaration (models/list_arguments.py).
Semantics, as Hasura's and PostGraphile's users expect them:
- fields of one `Where` object, and the items of `and`, must all hold; one item of `or` must;
  `not` negates; an empty object, an empty `and` or an empty `or` (and a comparison given null)
  imposes nothing;
- `neq`, `nin`, `gt`... are SQL's: a null column never matches them (ask `isNull`);
- `in: []` matches nothing, `nin: []` everything;
- `like` / `ilike` take SQL patterns (`%`, `_`), at most `MAX_PATTERN` characters;
  `startsWith` is a plain prefix;
- a relation (`patient: { name: { ilike: "%silva%" } }`) holds when the related row exists, is
  visible to the caller (RLS) and matches.
"""

import datetime
import decimal
import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Table,
    and_,
    exists,
    false,
    not_,
    or_,
    select,
    true,
)

from graph.core.errors import bad_input
from graph.core.ids import parse_uuid_id
from graph.core.validators import aware
from models.declarations import DECLARATIONS
from models.list_arguments import (
    LIST_OPERATORS,
    OPERATORS,
    PATTERN_OPERATORS,
    ColumnFilter,
    IdFilter,
    RelationFilter,
    WhereField,
    where_fields,
)
from models.type_map import ScalarKind, ToOne

MAX_PATTERN = 100  # characters of a like / ilike / startsWith pattern (any text: 200)
MAX_LIST = 1_000  # values of an in / nin list
MAX_DEPTH = 8  # nested and / or / not / relation levels
MAX_CONDITIONS = 100  # comparisons in one where


@dataclass(frozen=True)
class Comparison:
    """`column op value` (`in`/`nin`: a tuple of values; `startsWith`: the plain prefix)."""

    column: str
    op: str  # one of models/list_arguments.OPERATORS
    value: Any


@dataclass(frozen=True)
class NullTest:
    column: str
    is_null: bool


@dataclass(frozen=True)
class Through:
    """The to-one related row exists, is visible, and matches `where`."""

    relation: ToOne
    where: "Where"


@dataclass(frozen=True)
class Every:
    """All parts hold (none: no condition)."""

    parts: tuple["Where", ...]


@dataclass(frozen=True)
class Some:
    """At least one part holds (`parts` is never empty)."""

    parts: tuple["Where", ...]


@dataclass(frozen=True)
class Negation:
    part: "Where"


Where = Comparison | NullTest | Through | Every | Some | Negation

NOTHING = Every(())


def check_where(type_name: str, given: Mapping[str, Any] | None, field: str = "where") -> Where:
    """The `Where` tree of a `<Type>Where` value (GraphQL names; nested values as mappings;
    enums as Python enums or their GraphQL names), its values converted to the columns'
    Python types: BAD_USER_INPUT on `field...` for one the API refuses, or for a tree deeper
    than `MAX_DEPTH` or with more than `MAX_CONDITIONS` comparisons."""
    if given is None:
        return NOTHING
    tree = _checked(type_name, given, field, 1)
    if _comparisons(tree) > MAX_CONDITIONS:
        raise bad_input(field, f"A where may hold at most {MAX_CONDITIONS} comparisons")
    return tree


def _comparisons(tree: Where) -> int:
    if isinstance(tree, Every | Some):
        return sum(_comparisons(part) for part in tree.parts)
    if isinstance(tree, Negation):
        return _comparisons(tree.part)
    if isinstance(tree, Through):
        return _comparisons(tree.where)
    return 1


def _checked(type_name: str, given: Mapping[str, Any], field: str, depth: int) -> Where:
    """`given` at nesting level `depth` (refused past `MAX_DEPTH`, before going deeper)."""
    if depth > MAX_DEPTH:
        raise bad_input(field, f"A where may nest at most {MAX_DEPTH} levels")
    fields = where_fields(DECLARATIONS[type_name])
    parts: list[Where] = []
    for name, value in given.items():
        path = f"{field}.{name}"
        if value is None:
            continue
        if name == "and":
            items = [
                _checked(type_name, item, f"{path}.{i}", depth + 1) for i, item in enumerate(value)
            ]
            parts.append(Every(tuple(items)))
        elif name == "or":
            items = [
                _checked(type_name, item, f"{path}.{i}", depth + 1) for i, item in enumerate(value)
            ]
            if items:
                parts.append(Some(tuple(items)))
        elif name == "not":
            parts.append(Negation(_checked(type_name, value, path, depth + 1)))
        elif name in fields:
            parts.extend(_field(fields[name], value, path, depth))
        else:
            raise bad_input(path, f"{type_name} cannot be filtered by {name}")
    return parts[0] if len(parts) == 1 else Every(tuple(parts))


def _field(declared: WhereField, given: Mapping[str, Any], path: str, depth: int) -> list[Where]:
    if isinstance(declared, RelationFilter):
        relation = declared.relation
        return [Through(relation, _checked(relation.target, given, path, depth + 1))]
    parts: list[Where] = []
    offered = OPERATORS["uuid" if isinstance(declared, IdFilter) else declared.kind]
    for op, value in given.items():
        at = f"{path}.{op}"
        if value is None:
            continue
        if op not in offered:
            raise bad_input(at, f"Unknown comparison {op}")
        if op == "isNull":
            parts.append(NullTest(declared.column, bool(value)))
        elif op in LIST_OPERATORS:
            if len(value) > MAX_LIST:
                raise bad_input(at, f"{op} takes at most {MAX_LIST} values")
            values = tuple(_value(declared, item, at) for item in value)
            parts.append(Comparison(declared.column, op, values))
        elif op in PATTERN_OPERATORS:
            parts.append(Comparison(declared.column, op, _pattern(value, at)))
        else:
            parts.append(Comparison(declared.column, op, _value(declared, value, at)))
    return parts


def _pattern(value: Any, at: str) -> str:
    if not isinstance(value, str):
        raise bad_input(at, "A pattern is text")
    if len(value) > MAX_PATTERN:
        raise bad_input(at, f"A pattern may be at most {MAX_PATTERN} characters")
    return value


def _value(declared: ColumnFilter | IdFilter, value: Any, at: str) -> Any:
    """A comparison value as the column's Python value."""
    if isinstance(declared, IdFilter):
        return parse_uuid_id(value, declared.type_name, field=at)
    return _KINDS[declared.kind](value, at)


def _enum(value: Any, at: str) -> str:
    # The database holds an enum's value in lower case (the API shows it upper-cased).
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, str):
        return value.lower()
    raise bad_input(at, "Not a value of the enum")


def _typed(python_type: type[Any]) -> Any:
    def check(value: Any, at: str) -> Any:
        if not isinstance(value, python_type) or (python_type is int and isinstance(value, bool)):
            raise bad_input(at, f"Expected a {python_type.__name__}")
        return value

    return check


def _date(value: Any, at: str) -> datetime.date:
    if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
        raise bad_input(at, "Expected a date")
    return value


def _uuid(value: Any, at: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise bad_input(at, "Expected a UUID") from None


def _decimal(value: Any, at: str) -> decimal.Decimal:
    if isinstance(value, bool) or not isinstance(value, decimal.Decimal | int):
        raise bad_input(at, "Expected a decimal")
    number = decimal.Decimal(value)
    if not number.is_finite():
        raise bad_input(at, "Expected a finite decimal")
    return number


_KINDS: dict[ScalarKind, Any] = {
    "text": _typed(str),
    "int": _typed(int),
    "bool": _typed(bool),
    "decimal": _decimal,
    "date": _date,
    "datetime": aware,
    "enum": _enum,
    "uuid": _uuid,
}


# -- as SQLAlchemy ---------------------------------------------------------------------------


def where_condition(where: Where, table: Table | FromClause) -> ColumnElement[bool]:
    """The tree as a condition on the rows of `table`."""
    if isinstance(where, Every):
        return and_(true(), *(where_condition(part, table) for part in where.parts))
    if isinstance(where, Some):
        return or_(*(where_condition(part, table) for part in where.parts))
    if isinstance(where, Negation):
        return not_(where_condition(where.part, table))
    if isinstance(where, NullTest):
        column = table.c[where.column]
        return column.is_(None) if where.is_null else column.is_not(None)
    if isinstance(where, Through):
        target = DECLARATIONS[where.relation.target].table.alias()
        return exists(
            select(1)
            .select_from(target)
            .where(
                target.c.id == table.c[where.relation.foreign_key],
                where_condition(where.where, target),
            )
        )
    return _comparison(where, table)


def _comparison(where: Comparison, table: Table | FromClause) -> ColumnElement[bool]:
    column = table.c[where.column]
    value = where.value
    if where.op == "in":
        return column.in_(value) if value else false()
    if where.op == "nin":
        return not_(column.in_(value)) if value else true()
    if where.op == "like":
        return column.like(value)
    if where.op == "ilike":
        return column.ilike(value)
    if where.op == "startsWith":
        return column.startswith(value, autoescape=True)
    compared: ColumnElement[bool] = _ORDERING[where.op](column, value)
    return compared


_ORDERING: dict[str, Any] = {
    "eq": lambda c, v: c == v,
    "neq": lambda c, v: c != v,
    "gt": lambda c, v: c > v,
    "gte": lambda c, v: c >= v,
    "lt": lambda c, v: c < v,
    "lte": lambda c, v: c <= v,
}
