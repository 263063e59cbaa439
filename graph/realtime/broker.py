"""Realtime fan-out: one LISTEN connection per process, events re-read under RLS per cohort.

Every change of a notified table is a row of the event log (`events`, migration 0020), its
`seq` in commit order, and a `pg_notify('fisioflow_events', ...)` of the same ids that wakes
the broker up. The broker collects the
notifications that arrive together into a batch, and for every *cohort* (subscribers who see
exactly the same rows: same clinic and role, and for physiotherapists and patients the same
person) re-reads the batch's rows once, in an RLS transaction as that cohort. Only rows the
cohort can read reach its subscribers' queues, and only the clinic's own subscribers are
ever considered for an event. PostgreSQL delivers NOTIFY to every listener, so the same works
across workers and replicas.

Queues are bounded: a subscriber that falls `queue_size` events behind is ended with a
`SUBSCRIPTION_LAGGED` error (it missed events and must refetch) rather than silently skipping.
Each batch first checks, in one statement, that the subscribers' logins still accept their
tokens: a deactivated or anonymized login's subscriptions, or those of a token whose version
the login left behind (a password change or reset), end with UNAUTHENTICATED. Such a change
is itself an event (`users`, migration 0016), so they end at once, not at the next event.

Over graphql-transport-ws most subscriptions are members of a fan-out group
(graph/realtime/groups.py): the broker checks their logins and ends them like any subscriber,
but re-reads for their group's source only, which reads as one of its live members.
"""

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import Table, any_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.websockets import WebSocket

from graph.core.errors import SERVICE_UNAVAILABLE, UNAUTHENTICATED, ApiError
from graph.core.identity import Identity, Role
from graph.realtime.event import Event
from graph.realtime.listener import Listener
from graph.realtime.stages import StageClock
from graph.realtime.throttle import Throttles
from graph.sql.declared import declaration, related_tables
from graph.sql.loaders import LOGIN_STATES, Loaders, ids_param
from graph.sql.session import RequestDb

if TYPE_CHECKING:
    from graph.realtime.groups import Group, Payload

log = logging.getLogger("fisioflow.broker")

SUBSCRIPTION_LAGGED = "SUBSCRIPTION_LAGGED"
# Pauses between re-reads of a batch while the database is unavailable (about a minute).
REREAD_RETRY_DELAYS = (0.1, 0.5, 1, 2, 5, 10, 20, 20)


@dataclass(frozen=True)
class Cohort:
    """Subscribers whose RLS visibility is identical (user id plays no part in these tables)."""

    clinic_id: uuid.UUID
    role: Role
    physiotherapist_id: uuid.UUID | None
    patient_id: uuid.UUID | None

    @classmethod
    def of(cls, identity: Identity) -> "Cohort":
        return cls(
            identity.clinic_id,
            identity.role,
            identity.physiotherapist_id if identity.role is Role.PHYSIOTHERAPIST else None,
            identity.patient_id if identity.role is Role.PATIENT else None,
        )


Reread = Callable[[RequestDb, list[Event]], Awaitable[list[tuple[Event, Any]]]]
# Rows a cohort read for its subscribers' nested fields, by table and id (None: not visible).
Primed = dict[Table, dict[uuid.UUID, Any]]


@dataclass(frozen=True, eq=False)
class Topic:
    """What a subscription field listens to: its tables, and how a cohort re-reads a batch of
    their events (returning only what that cohort may see)."""

    name: str
    tables: frozenset[str]
    reread: Reread
    # Rows the events' rows point at (foreign key column → table), read once per cohort and
    # batch and primed into each subscriber's loaders: nested fields such as an appointment's
    # patient then need no transaction per subscriber. Never audited tables (prontuários):
    # their reads must be recorded as each reader's own.
    related: Mapping[str, Table] = field(default_factory=dict)
    # At least this many seconds between two deliveries to a clinic's subscribers: changes
    # within the interval wait and go together (graph/realtime/throttle.py). 0: each batch.
    min_interval: float = 0.0


