"""The Relay building blocks every area shares: `Node`, connections and page info."""

import uuid
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy import ColumnElement, Table, select

from graph.sql.child_list import ChildList
from graph.sql.list_query import ListQuery
from graph.sql.loaders import Loaders, count_rows
from graph.sql.pagination import CountFn, Page, make_page, page_select
from graph.sql.session import RequestDb

NodeT = TypeVar("NodeT")


@strawberry.interface(description="An object with a global ID, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count_rows: strawberry.Private[CountFn]

    @strawberry.field
    async def total_count(self) -> int:
        """How many items the whole list has, across all pages."""
        return await self.count_rows()

    @classmethod
    def of(
        cls, page: Page, convert: Callable[[Any], NodeT], count_rows: CountFn
    ) -> "Connection[NodeT]":
        edges = [
            Edge(cursor=cursor, node=convert(row))
            for row, cursor in zip(page.rows, page.cursors, strict=True)
        ]
        info = PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        )
        return cls(edges=edges, page_info=info, count_rows=count_rows)


def constant_count(value: int) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        return value

    return count


async def list_connection(
    db: RequestDb,
    table: Table,
    query: ListQuery,
    convert: Callable[[Any], NodeT],
    conditions: Sequence[ColumnElement[bool]] = (),
) -> Connection[NodeT]:
    """A top-level list: one statement for the page, one more if `totalCount` is asked for.
    `conditions`: the list's own (its `filter`, the resolver's), with the query's `where`."""
    kept = [*conditions, *query.conditions(table)]
    statement = select(table, *query.sort.computed).where(*kept)
    rows = await db.fetch(page_select(statement, query.sort, query.page, db.cursors))
    page = make_page(rows, query.sort, query.page, db.cursors)
    return Connection.of(page, convert, count_rows(db, table, kept))


async def child_connection(
    loaders: Loaders,
    spec: ChildList,
    parent_id: uuid.UUID,
    query: ListQuery,
    convert: Callable[[Any], NodeT],
    filter_value: Hashable = None,
) -> Connection[NodeT]:
    """A nested list: batched with every sibling parent's, one statement per level."""
    result = await loaders.children(spec, query, filter_value).load(parent_id)

    async def count() -> int:
        return await loaders.child_counts(spec, query, filter_value).load(parent_id)

    return Connection.of(result, convert, count)
