"""`webhooks`: the clinic's webhooks; `webhookDeliveries`: one webhook's, newest first."""

from collections import defaultdict

import strawberry

from graph.api.context import Info
from graph.api.relay import Connection, Edge, PageInfo
from graph.core.errors import bad_input, not_found
from graph.core.identity import Role
from graph.core.ids import parse_uuid_id
from graph.sql.webhooks import (
    ATTEMPTS_OF,
    COUNT_DELIVERIES,
    DELIVERIES_PAGE,
    LIST_WEBHOOKS,
    WEBHOOK,
)
from resolvers.webhooks.types import Webhook, WebhookAttempt, WebhookDelivery

CURSOR_KIND = "WebhookDelivery"


async def list_webhooks(info: Info) -> list[Webhook]:
    """Admin only. Oldest first, disabled ones too."""
    info.context.require_role(Role.ADMIN)
    return [Webhook.of(row) for row in await info.context.db.fetch(LIST_WEBHOOKS)]


async def webhook_deliveries(
    info: Info,
    webhook_id: strawberry.ID,
    first: int | None = None,
    after: str | None = None,
) -> Connection[WebhookDelivery]:
    """Admin only. Newest first; redeliveries are deliveries of their own."""
    info.context.require_role(Role.ADMIN)
    db = info.context.db
    webhook = parse_uuid_id(webhook_id, "Webhook", field="webhookId")
    most = info.context.settings.max_page_size
    size = most if first is None else first
    if not 0 <= size <= most:
        raise bad_input("first", f"first is between 0 and {most}")
    before = None
    if after is not None:
        kind, *key = db.cursors.decode(after, "after")
        if kind != CURSOR_KIND or len(key) != 1 or not isinstance(key[0], int):
            raise bad_input("after", "Malformed cursor")
        before = key[0]
    if await db.fetch_one(WEBHOOK, {"id": webhook}) is None:
        raise not_found("Webhook", "webhookId")
    rows = await db.fetch(
        DELIVERIES_PAGE, {"webhook": webhook, "before": before, "limit": size + 1}
    )
    page = rows[:size]
    attempts: dict[object, list[WebhookAttempt]] = defaultdict(list)
    if page:
        for row in await db.fetch(ATTEMPTS_OF, {"ids": [str(r["id"]) for r in page]}):
            attempts[row["delivery_id"]].append(
                WebhookAttempt(
                    attempt=row["attempt"],
                    attempted_at=row["attempted_at"],
                    response_status=row["response_status"],
                    duration_ms=row["duration_ms"],
                    error=row["error"],
                )
            )
    edges = [
        Edge(
            cursor=db.cursors.encode(CURSOR_KIND, [row["seq"]]),
            node=WebhookDelivery.of(row, attempts[row["id"]]),
        )
        for row in page
    ]

    async def count() -> int:
        row = await db.fetch_one(COUNT_DELIVERIES, {"webhook": webhook})
        return 0 if row is None else int(row["count"])

    info_ = PageInfo(
        has_next_page=len(rows) > size,
        has_previous_page=after is not None,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(edges=edges, page_info=info_, count_rows=count)


@strawberry.type
class WebhookQueries:
    webhooks: list[Webhook] = strawberry.field(resolver=list_webhooks)
    webhook_deliveries: Connection[WebhookDelivery] = strawberry.field(resolver=webhook_deliveries)
