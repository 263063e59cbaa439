"""graphql-transport-ws with fan-out: every subscription joins the group of its cohort and
operation (graph/realtime/groups.py), whose source runs the operation once per event.

`FanOutHandler` is Strawberry's graphql-transport-ws handler, but each operation it runs knows
its group (`fanout_role`, graph/api/context.py): the member's own stream still runs (the
root resolver's role and argument checks, the schema extensions, its own errors and
`complete`), and its `events` sends the group's payloads as
`{"id":<id>,"type":"next","payload":<the group's text>}`, built by concatenation.

`FanOut` keeps the process's groups. A group's source is the operation run once more through
`schema.stream`, as the first member's context; each result is masked as the schema's error
masking would (INTERNAL never leaks details), encoded once, and published to the members.
When its stream ends (a stream-level error is published to every member first), each
member completes; when its last member leaves, its source is cancelled.
"""

import asyncio
import json
import logging
from dataclasses import replace
from typing import Any, Protocol, cast

import orjson
from graphql import GraphQLError
from strawberry.schema import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

from graph.api.context import Context, fanout_role
from graph.core.errors import INTERNAL
from graph.extensions.error_masking import present
from graph.http.ws_frames import TextFrameWebSocketAdapter
from graph.realtime.groups import Group, GroupKey, Membership
from graph.realtime.stages import StageClock

log = logging.getLogger("fisioflow.fanout")


def payload_of(result: ExecutionResult) -> dict[str, Any]:
    """A `next` message's payload, as Strawberry's handler builds it, errors masked."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [present(error).formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


class FanOut:
    """The process's fan-out groups, each with its source task."""

    def __init__(self, schema: BaseSchema, stages: StageClock) -> None:
        self._schema = schema
        self._stages = stages
        self._groups: dict[GroupKey, tuple[Group, asyncio.Task[None]]] = {}

    @property
    def group_count(self) -> int:
        return len(self._groups)

    def join(self, key: GroupKey, context: Context) -> Group:
        """The group of `key`, started (as `context`'s caller) if it has no source yet."""
        found = self._groups.get(key)
        if found is not None:
            return found[0]
        group = Group(key)
        task = asyncio.create_task(self._source(group, replace(context, response=None)))
        self._groups[key] = (group, task)
        return group

    def leave(self, group: Group) -> None:
        """A member left: with the last one, the source stops."""
        if group.members:
            return
        found = self._groups.get(group.key)
        if found is not None and found[0] is group:
            del self._groups[group.key]
            found[1].cancel()

    def _forget(self, group: Group) -> None:
        found = self._groups.get(group.key)
        if found is not None and found[0] is group:
            del self._groups[group.key]

    async def _source(self, group: Group, context: Context) -> None:
        fanout_role.set(group)
        try:
            stream = await self._schema.stream(
                group.key.query,
                variable_values=json.loads(group.key.variables),
                context_value=context,
                operation_name=group.key.operation_name,
            )
            async with aclosing(stream):
                async for result in stream:
                    if not isinstance(result, ExecutionResult):  # @defer/@stream: not here
                        raise TypeError("incremental delivery over graphql-transport-ws")
                    stream_error = isinstance(result, PreExecutionError) or (
                        result.data is None and bool(result.errors)
                    )
                    group.publish(_encode(payload_of(result)), to_all=stream_error)
                    self._stages.mark("resolved", group.position)
        except Exception:
            log.exception("a fan-out group's stream failed")
            error = GraphQLError("Internal server error", extensions={"code": INTERNAL})
            group.publish(_encode({"data": None, "errors": [error.formatted]}), to_all=True)
        finally:
            self._forget(group)
            group.end()


def _encode(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()


class _HasFanOut(Protocol):
    fanout: FanOut


class FanOutHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Runs each operation as a member of its fan-out group (see the module docstring)."""

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        fanout = cast(_HasFanOut, self.view).fanout
        websocket = cast(TextFrameWebSocketAdapter, self.websocket)
        prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'

        async def send(payload: str) -> None:
            if not operation.completed:
                await websocket.send_text(prefix + payload + "}")

        fanout_role.set(
            Membership(
                operation.query,
                json.dumps(operation.variables or {}, sort_keys=True, separators=(",", ":")),
                operation.operation_name,
                lambda key: fanout.join(key, self.context),
                fanout.leave,
                send,
            )
        )
        await super().run_operation(operation)
