"""Fan-out groups: subscribers who would receive the same frames share one execution per event.

A *group* is the subscribers of one cohort (broker.Cohort: the same RLS view) running the same
operation (document, variables, operation name) over graphql-transport-ws. Each member still
subscribes on its own: its root resolver checks its role and arguments, the schema
extensions run for its operation, and the broker checks its login with every batch and ends it
alone (UNAUTHENTICATED, SUBSCRIPTION_LAGGED). But its events come from the group: the group
runs the operation once more as its *source* (graph/http/fanout.py), a broker subscription
that re-reads as one of the members (`stand_in`); every result is executed and serialized
once, and the same payload text goes into each member's bounded queue, for the websocket
handler to frame with the member's operation id.

Members differ only in who they are, which matters for the audit of clinical-record reads:
the source records each read for every member the event goes to (`take_audience`), in one
statement (`audit_record_reads_for`, migration 0022), committed before the payload is
published.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from graph.core.errors import ApiError
from graph.core.identity import Identity
from graph.realtime.broker import Broker, Cohort, Subscription, Topic
from graph.realtime.event import Event


@dataclass(frozen=True, slots=True)
class Payload:
    """One result's text for a group's members, and the log position of the event it answers
    (for the stage timing, graph/realtime/stages.py)."""

    text: str
    position: int


@dataclass(frozen=True)
class GroupKey:
    cohort: Cohort
    query: str
    variables: str  # canonical JSON: equal variables, equal text
    operation_name: str | None


@dataclass(eq=False)
class Group:
    key: GroupKey
    members: set[Subscription] = field(default_factory=set)
    # Set once the source listens (or the group ended before it could).
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    ended: bool = False
    # The members the event being resolved goes to: those whose reads were recorded.
    audience: tuple[Subscription, ...] = ()
    # The log position of the event being resolved.
    position: int = 0

    def live_members(self) -> list[Subscription]:
        return [member for member in self.members if not member.ended]

    def stand_in(self) -> Identity | None:
        """A live member's identity, for the source to read as (any one: same cohort)."""
        return next((member.identity for member in self.live_members()), None)

    def take_audience(self, position: int) -> list[uuid.UUID]:
        """The event (at `position`) about to be resolved goes to the members live now; their
        user ids."""
        self.position = position
        self.audience = tuple(self.live_members())
        return list(dict.fromkeys(member.identity.user_id for member in self.audience))

    def publish(self, text: str, *, to_all: bool = False) -> None:
        """One result's payload text for the audience (`to_all`: every live member)."""
        payload = Payload(text, self.position)
        for member in self.live_members() if to_all else self.audience:
            member.offer_payload(payload)

    def end(self) -> None:
        """The source's stream is over: each member ends after what it already has."""
        self.ended = True
        self.ready.set()
        for member in self.members:
            member.close_feed()


def _nothing(event: Event, value: Any) -> bool:
    """A member's own filter is never asked: its source filters for the whole group."""
    return False


@dataclass(frozen=True)
class Membership:
    """What the websocket handler tells an operation's `events` (graph/api/context.py): the
    group to join, and how to send a payload framed with the operation's id."""

    query: str
    variables: str
    operation_name: str | None
    join: Callable[[GroupKey], Group]
    leave: Callable[[Group], None]
    send: Callable[[str], Awaitable[None]]

    async def follow(self, broker: Broker, identity: Identity, topic: Topic) -> None:
        """Join the group and send its payloads until its stream ends (then return) or this
        member is ended (its error is raised, as a subscriber of its own would raise it)."""
        key = GroupKey(Cohort.of(identity), self.query, self.variables, self.operation_name)
        group = self.join(key)
        member = broker.subscribe(identity, topic, _nothing, fed_by=group)
        group.members.add(member)
        try:
            await group.ready.wait()
            while True:
                item = await member.queue.get()
                if item is None:
                    return
                if isinstance(item, ApiError):
                    raise item
                assert isinstance(item, Payload)
                await self.send(item.text)
                broker.stages.mark("written", item.position)
        finally:
            broker.unsubscribe(member)
            group.members.discard(member)
            self.leave(group)