def table_topic(name: str, table: Table, related: Mapping[str, Table] | None = None) -> Topic:
    """A topic whose events are rows of `table`: one `select ... where id = any(...)` per cohort
    and batch. Deleted rows cannot be re-read, so DELETE events are not delivered."""

    async def reread(db: RequestDb, events: list[Event]) -> list[tuple[Event, Any]]:
        ids = list({event.id for event in events if event.op != "DELETE"})
        rows = await db.fetch(select(table).where(table.c.id == any_(ids_param())), {"ids": ids})
        by_id = {row["id"]: row for row in rows}
        return [(event, by_id[event.id]) for event in events if event.id in by_id]

    return Topic(name, frozenset({table.name}), reread, dict(related or {}))


def declared_topic(name: str, type_name: str) -> Topic:
    """A topic whose events are rows of the declared type `type_name`, priming the rows its
    declared to-one relations point at (graph/sql/declared.py `related_tables`)."""
    return table_topic(name, declaration(type_name).table, related_tables(type_name))


async def read_related(db: RequestDb, topic: Topic, rows: list[Any]) -> Primed:
    """The rows `rows` point at through `topic.related`, one statement per table."""
    primed: Primed = {}
    loaders = Loaders(db)
    for column, table in topic.related.items():
        ids = list({row[column] for row in rows if row[column] is not None})
        if ids:
            found = await loaders.by_id(table).load_many(ids)
            primed[table] = dict(zip(ids, found, strict=True))
    return primed


# What a subscription's queue holds: events (with the rows primed for them) for a subscriber
# of its own or a group's source; payloads, then None when its group's stream is over,
# for a group's member; and last, possibly, the error that ends it.
Item: TypeAlias = "tuple[Event, Any, Primed] | Payload | ApiError | None"
# A live event of a subscription of its own, or a replayed one.
Delivery = tuple[Event, Any, Primed]


@dataclass(eq=False)
class Subscription:
    broker: "Broker"
    identity: Identity
    topic: Topic
    matches: Callable[[Event, Any], bool]
    queue: "asyncio.Queue[Item]"
    # A member of a fan-out group gets its group's payloads, not rows (graph/realtime/groups.py).
    fed_by: "Group | None" = None
    # A group's source re-reads for the group's members, as one of them: it is no subscriber
    # (no login of its own to check; `identity` is a live member's, set at every batch).
    feeds: "Group | None" = None
    ended: bool = False
    # Events at or below this position predate the subscription, or reach it by its replay
    # (graph/realtime/replay.py); live ones are only those after it.
    through: int = 0
    # Live events that arrived while the replay runs, queued after it (None: no replay).
    held: list[Delivery] | None = None
    replay: "asyncio.Task[None] | None" = None

    def _room(self) -> bool:
        """Whether another item fits (the live events held during a replay count too); if
        not, the subscription ends lagged."""
        if not self.queue.full() and (self.held is None or len(self.held) < self.queue.maxsize):
            return True
        self.end(
            ApiError(
                SUBSCRIPTION_LAGGED,
                "Too many events were waiting for this subscription; resubscribe and refetch",
            )
        )
        return False

    def offer(self, event: Event, value: Any, primed: Primed | None = None) -> None:
        if self.ended or event.seq <= self.through or not self._room():
            return
        if self.held is not None:
            self.held.append((event, value, primed or {}))
        else:
            self.queue.put_nowait((event, value, primed or {}))

    def offer_payload(self, payload: "Payload") -> None:
        """A group member's next payload (the same object for every member)."""
        if not self.ended and self._room():
            self.queue.put_nowait(payload)

    def close_feed(self) -> None:
        """A group member's group ended: no more payloads, the subscription completes."""
        if not self.ended and self._room():
            self.ended = True
            self.queue.put_nowait(None)

    async def put_replayed(self, event: Event, value: Any, primed: Primed) -> None:
        """A replayed event: queued before any live one, waiting for room (not lagging)."""
        if not self.ended:
            await self.queue.put((event, value, primed))

    async def release_held(self) -> None:
        """The replay is over: the live events held meanwhile follow it, then live ones."""
        while self.held:
            item = self.held.pop(0)
            if self.ended:
                return
            await self.queue.put(item)
        self.held = None

    def end(self, error: ApiError) -> None:
        """No more events: the subscriber gets `error` after those already queued (the
        oldest one gives way when the queue is full)."""
        if self.ended:
            return
        self.ended = True
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(error)

    async def __aenter__(self) -> "Subscription":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.broker.unsubscribe(self)

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self

    async def __anext__(self) -> Delivery:
        item = await self.queue.get()
        if isinstance(item, ApiError):
            raise item
        assert isinstance(item, tuple), "a group member's payloads are read by its group"
        return item


