"""Per-request dataloaders: every nested field costs one statement per level, not per row.

Loaders are made per request, inside its event loop, and read through the request's RLS
transaction, so batching never mixes identities.
"""

import uuid
from collections import defaultdict
from collections.abc import Callable, Coroutine, Hashable, Sequence
from typing import Any

from aiodataloader import DataLoader
from sqlalchemy import ColumnElement, RowMapping, Table, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Uuid

from graph.core.cursors import CursorCodec
from graph.sql.child_list import ChildList
from graph.sql.list_query import ListQuery
from graph.sql.pagination import CountFn, Page, make_page
from graph.sql.session import RequestDb


def ids_param() -> Any:
    """`:ids` as a uuid[] parameter, for `id = any(:ids)` (one plan whatever the count)."""
    return bindparam("ids", type_=ARRAY(Uuid()))


# Of the users `:ids`, whether each login still works and its token version (a login gone:
# nulls), read through the auth function that works before any identity is set.
LOGIN_STATES = text(
    "select login.id, state.active, state.token_version"
    " from unnest(:ids) as login(id) left join lateral auth_user_by_id(login.id) state on true"
).bindparams(ids_param())


RowId = uuid.UUID | int


class Loaders:
    """The request's loaders, created on first use and keyed by what they load."""

    def __init__(self, db: RequestDb) -> None:
        self.db = db
        self._loaders: dict[Hashable, DataLoader[Any, Any]] = {}

    def _get(self, key: Hashable, make: Callable[[], DataLoader[Any, Any]]) -> DataLoader[Any, Any]:
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = make()
        return loader

    def by_id(self, table: Table) -> "DataLoader[RowId, RowMapping | None]":
        """Rows by primary key (a uuid, or the audit log's bigint), in one statement for all
        the keys asked for in a tick; None for a row that does not exist or is not visible."""
        key_list = bindparam("ids", type_=ARRAY(table.c.id.type))

        async def load(ids: list[RowId]) -> list[RowMapping | None]:
            statement = select(table).where(table.c.id == any_(key_list))
            rows = await self.db.fetch(statement, {"ids": ids})
            found = {row["id"]: row for row in rows}
            return [found.get(i) for i in ids]

        return self._get(("by_id", table.name), lambda: DataLoader(load))

    def children(
        self, spec: ChildList, query: ListQuery, filter_value: Hashable = None
    ) -> "DataLoader[uuid.UUID, Page]":
        """One page of children for every parent asked for in this tick, in one statement."""

        async def load(parent_ids: list[uuid.UUID]) -> list[Page]:
            cursors = self.db.cursors
            rows = await self.db.fetch(
                _children_statement(spec, query, filter_value, cursors), {"ids": parent_ids}
            )
            grouped: dict[uuid.UUID, list[RowMapping]] = defaultdict(list)
            for row in rows:
                grouped[row[spec.parent]].append(row)
            page, sort = query.page, query.sort
            return [make_page(grouped.get(p, []), sort, page, cursors) for p in parent_ids]

        return self._get(("children", spec, query, filter_value), lambda: DataLoader(load))

    def all_children(self, spec: ChildList) -> "DataLoader[uuid.UUID, list[RowMapping]]":
        """Every child of each parent (short lists such as an appointment's payments)."""

        async def load(parent_ids: list[uuid.UUID]) -> list[list[RowMapping]]:
            statement = (
                select(spec.table)
                .where(spec.parent_column == any_(ids_param()))
                .order_by(*spec.sort.order(backward=False))
            )
            grouped: dict[uuid.UUID, list[RowMapping]] = defaultdict(list)
            for row in await self.db.fetch(statement, {"ids": parent_ids}):
                grouped[row[spec.parent]].append(row)
            return [grouped.get(p, []) for p in parent_ids]

        return self._get(("all_children", spec), lambda: DataLoader(load))

    def batch(
        self, key: Hashable, load: Callable[[list[Any]], Coroutine[Any, Any, list[Any]]]
    ) -> "DataLoader[Any, Any]":
        """A loader of the caller's own batch function (one value per key, in key order),
        made once per request under `key`: for per-parent figures no generic loader computes,
        such as a prescription's adherence."""
        return self._get(("batch", key), lambda: DataLoader(load))

    def child_counts(
        self, spec: ChildList, query: ListQuery, filter_value: Hashable = None
    ) -> "DataLoader[uuid.UUID, int]":
        """How many children each parent has (for `totalCount`), in one statement."""

        async def load(parent_ids: list[uuid.UUID]) -> list[int]:
            parent = spec.parent_column
            statement = (
                select(parent, func.count().label("n"))
                .where(
                    parent == any_(ids_param()),
                    *spec.where(filter_value),
                    *query.conditions(spec.table),
                )
                .group_by(parent)
            )
            rows = await self.db.fetch(statement, {"ids": parent_ids})
            counts = {row[spec.parent]: row["n"] for row in rows}
            return [counts.get(p, 0) for p in parent_ids]

        key = ("child_counts", spec, query.where, filter_value)
        return self._get(key, lambda: DataLoader(load))


def count_rows(
    db: RequestDb, table: Table, conditions: Sequence[ColumnElement[bool]] = ()
) -> CountFn:
    """`totalCount` of a top-level list: one statement, run only if the field is asked for."""

    async def count() -> int:
        statement = select(func.count().label("n")).select_from(table).where(*conditions)
        row = await db.fetch_one(statement)
        return int(row["n"]) if row else 0

    return count


def _children_statement(
    spec: ChildList, query: ListQuery, filter_value: Hashable, cursors: CursorCodec
) -> Any:
    page, sort = query.page, query.sort
    order = sort.order(backward=page.backward)
    number = func.row_number().over(partition_by=spec.parent_column, order_by=order)
    conditions = [
        spec.parent_column == any_(ids_param()),
        *spec.where(filter_value),
        *query.conditions(spec.table),
    ]
    if (position := page.position(sort, cursors)) is not None:
        conditions.append(position)
    numbered = select(spec.table, number.label("_position")).where(*conditions).subquery()
    return (
        select(numbered)
        .where(numbered.c._position <= page.limit + 1)
        .order_by(numbered.c[spec.parent], numbered.c._position)
    )
