"""The Relay building blocks every area shares: `Node`, connections and page info."""

import uuid
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy import ColumnElement, Table, select

from graph.sql.loaders import ChildList, Loaders, count_rows
from graph.sql.pagination import CountFn, Page, PageArgs, SortKey, make_page, page_select
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
    sort: SortKey,
    page: PageArgs,
    convert: Callable[[Any], NodeT],
    conditions: Sequence[ColumnElement[bool]] = (),
) -> Connection[NodeT]:
    """A top-level list: one statement for the page, one more if `totalCount` is asked for."""
    rows = await db.fetch(page_select(select(table).where(*conditions), sort, page))
    return Connection.of(make_page(rows, sort, page), convert, count_rows(db, table, conditions))


async def child_connection(
    loaders: Loaders,
    spec: ChildList,
    parent_id: uuid.UUID,
    page: PageArgs,
    convert: Callable[[Any], NodeT],
    filter_value: Hashable = None,
) -> Connection[NodeT]:
    """A nested list: batched with every sibling parent's, one statement per level."""
    result = await loaders.children(spec, page, filter_value).load(parent_id)

    async def count() -> int:
        return await loaders.child_counts(spec, filter_value).load(parent_id)

    return Connection.of(result, convert, count)
