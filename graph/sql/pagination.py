"""Relay connections over keyset pagination.

A cursor holds its list's kind (the table, and the order an `orderBy` chose) and the sort key
of its row, encrypted and authenticated with the server's key (graph/core/cursors.py), so pages
stay stable while rows are added or removed elsewhere. A cursor that is not one of this list's
(malformed, made with another key, of another list or order, with values of the wrong type or
out of range) is
`BAD_USER_INPUT` on `after`/`before`. Top-level lists are one statement per page; nested lists
("first N children of every parent") are one statement per nesting level, numbering each
parent's children with `row_number() over (partition by parent ...)`.
"""

import datetime
import decimal
import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, ColumnElement, Select, and_, false, or_, tuple_

from graph.core.cursors import EPOCH, MICROSECOND, CursorCodec
from graph.core.errors import bad_input

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class PageArgs:
    """Validated `first/after/last/before`; hashable, so it can key a batched loader. The
    cursor stays as the client sent it until the page is built (`position`), with the key of
    the server that builds it."""

    limit: int
    backward: bool
    cursor: str | None

    @classmethod
    def parse(
        cls,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> "PageArgs":
        if first is not None and last is not None:
            raise bad_input("last", "Use either first or last, not both")
        for name, value in (("first", first), ("last", last)):
            if value is not None and value < 0:
                raise bad_input(name, f"{name} must not be negative")
            if value is not None and value > MAX_PAGE_SIZE:
                raise bad_input(name, f"{name} may be at most {MAX_PAGE_SIZE}")
        backward = last is not None or (before is not None and first is None)
        limit = (last if backward else first) or DEFAULT_PAGE_SIZE
        if (last if backward else first) == 0:
            limit = 0
        return cls(limit, backward, (before if backward else after) or None)

    @property
    def cursor_field(self) -> str:
        return "before" if self.backward else "after"

    def position(self, sort: "SortKey", cursors: CursorCodec) -> ColumnElement[bool] | None:
        """The rows past the cursor, in `sort`'s order; None without a cursor."""
        if self.cursor is None:
            return None
        decoded = cursors.decode(self.cursor, self.cursor_field)
        return sort.after(decoded, backward=self.backward, field=self.cursor_field)


def from_micros(value: Any) -> datetime.datetime:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("a timestamp cursor value is an integer")
    try:
        return EPOCH + value * MICROSECOND
    except OverflowError:
        raise ValueError("a timestamp cursor value out of range") from None


@dataclass(frozen=True)
class SortKey:
    """The columns a list is ordered by, ending in a unique one, with their Python types.

    `descending` marks the columns ordered from the largest value (none: all ascending); nulls
    count as larger than any value, so they come last ascending and first descending.
    `order`: what an `orderBy` chose, part of the cursor's kind (None: the declared order), so
    a cursor made under one order is refused under another."""

    columns: tuple[ColumnElement[Any], ...]
    descending: tuple[bool, ...] = ()
    chosen: str | None = None
    parsers: tuple[Callable[[Any], Any], ...] = field(init=False)

    def __post_init__(self) -> None:
        if not self.descending:
            object.__setattr__(self, "descending", (False,) * len(self.columns))
        object.__setattr__(self, "parsers", tuple(_parser_for(c) for c in self.columns))

    @property
    def kind(self) -> str:
        """What a cursor says it belongs to: the table of the list's unique column, and the
        order an `orderBy` chose."""
        table = str(self.columns[-1].table.name)
        return table if self.chosen is None else f"{table}/{self.chosen}"

    @property
    def computed(self) -> tuple[ColumnElement[Any], ...]:
        """The sort values that are not columns of the table (a list selects them too)."""
        return tuple(column for column in self.columns if not isinstance(column, Column))

    def key_of(self, row: Any) -> tuple[Any, ...]:
        return tuple(row[column.key] for column in self.columns)

    def after(self, cursor: tuple[Any, ...], *, backward: bool, field: str) -> ColumnElement[bool]:
        """Rows after the cursor's in the list's order (before it, paging backward)."""
        if len(cursor) != len(self.columns) + 1 or cursor[0] != self.kind:
            raise bad_input(field, "Not a cursor of this list")
        try:
            values = tuple(parse(v) for parse, v in zip(self.parsers, cursor[1:], strict=True))
        except (TypeError, ValueError):
            raise bad_input(field, "Malformed cursor") from None
        if not any(self.descending) and not any(_nullable_column(c) for c in self.columns):
            row = tuple_(*self.columns)
            return row < tuple_(*values) if backward else row > tuple_(*values)
        clauses: list[ColumnElement[bool]] = []
        for index, value in enumerate(values):
            equal_before = [
                c.is_(None) if v is None else c == v
                for c, v in zip(self.columns[:index], values[:index], strict=True)
            ]
            larger = backward == self.descending[index]  # past the cursor = a larger value
            clauses.append(and_(*equal_before, _beyond(self.columns[index], value, larger)))
        return or_(*clauses)

    def order(self, *, backward: bool) -> list[ColumnElement[Any]]:
        ordered: list[ColumnElement[Any]] = []
        for column, descending in zip(self.columns, self.descending, strict=True):
            if descending != backward:
                ordered.append(column.desc().nulls_first())
            else:
                ordered.append(column.asc().nulls_last())
        return ordered


def _nullable_column(column: ColumnElement[Any]) -> bool:
    return bool(getattr(column, "nullable", False))


def _beyond(column: ColumnElement[Any], value: Any, larger: bool) -> ColumnElement[bool]:
    """The column's value is larger (else smaller) than `value`, a null being the largest."""
    if larger:
        return false() if value is None else or_(column > value, column.is_(None))
    return column.is_not(None) if value is None else column < value


def page_select(
    query: Select[Any], sort: SortKey, page: PageArgs, cursors: CursorCodec
) -> Select[Any]:
    """One page (plus one row, to know whether there is more) of a top-level list."""
    if (position := page.position(sort, cursors)) is not None:
        query = query.where(position)
    return query.order_by(*sort.order(backward=page.backward)).limit(page.limit + 1)


def _parser_for(column: ColumnElement[Any]) -> Callable[[Any], Any]:
    """How a cursor's JSON value turns back into the column's Python value; TypeError or
    ValueError for a value of another type (null stays null: sort columns may be nullable)."""
    python_type: type[Any] = column.type.python_type
    parse: Callable[[Any], Any]
    if issubclass(python_type, datetime.datetime):
        parse = from_micros
    else:
        parse = _PARSERS.get(python_type) or functools.partial(_exactly, python_type)
    return functools.partial(_nullable, parse)


def _exactly(python_type: type[Any], value: Any) -> Any:
    if type(value) is not python_type:
        raise TypeError(f"a {python_type.__name__} cursor value")
    return value


def _uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(_exactly(str, value))


def _date(value: Any) -> datetime.date:
    return datetime.date.fromisoformat(_exactly(str, value))


def _decimal(value: Any) -> decimal.Decimal:
    try:
        number = decimal.Decimal(_exactly(str, value))
    except decimal.InvalidOperation:
        raise ValueError("a decimal cursor value") from None
    if not number.is_finite():
        raise ValueError("a decimal cursor value")
    return number


_PARSERS: dict[type[Any], Callable[[Any], Any]] = {
    uuid.UUID: _uuid,
    datetime.date: _date,
    decimal.Decimal: _decimal,
}


def _nullable(parse: Callable[[Any], Any], value: Any) -> Any:
    return None if value is None else parse(value)


@dataclass
class Page:
    """Rows of one page in display order, with what PageInfo needs."""

    rows: list[Any]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


def make_page(rows: Sequence[Any], sort: SortKey, page: PageArgs, codec: CursorCodec) -> Page:
    has_more = len(rows) > page.limit
    kept = list(rows[: page.limit])
    if page.backward:
        kept.reverse()
    cursors = [codec.encode(sort.kind, sort.key_of(row)) for row in kept]
    if page.backward:
        return Page(kept, cursors, page.cursor is not None, has_more)
    return Page(kept, cursors, has_more, page.cursor is not None)


CountFn = Callable[[], Awaitable[int]]
