"""Resuming a subscription: the events after a client's position, then live ones.

A subscription with `after` is registered first (graph/realtime/broker.py `subscribe`): from
then on the broker's live events after its position at that moment (`through`) are held for
it. The replay then reads the log after `after` up to `through` in the subscriber's own RLS
transaction (a patient sees only events of their own data), re-reads the rows as the topic
does, filters them as the subscription does and queues them; the held live events follow.
So nothing between `after` and the live stream is missed, and nothing is delivered twice.

The log keeps ids only: a replayed event shows its row as it is now (an appointment created
then cancelled while the client was away replays twice, both times cancelled), as Hasura's
streaming subscriptions do. A row deleted since is not replayed. A position below the log's
horizon (`event_log_state.purged_through`, raised by the retention purge) lost events: the
subscription ends with CURSOR_EXPIRED, and the client refetches.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from graph.core.errors import CURSOR_EXPIRED, INTERNAL, ApiError
from graph.core.identity import Identity
from graph.realtime.broker import Broker, Subscription, Topic, read_related
from graph.realtime.event import Event
from graph.realtime.groups import Group
from graph.sql.event_log import REPLAY_PAGE
from graph.sql.session import RequestDb

log = logging.getLogger("fisioflow.broker")

PAGE_SIZE = 500


def subscribe_after(
    broker: Broker,
    identity: Identity,
    topic: Topic,
    matches: Callable[[Event, Any], bool],
    after: int | None,
    *,
    feeds: Group | None = None,
) -> Subscription:
    """`broker.subscribe`, replaying first what came after `after` when it is given (a fan-out
    group's source, `feeds`, never resumes: a resuming subscription runs alone)."""
    subscription = broker.subscribe(identity, topic, matches, feeds=feeds, after=after)
    if after is not None:
        subscription.replay = asyncio.create_task(_replay(broker.engine, subscription, after))
    return subscription


async def _replay(engine: AsyncEngine, subscription: Subscription, after: int) -> None:
    try:
        position = after
        while position < subscription.through and not subscription.ended:
            position = await _replay_page(engine, subscription, position)
        await subscription.release_held()
    except ApiError as error:
        subscription.end(error)
    except Exception:
        log.exception("replaying events failed")
        subscription.end(ApiError(INTERNAL, "The events since that cursor could not be read"))


async def _replay_page(engine: AsyncEngine, subscription: Subscription, position: int) -> int:
    """Queue the subscriber's events of one page after `position`; the page's last seq (the
    end of the replay when the page is empty)."""
    topic = subscription.topic
    db = RequestDb(engine, subscription.identity)
    try:
        rows = await db.fetch(
            REPLAY_PAGE,
            {
                "after": position,
                "through": subscription.through,
                "tables": sorted(topic.tables),
                "limit": PAGE_SIZE,
            },
        )
        if rows[0]["purged_through"] > position:
            raise ApiError(
                CURSOR_EXPIRED,
                "The events after this cursor are no longer kept; refetch, then subscribe anew",
                field="after",
            )
        events: list[Event] = [Event.of_log(row) for row in rows if row["seq"] is not None]
        if not events:
            return subscription.through
        visible = await topic.reread(db, events)
        primed = await read_related(db, topic, [value for _, value in visible])
    finally:
        await db.finish(commit=False)
    for event, value in visible:
        if subscription.matches(event, value):
            await subscription.put_replayed(event, value, primed)
    return events[-1].seq
