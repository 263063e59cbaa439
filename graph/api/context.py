"""What every resolver gets in `info.context`: the caller, their transaction and loaders."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from graph.core.cursors import CursorCodec
from graph.core.errors import FORBIDDEN, UNAUTHENTICATED, ApiError
from graph.core.identity import Identity, Role
from graph.core.settings import Settings
from graph.realtime.groups import Group, Membership
from graph.realtime.positions import position_after
from graph.realtime.replay import subscribe_after
from graph.sql.loaders import Loaders
from graph.sql.replicas import ReadRouting
from graph.sql.session import RequestDb

if TYPE_CHECKING:
    from graph.realtime.broker import Broker, Primed, Topic
    from graph.realtime.event import Event


@dataclass
class DataScope:
    """A transaction under one identity, with the dataloaders bound to it."""

    db: RequestDb
    loaders: Loaders

    @classmethod
    def open(
        cls,
        engine: AsyncEngine,
        identity: Identity | None,
        cursors: CursorCodec,
        *,
        reads_commit_at_once: bool = False,
        readers: list[uuid.UUID] | None = None,
        audit_engine: AsyncEngine | None = None,
    ) -> "DataScope":
        db = RequestDb(
            engine,
            identity,
            reads_commit_at_once=reads_commit_at_once,
            cursors=cursors,
            readers=readers,
            audit_engine=audit_engine,
        )
        return cls(db, Loaders(db))


# A subscription event is resolved in a transaction of its own (see Context.event_scope); the
# variable is per asyncio task, and every subscription operation runs in its own task.
_event_scope: ContextVar[DataScope | None] = ContextVar("fisioflow_event_scope", default=None)
# How the operation's events reach it (per operation task, set by the graphql-transport-ws
# handler, graph/http/fanout.py): as a member of a fan-out group, or as a group's source.
# Unset (the legacy graphql-ws protocol): a subscriber of its own.
fanout_role: ContextVar[Membership | Group | None] = ContextVar("fisioflow_fanout", default=None)


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    settings: Settings
    engine: AsyncEngine
    jwt_secret: str
    cursors: CursorCodec
    identity: Identity | None
    auth_error: ApiError | None = None
    broker: "Broker | None" = None
    connection_params: dict[str, object] | None = None
    expires_at: datetime | None = None
    # Streaming replicas a query may read from (graph/extensions/replica_reads.py), and the
    # primary's WAL position after this request's mutation (its response's X-FisioFlow-LSN).
    routing: ReadRouting | None = None
    wrote_at: int | None = None
    _scope: DataScope = field(init=False)
    _expiry_watch: "asyncio.Task[None] | None" = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._scope = DataScope.open(self.engine, self.identity, self.cursors)

    async def read_from(self, engine: AsyncEngine) -> None:
        """Run the next operation's transactions on `engine` (the primary, `self.engine`, or a
        replica, whose audited reads are then written on the primary). The previous
        operation's transaction has ended: its connection is let go."""
        if self._scope.db.engine is engine:
            return
        await self._scope.db.finish(commit=False)
        audit_engine = None if engine is self.engine else self.engine
        self._scope = DataScope.open(engine, self.identity, self.cursors, audit_engine=audit_engine)

    @property
    def db(self) -> RequestDb:
        return (_event_scope.get() or self._scope).db

    @property
    def loaders(self) -> Loaders:
        return (_event_scope.get() or self._scope).loaders

    @property
    def is_websocket(self) -> bool:
        return isinstance(self.request, WebSocket)

    @asynccontextmanager
    async def event_scope(
        self,
        primed: "Primed",
        identity: Identity | None = None,
        readers: list[uuid.UUID] | None = None,
    ) -> AsyncIterator[None]:
        """Resolve one subscription event in a fresh read-only transaction as the subscriber
        (or as `identity`, of the same cohort), opened only if a field needs more than the
        rows its cohort `primed`. Reads of clinical records it shows are audited for the
        subscriber (or for each of `readers`, a fan-out group's receiving members) and
        committed at once, before the event is sent."""
        scope = DataScope.open(
            self.engine,
            identity or self.require_identity(),
            self.cursors,
            reads_commit_at_once=True,
            readers=readers,
        )
        for table, rows in primed.items():
            loader = scope.loaders.by_id(table)
            for row_id, row in rows.items():
                loader.prime(row_id, row)
        token = _event_scope.set(scope)
        try:
            yield
        finally:
            _event_scope.reset(token)
            await scope.db.finish(commit=False)

    async def events(
        self,
        topic: "Topic",
        matches: Callable[["Event", Any], bool],
        *,
        after: str | None = None,
    ) -> AsyncIterator[tuple["Event", Any]]:
        """The caller's events of `topic`, each resolved in its own RLS transaction; with
        `after` (an event's `cursor`), first those since that position the caller may see
        (graph/realtime/replay.py).

        Over graphql-transport-ws the caller joins a fan-out group (graph/realtime/groups.py):
        nothing is yielded here, the group's payloads are sent as they come, and the iterator
        ends when the group's stream does. The group's source is the one that yields. A
        subscription resuming `after` a cursor runs alone: its replay is its own."""
        identity = self.require_identity()
        if self.broker is None:
            raise ApiError("INTERNAL", "Subscriptions are not available here")
        start = None if after is None else position_after(self.cursors, after)
        role = fanout_role.get() if start is None else None
        if role is not None and not isinstance(role, Group):
            await role.follow(self.broker, identity, topic)
            return
        subscription = subscribe_after(self.broker, identity, topic, matches, start, feeds=role)
        async with subscription:
            if role is not None:
                role.ready.set()
            async for event, value, primed in subscription:
                if role is None:
                    async with self.event_scope(primed):
                        yield event, value
                    continue
                readers = role.take_audience(event.seq)
                if readers:
                    async with self.event_scope(primed, subscription.identity, readers):
                        yield event, value

    def start_expiry_watch(self) -> None:
        """Close the websocket (4403) when its token expires: that ends its subscriptions."""
        if self.expires_at is None or not isinstance(self.response, WebSocket):
            return
        websocket = self.response
        delay = (self.expires_at - datetime.now(UTC)).total_seconds()

        async def close_when_expired() -> None:
            await asyncio.sleep(max(delay, 0))
            with suppress(RuntimeError):
                await websocket.close(4403, "Token expired")

        self._expiry_watch = asyncio.create_task(close_when_expired())

    def stop_expiry_watch(self) -> None:
        if self._expiry_watch is not None:
            self._expiry_watch.cancel()

    def authenticate(self, identity: Identity, expires_at: datetime | None) -> None:
        """A websocket's identity, known once its connection_init payload is read."""
        self.identity = identity
        self.expires_at = expires_at
        self.auth_error = None
        self._scope = DataScope.open(self.engine, identity, self.cursors)

    def require_identity(self) -> Identity:
        if self.identity is None:
            raise self.auth_error or ApiError(UNAUTHENTICATED, "Authentication required")
        return self.identity

    def require_role(self, *roles: Role) -> Identity:
        """A friendlier refusal than RLS gives; the database enforces the same rule anyway."""
        identity = self.require_identity()
        if identity.role not in roles:
            raise ApiError(FORBIDDEN, "Your role may not do this")
        return identity

    async def switch_identity(self, identity: Identity) -> None:
        """After a login: commit what was done anonymously; read the rest as the new user."""
        await self.db.finish(commit=True)
        self.identity = identity
        self.auth_error = None
        self._scope = DataScope.open(self.engine, identity, self.cursors)


Info = strawberry.Info[Context, None]
