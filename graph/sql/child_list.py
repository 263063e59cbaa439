"""A nested (one-to-many) list: what the batched loaders (graph/sql/loaders.py) page through."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table

from graph.sql.pagination import SortKey

Where = Callable[[Any], Sequence[ColumnElement[bool]]]


def _no_filter(_: Any) -> Sequence[ColumnElement[bool]]:
    return ()


@dataclass(frozen=True)
class ChildList:
    """A one-to-many list: `table` rows whose `parent` column points at the parent's id."""

    table: Table
    parent: str
    sort: SortKey
    where: Where = _no_filter

    @property
    def parent_column(self) -> ColumnElement[Any]:
        return self.table.c[self.parent]
