"""What a list was asked for — its page, its `where` and its order — checked once, hashable
(it keys the batched nested-list loaders), and read the same way by every list."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Table

from graph.sql.order import check_order, ordered_sort_key
from graph.sql.pagination import PageArgs, SortKey
from graph.sql.where import NOTHING, Where, check_where, where_condition


@dataclass(frozen=True)
class ListQuery:
    page: PageArgs
    sort: SortKey
    where: Where = NOTHING

    @classmethod
    def of(
        cls,
        type_name: str,
        page: PageArgs,
        where: Mapping[str, Any] | None = None,
        order_by: Sequence[Any] | None = None,
    ) -> "ListQuery":
        """The checked arguments of a list of `type_name` (BAD_USER_INPUT for refused ones)."""
        order = check_order(type_name, order_by)
        return cls(page, ordered_sort_key(type_name, order), check_where(type_name, where))

    def conditions(self, table: Table | FromClause) -> list[ColumnElement[bool]]:
        """The `where` as conditions on the list's table (none when it asks nothing)."""
        return [] if self.where == NOTHING else [where_condition(self.where, table)]