class Broker:
    def __init__(
        self,
        engine: AsyncEngine,
        listen_dsn: str,
        *,
        queue_size: int = 256,
        reconnect_delays: Iterable[float] = (0.1, 0.5, 1, 2, 5),
        stage_timing: bool = False,
    ) -> None:
        self._engine = engine
        self._queue_size = queue_size
        self._by_clinic: dict[uuid.UUID, set[Subscription]] = defaultdict(set)
        self._pending: list[Event] = []
        self._flush_task: asyncio.Task[None] | None = None
        self._throttles = Throttles(self._release_held)
        self._released: set[asyncio.Task[None]] = set()
        self.listener = Listener(listen_dsn, self._on_events, reconnect_delays=reconnect_delays)
        self.websockets: set[WebSocket] = set()
        self.stages = StageClock(stage_timing)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    # -- subscribers -------------------------------------------------------------------

    def subscribe(
        self,
        identity: Identity,
        topic: Topic,
        matches: Callable[[Event, Any], bool],
        *,
        fed_by: "Group | None" = None,
        feeds: "Group | None" = None,
        after: int | None = None,
    ) -> Subscription:
        """A live subscription from the broker's position on; with `after`, one whose live
        events are held back until graph/realtime/replay.py has queued those up to here."""
        position = self.listener.position or 0
        subscription = Subscription(
            self,
            identity,
            topic,
            matches,
            asyncio.Queue(self._queue_size),
            fed_by,
            feeds,
            through=position if after is None else max(position, after),
            held=None if after is None else [],
        )
        self._by_clinic[identity.clinic_id].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription.replay is not None:
            subscription.replay.cancel()
        clinic = self._by_clinic.get(subscription.identity.clinic_id)
        if clinic is not None:
            clinic.discard(subscription)
            if not clinic:
                del self._by_clinic[subscription.identity.clinic_id]
                self._throttles.forget(subscription.identity.clinic_id)

    @property
    def subscriber_count(self) -> int:
        """Subscribers, not counting the fan-out groups' sources."""
        return sum(1 for subs in self._by_clinic.values() for s in subs if s.feeds is None)

    async def close_websockets(self, code: int) -> None:
        for websocket in list(self.websockets):
            try:
                await websocket.close(code, "Server shutting down")
            except RuntimeError:
                continue

    # -- the LISTEN connection (graph/realtime/listener.py) ----------------------------

    async def start(self) -> None:
        await self.listener.start()

    async def stop(self) -> None:
        await self.listener.stop()
        if self._flush_task is not None:
            await asyncio.gather(self._flush_task, return_exceptions=True)

    # -- batching and fan-out ----------------------------------------------------------

    def _on_events(self, events: list[Event]) -> None:
        """The listener's events, in commit order: those of clinics with subscribers join
        the next batch."""
        for event in events:
            self.stages.mark("notified", event.seq)
        self._pending.extend(event for event in events if event.clinic_id in self._by_clinic)
        if self._pending and (self._flush_task is None or self._flush_task.done()):
            self._flush_task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        """Deliver batches in arrival order; what arrives meanwhile forms the next batch."""
        await asyncio.sleep(0)  # let notifications that arrived together join the batch
        while self._pending:
            batch, self._pending = self._pending, []
            await self.deliver(batch)

    def _release_held(self, events: list[Event], topic: Topic) -> None:
        task = asyncio.create_task(self.deliver(events, only=topic))
        self._released.add(task)
        task.add_done_callback(self._released.discard)

    async def deliver(self, events: list[Event], only: Topic | None = None) -> None:
        """Re-read the events once per cohort and hand each subscriber what it may see (with
        `only`: the subscribers of that topic, its events held by its throttle)."""
        by_clinic: dict[uuid.UUID, list[Event]] = defaultdict(list)
        for event in events:
            by_clinic[event.clinic_id].append(event)
        work = []
        for clinic_id, clinic_events in by_clinic.items():
            tables = {event.table for event in clinic_events}
            logins = {event.id for event in clinic_events if event.table == "users"}
            listening = [
                subscription
                for subscription in self._by_clinic.get(clinic_id, ())
                if not subscription.ended
                and (subscription.topic.tables & tables or subscription.identity.user_id in logins)
            ]
            # Logins are checked for subscribers (a group's members included); rows are re-read
            # for subscribers of their own and for the groups' sources, as a live member.
            checked = await self._end_inactive_logins([s for s in listening if s.feeds is None])
            for event in clinic_events:
                self.stages.mark("logins", event.seq)
            # Re-read only for the topics whose events go now.
            if only is not None:
                now = {only}
            else:
                now = {s.topic for s in listening}
                now -= {
                    topic
                    for topic in now
                    if topic.min_interval
                    and topic.tables & tables
                    and not self._throttles.admit(clinic_id, topic, clinic_events)
                }
            listening = [s for s in listening if s.topic in now]
            rereaders = [s for s in checked if s.fed_by is None and s.topic in now]
            for source in listening:
                stand_in = source.feeds.stand_in() if source.feeds is not None else None
                if stand_in is not None:
                    source.identity = stand_in
                    rereaders.append(source)
            cohorts: dict[Cohort, list[Subscription]] = defaultdict(list)
            for subscription in rereaders:
                cohorts[Cohort.of(subscription.identity)].append(subscription)
            for subscriptions in cohorts.values():
                work.append(self._deliver_to_cohort(clinic_events, subscriptions))
        await asyncio.gather(*work)

    async def _end_inactive_logins(self, subscriptions: list[Subscription]) -> list[Subscription]:
        """End the subscriptions whose tokens stopped working since they subscribed (as on
        HTTP: the login deactivated, or its token version moved on); the others, which then
        re-read as their cohort."""
        if not subscriptions:
            return []
        db = RequestDb(self._engine, None)
        try:
            user_ids = list({s.identity.user_id for s in subscriptions})
            rows = await db.fetch(LOGIN_STATES, {"ids": user_ids})
        except Exception:
            log.exception("checking subscribers' logins failed")
            return subscriptions
        finally:
            await db.finish(commit=False)
        states = {row["id"]: row for row in rows}
        for subscription in subscriptions:
            identity = subscription.identity
            state = states.get(identity.user_id)
            if not (
                state is not None
                and state["active"]
                and identity.token_version in (None, state["token_version"])
            ):
                subscription.end(
                    ApiError(UNAUTHENTICATED, "This token no longer matches an active login")
                )
        return [s for s in subscriptions if not s.ended]

    async def _deliver_to_cohort(
        self, events: list[Event], subscriptions: list[Subscription]
    ) -> None:
        topics = {s.topic for s in subscriptions}
        try:
            visible, primed = await self._reread_while_unavailable(
                events, topics, subscriptions[0].identity
            )
        except Exception:
            log.exception("re-reading events failed")
            return
        for event in events:
            self.stages.mark("reread", event.seq)
        for subscription in subscriptions:
            for event, value in visible.get(subscription.topic, ()):
                if subscription.matches(event, value):
                    subscription.offer(event, value, primed.get(subscription.topic))

    async def _reread_while_unavailable(
        self, events: list[Event], topics: set[Topic], identity: Identity
    ) -> tuple[dict[Topic, list[tuple[Event, Any]]], dict[Topic, Primed]]:
        """`_reread`, again after a pause while the database is unavailable (a restart: the
        pool's connections died with it; the failed attempt dropped them). Batches wait in
        order meanwhile, so the subscribers still get every event once, in commit order."""
        for delay in REREAD_RETRY_DELAYS:
            try:
                return await self._reread(events, topics, identity)
            except ApiError as error:
                if error.extensions["code"] != SERVICE_UNAVAILABLE:
                    raise
                await asyncio.sleep(delay)
        return await self._reread(events, topics, identity)

    async def _reread(
        self, events: list[Event], topics: set[Topic], identity: Identity
    ) -> tuple[dict[Topic, list[tuple[Event, Any]]], dict[Topic, Primed]]:
        db = RequestDb(self._engine, identity)
        visible: dict[Topic, list[tuple[Event, Any]]] = {}
        primed: dict[Topic, Primed] = {}
        try:
            for topic in topics:
                relevant = [e for e in events if e.table in topic.tables]
                if relevant:
                    visible[topic] = await topic.reread(db, relevant)
                    rows = [value for _, value in visible[topic]]
                    primed[topic] = await read_related(db, topic, rows)
        finally:
            await db.finish(commit=False)
        return visible, primed
