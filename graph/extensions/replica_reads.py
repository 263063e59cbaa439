"""Queries over HTTP read from a streaming replica when one may serve them (graph/sql/replicas.py);
mutations run on the primary, and after one the login's WAL position is remembered so that its
next queries show what it wrote. Subscriptions stay on the primary: they re-read a change the
moment it commits, before any replica could have it.

Request headers: `X-FisioFlow-Read-From: primary` reads from the primary;
`X-FisioFlow-Min-LSN: <position>` (a mutation's `X-FisioFlow-LSN`, e.g. from another server
process) reads from a replica that has replayed it, or from the primary. A position that is
not one reads from the primary. The fast path (graph/http/fast_path.py) routes its repeats of
compiled queries the same way (`replica_for`).
"""

import logging
import uuid
from collections.abc import AsyncIterator, Mapping

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from graph.api.context import Context
from graph.core.errors import DATABASE_ERRORS, SERVICE_UNAVAILABLE, ApiError
from graph.sql.replicas import ReadRouting, Replica, parse_lsn

log = logging.getLogger("fisioflow.replicas")

READ_FROM_HEADER = "x-fisioflow-read-from"
MIN_POSITION_HEADER = "x-fisioflow-min-lsn"


def replica_for(
    routing: ReadRouting, user_id: uuid.UUID | None, headers: Mapping[str, str]
) -> Replica | None:
    """The replica a query of `user_id` with these request headers reads from; None: the
    primary."""
    if headers.get(READ_FROM_HEADER, "").lower() == "primary":
        return None
    minimum = headers.get(MIN_POSITION_HEADER)
    try:
        position = None if minimum is None else parse_lsn(minimum)
    except ValueError:  # not a position: the primary
        return None
    return routing.replica_for_query(user_id, position)


class ReadsOnReplicas(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        context: Context = self.execution_context.context
        routing = context.routing
        if routing is None or context.is_websocket:
            yield
            return
        identity = context.identity
        user_id = None if identity is None else identity.user_id
        operation_type = self.execution_context.operation_type
        replica = None
        if operation_type is OperationType.QUERY:
            replica = replica_for(routing, user_id, context.request.headers)
        await context.read_from(routing.primary if replica is None else replica.engine)
        if replica is not None:
            try:  # the transaction opened now: a replica gone since its last check is skipped
                await context.db.begin()
            except ApiError as error:  # any other refusal is the operation's to answer
                if error.extensions.get("code") == SERVICE_UNAVAILABLE:
                    routing.skip(replica)
                    await context.read_from(routing.primary)
        yield
        if operation_type is OperationType.MUTATION and user_id is not None:
            try:
                context.wrote_at = await routing.note_write(user_id)
            except (*DATABASE_ERRORS, OSError):  # committed; its reads may lag a replica's
                log.warning("the primary's position after a mutation could not be read")
