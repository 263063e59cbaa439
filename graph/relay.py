"""The Relay building blocks every area shares: `Node`, connections and page info."""

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from graph.pagination import CountFn, Page

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
