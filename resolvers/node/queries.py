"""`node(id:)` and `nodes(ids:)`: any global ID the caller may see, else null.

An ID that is malformed, of an unknown type, of a row that does not exist or that the caller
may not see is null alike (API.md). `nodes(ids:)` takes at most `FISIOFLOW_MAX_PAGE_SIZE` ids
(like `first`) and costs one statement per type asked for, whatever the number of ids: each
type's loader is a per-request dataloader (graph/sql/loaders.py `by_id`), and the ids are all
asked for in the same tick.
"""

import asyncio
import uuid
from collections.abc import Awaitable
from typing import cast

import strawberry

from graph.api.audit_reads import record_reads
from graph.api.context import Info
from graph.api.relay import Node
from graph.core.errors import ApiError, bad_input
from graph.core.ids import parse_global_id
from graph.sql.declared import local_id
from models.declarations import DECLARATIONS
from resolvers.objects import build, is_node


async def _node(info: Info, type_name: str, row_id: uuid.UUID | int) -> Node | None:
    """The declared type's row by id, as the type; a read of an audited type is logged."""
    declared = DECLARATIONS[type_name]
    row = await info.context.loaders.by_id(declared.table).load(row_id)
    if row is None:
        return None
    if declared.audited:
        await record_reads(info, declared.table.name, [row["id"]])
    return cast(Node, build(type_name, row))


def _lookup(info: Info, global_id: str) -> Awaitable[Node | None] | None:
    """The load of the node a global ID names; None for a malformed ID or one of a type
    `node` does not answer."""
    try:
        type_name, local = parse_global_id(global_id)
    except ApiError:
        return None
    row_id = local_id(type_name, local)
    if row_id is None or not is_node(type_name):
        return None
    return _node(info, type_name, row_id)


async def resolve_node(info: Info, global_id: str) -> Node | None:
    """The node, or None for an ID that names nothing the caller may see. A database failure
    (TIMEOUT, SERVICE_UNAVAILABLE) is an error, not a null."""
    info.context.require_identity()
    lookup = _lookup(info, global_id)
    return await lookup if lookup is not None else None


async def node(info: Info, id: strawberry.ID) -> Node | None:
    return await resolve_node(info, id)


async def nodes(info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
    most = info.context.settings.max_page_size
    if len(ids) > most:
        raise bad_input("ids", f"At most {most} ids at once")
    return list(await asyncio.gather(*(resolve_node(info, i) for i in ids)))


@strawberry.type
class NodeQueries:
    node: Node | None = strawberry.field(resolver=node)
    nodes: list[Node | None] = strawberry.field(resolver=nodes)
